"""The Dice-vs-contrast diagnostic reads truth.json and eval-seg output correctly."""

from __future__ import annotations

import json

import pytest

from training.seg.contrast_report import contrast_table, main


def test_bands_and_correlations(tmp_path, capsys):
    cases = {"A": (2.0, 9.0, 0.5), "B": (3.0, 8.0, 0.6), "C": (8.0, 2.0, 0.8), "D": (12.0, 1.5, 0.9)}
    sites = {"A": "ventral", "B": "lateral", "C": "lateral", "D": "ventral"}
    for pid, (cet1, t2, _) in cases.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "truth.json").write_text(json.dumps({"contrast": {"cet1": {"cnr": cet1}, "t2": {"cnr": t2}},
                                                               "site": sites[pid]}))
    evals = [{"patients": [{"patient_id": pid, "dice": d} for pid, (_, _, d) in cases.items()]}]
    table = contrast_table(tmp_path, evals)
    assert table["patients"] == 4 and table["dice_mean"] == pytest.approx(0.7)
    assert table["spearman_dice_vs_cnr"]["cet1"] == pytest.approx(1.0)
    assert table["spearman_dice_vs_cnr"]["t2"] == pytest.approx(-1.0)
    assert [b["n"] for b in table["by_cet1_cnr"]] == [2, 0, 1, 1]
    assert table["by_cet1_cnr"][0]["dice_mean"] == pytest.approx(0.55)
    assert table["by_cet1_cnr"][1]["dice_mean"] is None
    assert [(r["site"], r["n"], r["below_0_5"]) for r in table["by_site"]] == [("lateral", 2, 0), ("ventral", 2, 0)]
    assert table["by_site"][0]["dice_mean"] == pytest.approx(0.7)
    assert table["by_site"][1]["dice_mean"] == pytest.approx(0.7) and table["by_site"][1]["dice_median"] == 0.7
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(evals[0]))
    assert main(["--cohort", str(tmp_path), str(path)]) == 0
    out = capsys.readouterr().out
    assert "CE-T1 CNR 0-4: n=  2  Dice 0.550" in out and "site ventral : n=  2  Dice 0.700" in out
