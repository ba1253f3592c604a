"""``otscc benchmark --compare``: results that passed its checks and then crashed it, rows twice, copies, and notes
about what it never shows (found by review 4 of an engineer benchmarking laptops, 2026-11-30)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inference.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"


def _result(cpu: str = "AMD EPYC", **top) -> dict:
    return {"kind": "otscc-benchmark", "version": 2, "created": "2026-11-30T15:49:52+00:00",
            "device": {"cpu": cpu, "isa": ["sse4_2", "avx2"], "gpu": "", "onednn_max_cpu_isa": ""}, "threads": None,
            "runs": 30, "warmup": 5, "pipeline_runs": 3, "patient": "sample_patient", "input_size": 256,
            "fov_mm": 160.0, "model_manifest_sha256": "ab" * 32, **top,
            "rows": [{"format": "tflite-fp32", "runtime": "litert", "status": "ok", "slice_ms_p50": 6.7},
                     {"format": "tflite-int8", "runtime": "litert", "status": "ok", "slice_ms_p50": 3.3}]}


def _write(path: Path, result: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return str(path)


@pytest.mark.parametrize(("edit", "field"), [
    (lambda r: r["device"].update(isa=None), "device.isa"),  # TypeError in the chart's label
    (lambda r: r["device"].update(isa="avx2 avx512f"), "device.isa"),  # read letter by letter: "avx512f" found
    (lambda r: r["device"].update(gpu=3090), "device.gpu"),  # TypeError
    (lambda r: r["device"].update(onednn_max_cpu_isa=2), "device.onednn_max_cpu_isa"),
    (lambda r: r["rows"][0].update(slice_ms_p50=1e308), "slice_ms_p50"),  # OverflowError in the chart's ticks
    (lambda r: r["rows"][0].update(slice_ms_p50=2e6), "slice_ms_p50"),  # 2000 s per slice
    (lambda r: r["rows"][0].update(status="OK"), "status"),
    (lambda r: r.update(threads="two"), "threads"),
    (lambda r: r.update(threads=0), "threads"),
    (lambda r: r.update(input_size="256"), "input_size"),
    (lambda r: r.update(fov_mm=-160.0), "fov_mm"),
    (lambda r: r.update(runs=0), "runs"),
    (lambda r: r.update(pipeline_runs=True), "pipeline_runs"),
    (lambda r: r.update(patient=["p"]), "patient"),
    (lambda r: r.update(model_manifest_sha256="made up"), "model_manifest_sha256"),
])
def test_compare_refuses_what_it_cannot_show_naming_the_file_and_field(tmp_path, capsys, edit, field):
    """Each of these passed validation and ended in a traceback (rc 1), or printed a 300-digit latency."""
    good = _write(tmp_path / "good.json", _result("Laptop"))
    altered = _result()
    edit(altered)
    bad = _write(tmp_path / "bad.json", altered)
    chart = tmp_path / "c.png"
    assert main(["benchmark", "--compare", good, bad, "--chart", str(chart)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"otscc benchmark: error: {bad}: an incomplete or altered benchmark result (")
    assert field in err and len(err.strip().splitlines()) == 1
    assert not chart.exists()


def test_compare_reads_what_a_result_may_hold_or_lack(tmp_path, capsys):
    """Null or absent: no GPU, no ISA limit, no --threads, and the fields older results lack."""
    lean = {"kind": "otscc-benchmark", "version": 2, "device": {"cpu": "Laptop", "gpu": None,
                                                                "onednn_max_cpu_isa": None},
            "rows": [{"format": "tflite-fp32", "runtime": "litert", "status": "ok", "slice_ms_p50": 999_999.0}]}
    paths = [_write(tmp_path / "full.json", _result()), _write(tmp_path / "lean.json", lean)]
    assert main(["benchmark", "--compare", *paths, "--chart", str(tmp_path / "c.png")]) == 0
    assert "999999.0 ms" in capsys.readouterr().out


def test_compare_refuses_a_row_given_twice(tmp_path, capsys):
    """The table showed the first of two tflite-fp32/litert rows (6.7 ms), the chart the last (99.0 ms)."""
    twice = _result()
    twice["rows"].append({**twice["rows"][0], "slice_ms_p50": 99.0})
    path = _write(tmp_path / "duprow.json", twice)
    assert main(["benchmark", "--compare", path, "--chart", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: an incomplete or altered benchmark result (row 2 (tflite-fp32 / litert) is there twice" in err
    assert not (tmp_path / "c.png").exists()


def test_compare_says_when_a_result_is_a_copy_of_another(tmp_path, capsys):
    """``cp laptopA/result.json laptopB/result.json``: two identical columns, read as two devices, without a word."""
    a = _write(tmp_path / "laptopA" / "result.json", _result())
    b = tmp_path / "laptopB" / "result.json"
    b.parent.mkdir()
    shutil.copyfile(a, b)
    assert main(["benchmark", "--compare", a, str(b)]) == 0
    err = capsys.readouterr().err
    assert f"note: {b} holds the same result as {a} (identical contents: a copy?); their columns are one " \
           "measurement, not two devices" in err
    other = _write(tmp_path / "laptopC" / "result.json", _result(created="2026-11-30T16:00:00+00:00"))
    assert main(["benchmark", "--compare", a, other]) == 0
    assert "same result" not in capsys.readouterr().err


def test_compare_prints_no_note_about_sizes_it_does_not_show(capsys):
    """Every version-1 input printed a note about converting size_mb, which --compare never shows.

    epyc_avx2only_2core.json is version 1, epyc_2core.json version 2 (since 2026-11-30); the notes left are about
    the fields the older result did not record (model hash, input size, field of view), none about sizes."""
    old = json.loads((DOCS / "epyc_avx2only_2core.json").read_text())
    assert old["version"] == 1
    assert main(["benchmark", "--compare", str(DOCS / "epyc_2core.json"), str(DOCS / "epyc_avx2only_2core.json")]) == 0
    err = capsys.readouterr().err
    assert "size" not in err.replace("input size", "") and "MiB" not in err


def test_the_json_check_and_compare_read_a_result_through_one_function(tmp_path, monkeypatch):
    """The regular-file, 4 MB-capped read was written twice (``replace_problem`` and ``_read_result``)."""
    import export.benchmark_results as results

    read = []
    real = results._read_result
    monkeypatch.setattr(results, "_read_result", lambda path: read.append(Path(path)) or real(path))
    path = Path(_write(tmp_path / "r.json", _result()))
    assert results.replace_problem(path) is None
    results.load_results([path])
    assert read == [path, path]
