"""The slice report says on which slices a tumor is found and how sure the model is inside it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.seg.slice_report import contrast_summary, draw, format_rows, local_contrast, slice_rows


def _case():
    truth = np.zeros((5, 16, 16), np.uint8)
    truth[1:4, 4:8, 4:8] = 1  # 16 voxels on slices 1-3
    prob = np.zeros(truth.shape, np.float32)
    prob[1, 4:8, 4:8] = 0.9  # found on slice 1
    prob[2, 4:8, 4:6] = 0.6  # half found on slice 2
    prob[2, 4:8, 6:8] = 0.2
    prob[4, 10:12, 10:12] = 0.8  # a false positive on slice 4; slice 3 missed (0)
    return prob, (prob >= 0.5).astype(np.uint8), truth


def test_rows_by_slice_hand_computed():
    rows = {r["slice"]: r for r in slice_rows(*_case())}
    assert sorted(rows) == [1, 2, 3, 4]  # slice 0 has neither tumor nor prediction
    assert (rows[1]["true"], rows[1]["pred"], rows[1]["hit"], rows[1]["pred_outside"]) == (16, 16, 16, 0)
    assert rows[1]["p_in_mean"] == pytest.approx(0.9)
    assert rows[2]["pred"] == 8 and rows[2]["p_in_mean"] == pytest.approx(0.4)
    assert rows[2]["p_in_p90"] == pytest.approx(0.6)
    assert rows[3]["pred"] == 0 and rows[3]["p_in_mean"] == 0
    assert rows[4]["true"] == 0 and rows[4]["pred_outside"] == 4 and math.isnan(rows[4]["p_in_mean"])
    text = format_rows(list(rows.values()))
    assert text.splitlines()[0].split() == ["slice", "true", "pred", "hit", "p_in_mean", "p_in_p90", "pred_outside",
                                            "cet1_contrast"]
    assert len(text.splitlines()) == 5


def test_figure_is_written_and_an_empty_reference_is_refused(tmp_path):
    prob, _, truth = _case()
    vols = {s: np.random.default_rng(0).random(truth.shape) for s in ("cet1", "t2", "t1")}
    out = draw(vols, prob, truth, tmp_path / "sub" / "slices.png", margin=6)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["slices.png"]  # no temporary file left
    with pytest.raises(ValueError, match="empty"):
        draw(vols, prob, np.zeros_like(truth), tmp_path / "x.png")


def test_local_contrast_hand_computed():
    image = np.zeros((9, 9))
    image[3:6, 3:6] = 10.0  # tumor 10
    image[2, :] = 2.0  # the ring (one 4-connected dilation) holds 12 pixels: 3 of them 2.0 (row 2, cols 3-5)
    region = np.zeros((9, 9), bool)
    region[3:6, 3:6] = True
    ring_mean = 3 * 2.0 / 12
    assert local_contrast(image, region, ring_px=1) == pytest.approx((10 - ring_mean) / (10 + ring_mean))
    assert local_contrast(np.where(region, 0.0, 5.0), region) == pytest.approx(-1.0)  # a dark tumor
    assert math.isnan(local_contrast(image, np.zeros_like(region)))
    assert math.isnan(local_contrast(np.zeros((9, 9)), region))


def test_contrast_summary_pools_slices_lowest_contrast_first():
    rows = [{"true": 10, "hit": h, "cet1_contrast": c} for h, c in ((0, 0.5), (5, 1.0), (10, 3.0), (10, 4.0))]
    rows.append({"true": 0, "hit": 0, "cet1_contrast": float("nan")})  # a false-positive slice: not pooled
    groups = contrast_summary(rows, groups=2)
    assert [(g["slices"], g["found"]) for g in groups] == [(2, 0.25), (2, 1.0)]
    assert (groups[0]["contrast_from"], groups[1]["contrast_to"]) == (0.5, 4.0)


def test_cli_reports_the_sample_patient_and_refuses_no_patients(tmp_path, capsys):
    from inference.assets import DEFAULT_SEG_MODEL, SAMPLE_PATIENT
    from training.seg.slice_report import main

    if not (DEFAULT_SEG_MODEL / "model_fp32.tflite").is_file():
        pytest.skip("no shipped model in assets/models/seg")
    assert main(["--figure", str(tmp_path / "slices.png"), str(SAMPLE_PATIENT)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{SAMPLE_PATIENT}: Dice ") and out[1].split()[0] == "slice"
    assert len(out) >= 4 and (tmp_path / "slices.png").is_file()  # the tumor spans 3 slices
    with pytest.raises(SystemExit):
        main([])
    assert "give patient folders" in capsys.readouterr().err
