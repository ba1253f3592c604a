"""``otscc benchmark --compare``: the CPU threads each row ran with are among the facts compared (found by a review,
2026-11-30: it noted differing runs, warm-up, model... but merged rows timed on 2 and on 8 threads without a word)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export.benchmark import device_labels, load_results
from export.benchmark_results import measurement_differences
from inference.cli import main
from inference.errors import InputError


def _result(threads: list[int | None] | None, top: int | None = None) -> dict:
    """A result of two rows with these per-row thread counts (None: the rows lack the field, as older results do)."""
    rows = [{"format": f, "runtime": "litert", "status": "ok", "slice_ms_p50": 3.3} for f in ("tflite-fp32",
                                                                                                  "tflite-int8")]
    for row, count in zip(rows, threads or [], strict=False):
        row["threads"] = count
    return {"kind": "otscc-benchmark", "version": 2, "device": {"cpu": "AMD EPYC", "isa": ["avx2"]}, "threads": top,
            "runs": 30, "rows": rows}


def _load(tmp_path: Path, *results: dict) -> list[dict]:
    tmp_path.mkdir(exist_ok=True)
    paths = []
    for i, result in enumerate(results):
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(result))
    return load_results(paths)


def test_compare_notes_rows_timed_on_other_thread_counts(tmp_path, capsys):
    paths = [tmp_path / "laptop.json", tmp_path / "desktop.json"]
    paths[0].write_text(json.dumps(_result([2, 2])))
    paths[1].write_text(json.dumps(_result([8, 4])))
    assert main(["benchmark", "--compare", *map(str, paths)]) == 0
    out, err = capsys.readouterr()
    assert ("note: the results differ in the CPU threads of the rows measured (each row's threads; --threads where "
            "rows lack it): threads 2 in laptop.json; threads 4/8 in desktop.json") in err
    assert "AMD EPYC (avx2) | threads 2" in out and "AMD EPYC (avx2) | threads 4/8" in out


def test_threads_not_recorded_by_an_older_result_are_said_so(tmp_path):
    """Older results lack per-row threads; without --threads (top-level null) the count is unknown."""
    from export.benchmark_results import threads_of

    results = _load(tmp_path, _result([2, 2]), _result(None), _result(None, top=2))
    assert [threads_of(r) for r in results] == [(2,), None, (2,)]
    notes = measurement_differences(results)["notes"]
    assert len(notes) == 1 and notes[0].endswith("threads 2 in r0.json, r2.json; not recorded in r1.json")
    assert device_labels(results)[1] == "AMD EPYC (avx2) | threads ?"
    # the --threads of an older result is what its rows ran with: the same as a newer result's rows, no note
    assert measurement_differences(_load(tmp_path / "same", _result([2, 2]), _result(None, top=2)))["notes"] == []


def test_gpu_rows_record_no_threads_and_skipped_rows_do_not_count(tmp_path):
    from export.benchmark_results import threads_of

    gpu, cpu = _result([None, None]), _result([2, 2])
    cpu["rows"].append({"format": "onnx", "runtime": "openvino", "status": "skipped", "threads": None})
    assert [threads_of(r) for r in _load(tmp_path, gpu, cpu)] == [(), (2,)]
    assert "threads none (GPU rows only) in r0.json" in measurement_differences(_load(tmp_path / "b", gpu, cpu))[
        "notes"][0]


@pytest.mark.parametrize("count", ["two", 0, 2.0, True])
def test_a_row_thread_count_that_is_not_one_is_refused(tmp_path, count):
    with pytest.raises(InputError, match=r"row 1 \(tflite-int8 / litert\): threads is .*, not a thread count"):
        _load(tmp_path, _result([2, count]))
