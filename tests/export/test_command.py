"""``otscc export`` command line: formats, output-folder rules, report, and the input folder left untouched."""

from __future__ import annotations

import json

from inference.cli import main


def _listing(folder):
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size) for p in folder.rglob("*"))


def test_export_command_writes_variants_and_manifest_elsewhere(tiny_model, tmp_path, capsys):
    before = _listing(tiny_model)
    out = tmp_path / "variants"
    assert main(["export", "--model", str(tiny_model), "--out", str(out), "--formats", "onnx,tensorrt-fp16",
                 "--validate-patients", "0"]) == 0
    printed = capsys.readouterr().out
    assert "onnx" in printed and "skipped" in printed and "manifest:" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["variants"]["onnx"]["status"] == "ok"
    assert manifest["variants"]["onnx"]["shipped"] is False  # not validated: not shipped
    assert manifest["variants"]["tensorrt-fp16"]["status"] == "skipped"
    assert (out / "model.onnx").stat().st_size > 0 and (out / "best.weights.h5").is_file()
    assert _listing(tiny_model) == before, "the input model folder was modified"


def test_export_command_rejects_bad_formats_and_outputs(tiny_model, capsys):
    assert main(["export", "--model", str(tiny_model), "--out", str(tiny_model / "sub"), "--formats", "onnx"]) == 3
    assert "inside the input model folder" in capsys.readouterr().err
    assert main(["export", "--model", str(tiny_model), "--out", str(tiny_model), "--formats", "tflite-int4"]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_rows_that_cannot_be_built_here_skip_without_building_their_sources(tiny_model, tmp_path):
    from export.exporter import PRECHECKS, export_model

    unavailable = [name for name, check in PRECHECKS.items() if check()]
    if not unavailable:
        import pytest

        pytest.skip("every GPU row can be built on this machine")
    report = export_model(tiny_model, tmp_path / "gpu", unavailable, validate_patients=0)
    assert set(report.results) == set(unavailable)
    assert all(r.status == "skipped" and r.reason for r in report.results.values())
    assert not (tmp_path / "gpu" / "saved_model").exists() and not (tmp_path / "gpu" / "model.onnx").exists()
