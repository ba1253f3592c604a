"""The Dice-loss breakdown puts every wrong voxel in exactly one hand-counted place."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from training.seg.error_report import KINDS, case_report, classify, error_table, main


def _case():
    """Truth: a 10x10 square on slices 2..6 of a (9, 30, 30) volume, slice axis 0."""
    truth = np.zeros((9, 30, 30), bool)
    truth[2:7, 10:20, 10:20] = True
    pred = truth.copy()
    pred[6] = False                        # last tumor slice missed: 100 end-slice voxels
    pred[4, 10, 10:20] = False             # one edge row missed on an inner slice: 10 boundary FN
    pred[3, 9, 10:20] = True               # one row grown outside the edge: 10 boundary FP
    pred[5, 14:16, 14:16] = False          # a hole in the middle: 4 core FN
    pred[4, 25:27, 25:28] = True           # a blob far away on a tumor slice: 6 far FP
    pred[0, 0:2, 0:2] = True               # a blob on a slice without tumor: 4 outside FP
    pred[7, 12:14, 12:14] = True           # overshoot on the slice after the last: 4 more end-slice voxels
    return pred, truth


def test_every_wrong_voxel_is_counted_once_where_it_belongs():
    pred, truth = _case()
    kinds = classify(pred, truth, slice_axis=0, band=2)
    counts = {k: int(v.sum()) for k, v in kinds.items()}
    assert counts == {"end_slices": 104, "outside_slices": 4, "boundary_fn": 10, "boundary_fp": 10,
                      "core_fn": 4, "far_fp": 6}
    assert set(counts) == set(KINDS)
    assert sum(counts.values()) == int((pred != truth).sum())
    # the maps are disjoint
    assert int(np.sum([v.astype(int) for v in kinds.values()], axis=0).max()) == 1


def test_slice_axis_matters_and_oracle_dice_fixes_only_its_kind():
    pred, truth = _case()
    # seen with axis 2 as the slice axis, the missing slice-6 plane is no longer an "end slice" error
    assert int(classify(pred, truth, slice_axis=2)["end_slices"].sum()) != 104
    row = case_report(pred, truth, slice_axis=0)
    tp, p, t = int((pred & truth).sum()), int(pred.sum()), int(truth.sum())
    assert row["dice"] == pytest.approx(2 * tp / (p + t))
    # correcting the end slices adds 100 voxels to both the overlap and the prediction, removes 4 overshoot
    assert row["oracle_dice"]["end_slices"] == pytest.approx(2 * (tp + 100) / (p + 100 - 4 + t))
    assert row["oracle_dice"]["boundary_band"] == pytest.approx(2 * (tp + 10) / (p + 10 - 10 + t))
    assert row["dice"] < min(row["oracle_dice"].values())


def _write(array, path, spacing):
    image = sitk.GetImageFromArray(array.astype(np.uint8))
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))


def test_cli_reads_saved_masks_on_the_truth_grid(tmp_path, capsys):
    pred, truth = _case()
    cohort, masks, model = tmp_path / "cohort", tmp_path / "masks", tmp_path / "model"
    for folder in (cohort / "P1", masks, model):
        folder.mkdir(parents=True)
    spacing = (0.5, 0.5, 4.0)   # x, y, z: the array's axis 0 is the thick one
    _write(truth, cohort / "P1" / "mask.nii.gz", spacing)
    _write(pred, masks / "P1.nii.gz", spacing)
    for i, name in enumerate(("cet1", "t2", "t1")):  # three different images: one image in two roles is refused
        _write(truth * (i + 1), cohort / "P1" / f"{name}.nii.gz", spacing)
    (model / "split.json").write_text(json.dumps({"test": ["P1"], "train": [], "validation": []}))
    table = error_table(cohort, masks, ["P1"])
    assert table["rows"][0]["errors"]["end_slices"] == 104
    assert sum(table["error_share"].values()) == pytest.approx(1.0)
    assert main(["--cohort", str(cohort), "--masks", str(masks), "--model", str(model), "--grid-ceiling"]) == 0
    out = capsys.readouterr().out
    assert "end_slices" in out
    ceiling = float(out.split("Dice mean ")[1].split(",")[0])
    assert 0.9 < ceiling <= 1.0   # a 5 mm square through the 0.625 mm model grid and back
    _write(pred[:, :, :-1], masks / "P1.nii.gz", spacing)
    with pytest.raises(ValueError, match="not on the ground truth's grid"):
        error_table(cohort, masks, ["P1"])
