"""``otscc benchmark``: what its options do to the files it writes and to ``--compare`` (found by a review of an
engineer benchmarking laptops, 2026-11-30). No measurement runs here: ``run_benchmark`` is replaced."""

from __future__ import annotations

import json

import pytest

from inference.cli import main


def _measured(**kw) -> dict:
    """What run_benchmark returns for ``--formats onnx`` when it measured it (and the reference)."""
    from dataclasses import asdict

    from export.benchmark import Row, device_facts

    rows = [Row("keras", "keras", "fp32", slice_ms_p50=30.0, slice_ms_p95=31.0, volume_s=0.5, size_mb=1.8,
                dice_vs_reference=1.0, pipeline_s={"segment": 0.5}),
            Row("onnx", "onnxruntime", "fp32", slice_ms_p50=9.0, slice_ms_p95=9.5, volume_s=0.2, size_mb=1.8,
                dice_vs_reference=1.0, pipeline_s={"segment": 0.2})]
    return {"kind": "otscc-benchmark", "version": 2, "device": device_facts(), "patient": "p", "runs": 1,
            "pipeline_runs": 1, "reference": {"format": "keras", "runtime": "keras"}, "rows": [asdict(r) for r in rows]}


# -- --json over an existing file ------------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "said"), [
    (json.dumps({"age": 61, "sex": "F"}), "not an otscc benchmark result (no otscc benchmark kind)"),
    (json.dumps({"kind": "otscc-prediction"}), "(kind 'otscc-prediction')"),
    ("[1, 2]", "not an otscc benchmark result"), ("some notes\n", "(not JSON)"), ("", "(not JSON)"),
])
def test_json_does_not_overwrite_a_file_that_is_not_a_benchmark_result(tmp_path, monkeypatch, capsys, content,
                                                                        said):
    """``--json clinical.json`` (a slip of the tab key) replaced the file without a word."""
    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    target = tmp_path / "clinical.json"
    target.write_text(content)
    assert main(["benchmark", "--formats", "onnx", "--json", str(target)]) == 3
    err = capsys.readouterr().err
    assert f"--json {target}: the file exists and is a" in err and said in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert target.read_text() == content and not target.with_suffix(".png").exists()


@pytest.mark.parametrize("earlier", [True, False])
def test_json_replaces_an_earlier_result_and_anything_with_overwrite(tmp_path, monkeypatch, capsys, earlier):
    monkeypatch.setattr("export.benchmark.run_benchmark", _measured)
    target = tmp_path / "laptop.json"
    target.write_text(json.dumps({"kind": "otscc-benchmark", "version": 1, "rows": []}) if earlier else "notes")
    args = ["benchmark", "--formats", "onnx", "--json", str(target), *([] if earlier else ["--overwrite"])]
    assert main(args) == 0, capsys.readouterr().err
    assert json.loads(target.read_text())["rows"][1]["format"] == "onnx"
