"""``otscc benchmark``'s p95 slice latency: not reported for fewer timed runs than a 95th percentile needs (found by a
review, 2026-11-30: ``--runs 3`` printed the slowest of 3 runs as "p95")."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from export.benchmark import MIN_P95_RUNS, Row, format_table, time_slices
from inference.backends.base import SegBackend
from inference.cli import main


class _Instant(SegBackend):
    def predict(self, batch):
        return np.zeros(batch.shape[:3], np.float32)


def _table(runs: int, p95: float | None) -> str:
    rows = [Row("keras", "keras", "fp32", slice_ms_p50=9.0, slice_ms_p95=p95, volume_s=0.3, dice_vs_reference=1.0,
                mask_voxels=590, pipeline_s={"segment": 0.3}, threads=2)]
    return format_table({"device": {"cpu": "x", "isa": [], "logical_cores": 2}, "patient": "p", "runs": runs,
                         "pipeline_runs": 1, "reference": {"format": "keras", "runtime": "keras"},
                         "input_size": 256, "fov_mm": 160.0, "rows": [asdict(r) for r in rows]})


@pytest.mark.parametrize("runs", [1, 3, MIN_P95_RUNS - 1])
def test_too_few_runs_have_no_p95(runs):
    """A p95 of 1-3 runs was their maximum (np.percentile interpolates towards the largest)."""
    table = time_slices({"a": _Instant()}, np.zeros((2, 8, 8, 3), np.float32), runs=runs, warmup=0)
    assert table["a"]["runs"] == runs and table["a"]["median_ms"] >= 0 and table["a"]["p95_ms"] is None
    text = _table(runs, table["a"]["p95_ms"])
    row = next(line for line in text.splitlines() if line.startswith("keras"))
    assert "(   n/a)" in row
    counted = "1 run" if runs == 1 else f"{runs} runs"  # "of 1 runs" read wrong
    assert f"median (p95) of {counted} (p95 n/a: it needs {MIN_P95_RUNS} runs or more)" in text
    assert "pipeline stages = median of 1 run on p" in text  # its pipeline_runs


def test_enough_runs_have_a_p95():
    table = time_slices({"a": _Instant()}, np.zeros((2, 8, 8, 3), np.float32), runs=MIN_P95_RUNS, warmup=0)
    assert table["a"]["runs"] == MIN_P95_RUNS and table["a"]["p95_ms"] >= table["a"]["median_ms"] >= 0
    text = _table(MIN_P95_RUNS, 9.5)
    assert "(   9.5)" in text and "n/a" not in text


def test_compare_and_chart_take_null_p95_beside_older_numbers(tmp_path, capsys):
    """A result of 3 runs (p95 null) merged with an older one that holds a p95 for its 3 runs."""
    def result(cpu: str, p95: float | None) -> dict:
        return {"kind": "otscc-benchmark", "version": 2, "device": {"cpu": cpu, "isa": ["avx2"]}, "runs": 3,
                "rows": [{"format": "tflite-int8", "runtime": "litert", "status": "ok", "slice_ms_p50": 3.3,
                          "slice_ms_p95": p95}]}
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(result("new", None)))
    b.write_text(json.dumps(result("old", 4.1)))
    assert main(["benchmark", "--compare", str(a), str(b), "--chart", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "3.3 ms" in out and (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
