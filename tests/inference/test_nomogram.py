"""Nomogram JSON: schema validation, scoring against a hand computation, points <-> probability."""

from __future__ import annotations

import copy
import json
import math

import pytest

from inference.nomogram import ClinicalValueError, Nomogram, NomogramError, encode_clinical


def example() -> dict:
    return {
        "schema_version": 1, "kind": "fusion", "created": "2026-11-28", "synthetic_training_data": True,
        "mask_source": "auto",
        "radscore": {"features": ["cet1_a", "t2_b"], "means": [10.0, 2.0], "sds": [2.0, 0.5],
                     "weights": [0.8, -0.4], "intercept": -0.3},
        "model": {"variables": ["radscore", "doi_mm", "cn_status", "sex", "age", "ct_stage"],
                  "means": [0.0, 6.0, 0.3, 0.7, 50.0, 2.0], "sds": [1.0, 4.0, 0.46, 0.46, 12.0, 0.6],
                  "coefficients": [1.2, 0.9, 0.5, 0.1, 0.05, 0.3], "intercept": -0.5,
                  "axes": {"radscore": [-3, 3], "doi_mm": [0, 25], "cn_status": [0, 1], "sex": [0, 1],
                           "age": [20, 90], "ct_stage": [1, 3]}},
        "risk_groups": [{"name": "low", "below": 0.2}, {"name": "intermediate", "below": 0.5},
                        {"name": "high", "below": 1.01}],
        "points": {"max_points": 100}, "training_metrics": {"auc": 0.9}, "versions": {"otscc-edge": "0.1.0"},
    }


CLINICAL = {"age": 62, "sex": "M", "ct_stage": "T2", "cn_status": 1, "doi_mm": 8.5}
FEATURES = {"cet1_a": 13.0, "t2_b": 1.5, "unused": 99.0}


def test_score_matches_hand_computation():
    nomo = Nomogram(example())
    result = nomo.score(FEATURES, CLINICAL)
    rad = -0.3 + 0.8 * (13 - 10) / 2 - 0.4 * (1.5 - 2) / 0.5
    lp = (-0.5 + 1.2 * rad + 0.9 * (8.5 - 6) / 4 + 0.5 * (1 - 0.3) / 0.46 + 0.1 * (1 - 0.7) / 0.46
          + 0.05 * (62 - 50) / 12 + 0.3 * (2 - 2) / 0.6)
    assert result.radscore == pytest.approx(rad)
    assert result.linear_predictor == pytest.approx(lp)
    assert result.probability == pytest.approx(1 / (1 + math.exp(-lp)))
    assert result.risk_group == ("high" if result.probability >= 0.5 else "intermediate")


def test_points_scale_and_round_trip():
    nomo = Nomogram(example())
    result = nomo.score(FEATURES, CLINICAL)
    # the widest axis (doi_mm: 0.9 * 25/4 = 5.6 logits vs radscore 1.2 * 6 = 7.2) spans 100 points
    widest = max(abs(c) * (hi - lo) / s for c, s, (lo, hi) in
                 zip(example()["model"]["coefficients"], example()["model"]["sds"],
                     example()["model"]["axes"].values(), strict=True))
    assert widest == pytest.approx(7.2)
    assert min(result.points.values()) >= 0 and max(result.points.values()) <= 100 + 1e-9
    assert nomo.probability_at_points(result.total_points) == pytest.approx(result.probability)
    assert result.points["ct_stage"] == pytest.approx(50.0 * 0.3 * 2 / 0.6 / 7.2)  # mid-axis of T1..T3


@pytest.mark.parametrize("path, action, message", [
    (("model",), ("add", "extra"), "unknown field"),
    ((), ("del", "versions"), "missing field"),
    (("radscore",), ("del", "weights"), "missing field"),
    (("model",), ("set", ("sds", [1.0, 0.0, 1, 1, 1, 1])), "positive"),
    (("model",), ("set", ("coefficients", [1.0])), "different lengths"),
    ((), ("set", ("schema_version", 2)), "schema_version"),
    (("model",), ("set", ("variables", ["radscore", "doi_mm", "cn_status", "sex", "age", "shoe_size"])), "unknown"),
    ((), ("set", ("synthetic_training_data", "yes")), "expected bool"),
])
def test_schema_refuses_bad_files(path, action, message):
    data = copy.deepcopy(example())
    target = data
    for key in path:
        target = target[key]
    kind, arg = action
    if kind == "add":
        target[arg] = 1
    elif kind == "del":
        del target[arg]
    else:
        target[arg[0]] = arg[1]
    with pytest.raises(NomogramError, match=message):
        Nomogram(data)


def test_load_refuses_non_json(tmp_path):
    bad = tmp_path / "nomogram.json"
    bad.write_bytes(b"\x80\x04K.")  # a pickle is not JSON and is never unpickled
    with pytest.raises(NomogramError, match="not a readable nomogram JSON"):
        Nomogram.load(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(example()))
    assert Nomogram.load(good).score(FEATURES, CLINICAL).probability > 0


@pytest.mark.parametrize("change, message", [
    ({"age": None}, "missing clinical value"), ({"sex": "X"}, "sex"), ({"ct_stage": "T4"}, "ct_stage"),
    ({"cn_status": 2}, "cn_status"), ({"doi_mm": "deep"}, r"depth of invasion \(doi_mm\) must be a number of mm"),
    ({"age": 300}, r"age 300 years is implausible \(accepted: above 0 and below 120 years\)"),
    ({"doi_mm": -1}, r"depth of invasion \(doi_mm\) -1 mm is implausible"),
    ({"age": True}, "age must not be true/false"), ({"doi_mm": float("nan")}, "implausible"),
    ({"cn_status": True}, "cn_status must not be true/false"),
])
def test_clinical_values_are_checked(change, message):
    with pytest.raises(ClinicalValueError, match=message):
        encode_clinical({**CLINICAL, **change})


def test_clinical_encodings():
    assert encode_clinical({**CLINICAL, "cn_status": "N0", "ct_stage": "cT3", "sex": "f"}) == {
        "age": 62.0, "sex": 0.0, "ct_stage": 3.0, "cn_status": 0.0, "doi_mm": 8.5}


@pytest.mark.parametrize("probability, expected", [
    (0.19, (0.2, ("low", "intermediate"))), (0.2, (0.2, ("low", "intermediate"))),
    (0.2503, (0.2, ("low", "intermediate"))), (0.259, (0.2, ("low", "intermediate"))), (0.261, None), (0.3, None),
    (0.4497, (0.5, ("intermediate", "high"))), (0.54, (0.5, ("intermediate", "high"))), (0.561, None), (0.9, None),
    (0.02, None)])
def test_borderline_names_the_nearest_group_boundary(probability, expected):
    near = Nomogram(example()).borderline(probability)
    if expected is None:
        assert near is None
    else:
        assert (near["boundary"], near["groups"]) == expected and near["margin"] == 0.06  # above the 0.0503 measured
    assert Nomogram(example()).borderline(0.3, margin=0.11) == {"boundary": 0.2, "margin": 0.11,
                                                                "groups": ("low", "intermediate")}


@pytest.mark.parametrize("given", [
    {"age": "68", "sex": "m", "ct_stage": "ct2", "cn_status": "cN+", "doi_mm": "7.8"},  # CSV text
    {"age": 68, "sex": "Male", "ct_stage": 2, "cn_status": 1, "doi_mm": 7.8},  # clinical.json numbers
    {"age": 68.0, "sex": "M", "ct_stage": "T2", "cn_status": "1", "doi_mm": 7.8},  # command line
])
def test_every_source_spelling_gives_the_same_canonical_values(given):
    from inference.nomogram import normalize_clinical

    assert normalize_clinical(given) == {"age": 68.0, "sex": "M", "ct_stage": "T2", "cn_status": 1, "doi_mm": 7.8}
    assert type(normalize_clinical(given)["cn_status"]) is int


def test_values_outside_the_fitted_range_are_flagged_as_extrapolation():
    nomogram = Nomogram(example())
    axes = nomogram.model["axes"]
    inside = {name: (lo + hi) / 2 for name, (lo, hi) in axes.items()}
    assert nomogram.outside_fitted_range(inside) == []
    lo, hi = axes["age"]
    (warning,) = nomogram.outside_fitted_range({**inside, "age": lo - 1})
    assert warning.startswith(f"age {lo - 1:g} is outside the range of the patients the nomogram was fitted on")
    assert "extrapolation" in warning
    assert len(nomogram.outside_fitted_range({**inside, "age": hi + 1, "radscore": axes["radscore"][1] + 0.5})) == 2
    assert nomogram.outside_fitted_range({**inside, "sex": 5.0}) == []  # categories are checked when read


def test_total_point_ticks_are_round_and_reach_the_maximum():
    nomo = Nomogram(example())
    top = nomo.max_total_points
    ticks = nomo.total_ticks()
    labelled = [t for label, t in ticks if label]
    step = labelled[1] - labelled[0]
    assert labelled[0] == 0 and step in (10, 20, 25, 50, 100, 200, 250, 500)
    assert all(abs(b - a - step) < 1e-9 for a, b in zip(labelled, labelled[1:], strict=False))
    assert len(labelled) <= 7 and ticks[-1][1] == pytest.approx(top)  # the axis still runs to the maximum
    assert all(float(label) == t for label, t in ticks if label)  # the label is the value, not a rounding of it
