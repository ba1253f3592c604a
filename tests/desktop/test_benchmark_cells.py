"""Help > Benchmark this device shows every field of a result row readably."""

from __future__ import annotations

from desktop.benchmark import cell_text


def test_lists_and_stage_times_read_as_text_not_python():
    """A row's ``pipeline_missing`` (stages a run with an empty mask left out) showed as "['radiomics', 'nomogram']"."""
    assert cell_text(["radiomics", "nomogram"]) == "radiomics, nomogram"
    assert cell_text({"load": 0.2, "segment": 1.0}) == "load 0.2, segment 1"
    assert cell_text(None) == "" and cell_text(12.345678) == "12.35" and cell_text([]) == ""
