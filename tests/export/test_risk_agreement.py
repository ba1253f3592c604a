"""Risk agreement between variants: the summary of risk changes and risk-group crossings."""

from __future__ import annotations

import pytest

from export.risk_agreement import summarize


def _group(p: float) -> str:
    return "low" if p < 0.2 else "intermediate" if p < 0.5 else "high"


def test_summary_counts_changes_crossings_and_differently_scored_patients():
    reference = {"A": 0.10, "B": 0.49, "C": 0.80, "D": None, "E": 0.30}
    variant = {"A": 0.12, "B": 0.51, "C": 0.70, "D": 0.4, "E": None}
    s = summarize(reference, variant, [0.2, 0.5], _group)
    assert s["n"] == 3  # A, B, C: both scored
    assert s["max_abs_change"] == pytest.approx(0.10)
    assert s["mean_abs_change"] == pytest.approx((0.02 + 0.02 + 0.10) / 3)
    assert s["group_changes"] == [{"patient_id": "B", "reference": 0.49, "variant": 0.51,
                                   "reference_to_boundary": 0.01}]
    assert s["scored_differently"] == ["D", "E"]  # a tumor found by one and not the other
    empty = summarize({"A": None}, {"A": None}, [0.2, 0.5], _group)
    assert empty["n"] == 0 and empty["max_abs_change"] is None and empty["group_changes"] == []
