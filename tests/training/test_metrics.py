"""Segmentation metrics: hand-computed cases and agreement with SimpleITK's independent filters."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from training.seg import metrics


def _box(shape, lo, hi):
    m = np.zeros(shape, np.uint8)
    m[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = 1
    return m


def test_hand_computed_overlap():
    a = _box((10, 10, 10), (2, 2, 2), (6, 6, 6))  # 64 voxels
    b = _box((10, 10, 10), (4, 2, 2), (8, 6, 6))  # 64 voxels, 32 shared
    assert metrics.dice(a, b) == pytest.approx(0.5)
    assert metrics.iou(a, b) == pytest.approx(32 / 96)
    assert metrics.dice(a, a) == 1.0 and metrics.dice(a, np.zeros_like(a)) == 0.0
    assert metrics.dice(np.zeros_like(a), np.zeros_like(a)) == 1.0


def test_hand_computed_distances_use_spacing():
    a = _box((12, 12, 12), (3, 3, 3), (7, 7, 7))
    b = np.roll(a, 2, axis=0)  # shifted two slices in z
    # every surface distance is 0 or a multiple of the z spacing; the maximum is 2 slices
    assert metrics.hausdorff(a, b, (3.0, 0.5, 0.5)) == pytest.approx(6.0)
    assert metrics.hausdorff(a, b, (1.0, 1.0, 1.0)) == pytest.approx(2.0)
    assert np.isnan(metrics.hd95(a, np.zeros_like(a), (1, 1, 1)))


def test_volume_error_and_strata():
    truth = _box((10, 20, 20), (2, 5, 5), (6, 15, 15))  # 400 voxels
    pred = _box((10, 20, 20), (2, 5, 5), (7, 15, 15))  # 500 voxels
    m = metrics.case_metrics(pred, truth, (4.0, 0.5, 0.5))  # 1 ml per 1000 voxels
    assert m["volume_true_ml"] == pytest.approx(0.4) and m["volume_error_ml"] == pytest.approx(0.1)
    summary = metrics.summarize([m, {**m, "volume_true_ml": 3.0}, {**m, "volume_true_ml": 9.0}])
    assert summary["<1 ml"]["n"] == 1 and summary["1-5 ml"]["n"] == 1 and summary[">5 ml"]["n"] == 1


def test_hd95_summary_counts_the_patients_it_covers_and_the_missed_tumors():
    """A missed tumor has no HD95: the mean covers fewer patients, and the summary says how many (it said n = all,
    so missing tumors improved the mean); the rows serialise as strict JSON (null, not NaN)."""
    import json

    hit = {"dice": 0.8, "iou": 0.7, "hd95_mm": 2.0, "volume_true_ml": 1.5, "volume_pred_ml": 1.4,
           "volume_error_ml": -0.1, "volume_error_rel": -0.07}
    miss = {**hit, "dice": 0.0, "iou": 0.0, "hd95_mm": float("nan"), "volume_pred_ml": 0.0, "volume_error_ml": -1.5}
    summary = metrics.summarize([hit, miss])
    assert summary["all"]["n"] == 2 and summary["all"]["hd95_n"] == 1 and summary["all"]["n_missed"] == 1
    assert summary["all"]["hd95_mm"]["mean"] == pytest.approx(2.0)
    assert summary["<1 ml"] == {**summary["<1 ml"], "n": 0, "hd95_n": 0, "n_missed": 0, "hd95_mm": None}
    text = json.dumps(metrics.json_safe({"patients": [miss], "summary": summary}), allow_nan=False)
    assert json.loads(text)["patients"][0]["hd95_mm"] is None

    from training.seg.evaluate import format_table

    assert "HD95 over 1 of 2 patients: 1 missed tumor and" in format_table({"summary": summary})


def _sitk(mask, spacing_zyx):
    img = sitk.GetImageFromArray(mask.astype(np.uint8))
    img.SetSpacing(tuple(float(s) for s in spacing_zyx[::-1]))
    return img


def _sitk_surface_distances(pred, truth, spacing_zyx):
    """Independent path: SimpleITK label contours + Maurer distance maps."""
    out = []
    for src, dst in ((pred, truth), (truth, pred)):
        src_c = sitk.LabelContour(_sitk(src, spacing_zyx), fullyConnected=False)
        dst_c = sitk.LabelContour(_sitk(dst, spacing_zyx), fullyConnected=False)
        dmap = sitk.Abs(sitk.SignedMaurerDistanceMap(dst_c, insideIsPositive=False, squaredDistance=False,
                                                     useImageSpacing=True))
        d = sitk.GetArrayFromImage(dmap)[sitk.GetArrayFromImage(src_c) > 0]
        out.append(d)
    return np.concatenate(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_simpleitk(seed):
    rng = np.random.default_rng(seed)
    shape, spacing = (14, 40, 40), (3.0, 0.6, 0.45)
    zz, yy, xx = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")

    def blob(c, r):
        return ((((zz - c[0]) * spacing[0] / r[0]) ** 2 + ((yy - c[1]) * spacing[1] / r[1]) ** 2
                 + ((xx - c[2]) * spacing[2] / r[2]) ** 2) <= 1).astype(np.uint8)

    truth = blob((7, 20, 20), (12, 7, 6))
    pred = blob((7 + rng.integers(-1, 2), 20 + rng.integers(-3, 4), 20 + rng.integers(-3, 4)),
                (12 * rng.uniform(0.8, 1.2), 7 * rng.uniform(0.8, 1.2), 6 * rng.uniform(0.8, 1.2)))
    overlap = sitk.LabelOverlapMeasuresImageFilter()
    overlap.Execute(_sitk(truth, spacing), _sitk(pred, spacing))
    assert metrics.dice(pred, truth) == pytest.approx(overlap.GetDiceCoefficient(), abs=1e-6)
    assert metrics.iou(pred, truth) == pytest.approx(overlap.GetJaccardCoefficient(), abs=1e-6)
    ref = _sitk_surface_distances(pred, truth, spacing)
    ours = metrics.surface_distances(pred, truth, spacing)
    # SimpleITK's distance maps are float32: agreement to 1e-6 relative (and float32 eps near zero)
    assert np.sort(ours) == pytest.approx(np.sort(ref), rel=1e-6, abs=4e-6)
    assert metrics.hd95(pred, truth, spacing) == pytest.approx(float(np.percentile(ref, 95)), rel=1e-6)
    hd = sitk.HausdorffDistanceImageFilter()
    hd.Execute(sitk.LabelContour(_sitk(truth, spacing), fullyConnected=False),
               sitk.LabelContour(_sitk(pred, spacing), fullyConnected=False))
    assert metrics.hausdorff(pred, truth, spacing) == pytest.approx(hd.GetHausdorffDistance(), abs=1e-6)
