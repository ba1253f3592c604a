"""Help > Benchmark this device shows every field of a result row readably."""

from __future__ import annotations

from desktop.benchmark import cell_text


def test_lists_and_stage_times_read_as_text_not_python():
    """A row's ``pipeline_missing`` (stages a run with an empty mask left out) showed as "['radiomics', 'nomogram']"."""
    assert cell_text(["radiomics", "nomogram"]) == "radiomics, nomogram"
    assert cell_text({"load": 0.2, "segment": 1.0}) == "load 0.2, segment 1"
    assert cell_text(None) == "" and cell_text(12.345678) == "12.35" and cell_text([]) == ""


def test_a_null_p95_reads_n_a_with_the_reason_as_tooltip(qtbot):
    """Below ``MIN_P95_RUNS`` timed runs the benchmark writes the p95 as null: the table showed a blank cell, as if a
    value were lost. A skipped row's p95 stays blank (nothing was measured; its status says why)."""
    from desktop.benchmark import BenchmarkDialog, benchmark_rows, p95_missing_reason
    from export.benchmark_results import MIN_P95_RUNS, UNITS

    result = {"runs": 3, "units": UNITS, "rows": [  # the shape and units `otscc benchmark --runs 3 --json` writes
        {"format": "tflite-fp32", "runtime": "litert", "status": "ok", "slice_ms_p50": 15.9, "slice_ms_p95": None},
        {"format": "onnx", "runtime": "onnxruntime", "status": "skipped", "slice_ms_p50": None, "slice_ms_p95": None},
        {"format": "onnx", "runtime": "openvino", "status": "ok", "slice_ms_p50": 9.0, "slice_ms_p95": 11.25}]}
    dialog = BenchmarkDialog()
    qtbot.addWidget(dialog)
    dialog.show_rows(benchmark_rows(result), "", p95_missing_reason(result))
    column = [dialog.table.horizontalHeaderItem(j).text() for j in range(dialog.table.columnCount())].index(
        "slice_ms_p95")
    cells = [dialog.table.item(i, column) for i in range(3)]
    assert [c.text() for c in cells] == ["n/a", "", "11.25"]
    tip = cells[0].toolTip()
    assert "3 timed runs" in tip and f"fewer than {MIN_P95_RUNS} timed runs" in tip and "--runs" in tip
    assert cells[1].toolTip() == "" and cells[2].toolTip() == ""
    assert "1 timed run;" in p95_missing_reason({"runs": 1})  # an older result without units still says why
