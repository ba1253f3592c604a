"""Latencies under a millisecond (a GPU running a light model): stored with 3 significant digits and shown with
enough decimals. They were rounded to 2 decimals (a 0.004 ms median became 0.0, which ``--compare`` then refused as
not a positive number) and printed with one ("0.3" against "0.2" hid a 40 % difference)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.benchmark import compare_table, load_results, time_slices
from export.benchmark_results import ms_text, ms_value
from inference.cli import main


@pytest.mark.parametrize(("ms", "stored", "shown"), [
    (271.04, 271.04, "271.0"), (6.6349, 6.63, "6.6"), (1.0, 1.0, "1.0"), (0.3449, 0.345, "0.34"),
    (0.0412, 0.0412, "0.041"), (0.004237, 0.00424, "0.004")])
def test_stored_and_shown(ms, stored, shown):
    assert ms_value(ms) == stored and ms_text(ms) == shown


class _Instant:
    """A backend that returns at once: its median is microseconds."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return batch[..., 0]


def test_a_microsecond_backend_is_not_timed_as_zero():
    stats = time_slices({"gpu": _Instant()}, np.zeros((2, 4, 4, 3), np.float32), runs=20, warmup=1)
    assert 0 < stats["gpu"]["median_ms"] < 1 and stats["gpu"]["p95_ms"] > 0


def test_compare_takes_and_shows_a_sub_millisecond_result(tmp_path, capsys):
    rows = [{"format": "tensorrt-fp16", "runtime": "tensorrt", "status": "ok", "slice_ms_p50": 0.00424},
            {"format": "tensorrt-int8", "runtime": "tensorrt", "status": "ok", "slice_ms_p50": 0.345}]
    gpu = {"kind": "otscc-benchmark", "version": 2, "device": {"cpu": "Xeon", "gpu": "NVIDIA H200"}, "rows": rows}
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(gpu))
    table = compare_table(load_results([path]))
    assert "0.004 ms" in table and "0.34 ms" in table
    assert main(["benchmark", "--compare", str(path), "--chart", str(tmp_path / "c.png")]) == 0
    assert "0.004 ms" in capsys.readouterr().out
