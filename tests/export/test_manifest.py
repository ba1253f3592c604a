"""Manifest layout: the shipped folder's manifest sits one level up with prefixed paths; kept entries."""

from __future__ import annotations

import json
import os

import pytest

from export import manifest as export_manifest
from export.steps import FormatResult
from inference.backends.manifest import resolve_model


@pytest.fixture
def shipped_layout(tmp_path, monkeypatch):
    models = tmp_path / "models"
    seg = models / "seg"
    seg.mkdir(parents=True)
    for name, data in (("config.json", b"{}"), ("best.weights.h5", b"w" * 64),
                       ("model_int8.tflite", b"\x00\x00\x00\x00TFL3" + b"q" * 64)):
        (seg / name).write_bytes(data)
    monkeypatch.setattr(export_manifest, "DEFAULT_SEG_MODEL", seg)
    monkeypatch.setattr(export_manifest, "MODELS", models)
    monkeypatch.chdir(tmp_path)  # the command may be given a relative --out
    return models


def _result(shipped: bool) -> FormatResult:
    return FormatResult("tflite-int8", "ok", None, 1.0, ["model_int8.tflite"], 72, {},
                        {"passed": shipped, "failures": []}, shipped)


def test_shipped_folder_manifest_is_one_level_up_with_relative_paths(shipped_layout):
    path, data = export_manifest.build_manifest(os.path.relpath(shipped_layout / "seg"), 32, 160.0,
                                                {"tflite-int8": _result(True)}, reference_validation=None,
                                                validation_info=None)
    assert path == shipped_layout / "manifest.json" and data["model_dir"] == "seg"
    assert data["variants"]["tflite-int8"]["files"][0]["path"] == "seg/model_int8.tflite"
    assert {r["path"] for r in data["reference"]["files"]} == {"seg/config.json", "seg/best.weights.h5"}
    export_manifest.write_manifest(path, data)
    assert resolve_model(shipped_layout / "seg", "litert", "tflite-int8").integrity.startswith("sha256 verified")


def test_entries_of_formats_not_rebuilt_are_kept_while_valid(shipped_layout):
    seg = shipped_layout / "seg"
    path, data = export_manifest.build_manifest(seg, 32, 160.0, {"tflite-int8": _result(True)},
                                                reference_validation=None, validation_info=None)
    export_manifest.write_manifest(path, data)
    (seg / "model.onnx").write_bytes(b"onnx")
    onnx = FormatResult("onnx", "ok", None, 1.0, ["model.onnx"], 4, {}, {"passed": True}, True)
    _, again = export_manifest.build_manifest(seg, 32, 160.0, {"onnx": onnx}, reference_validation=None,
                                              validation_info=None)
    assert set(again["variants"]) == {"tflite-int8", "onnx"}
    (seg / "model_int8.tflite").write_bytes(b"changed")
    _, third = export_manifest.build_manifest(seg, 32, 160.0, {"onnx": onnx}, reference_validation=None,
                                              validation_info=None)
    assert set(third["variants"]) == {"onnx"}  # the changed file no longer matches: its entry is dropped
    json.dumps(third)


def test_a_copy_of_the_shipped_layout_keeps_its_manifest_one_level_up(shipped_layout, tmp_path, monkeypatch):
    """An export into a copy of assets/models/seg wrote seg/manifest.json with that run's formats only; it hid the
    parent manifest, and with it every variant the run did not rebuild (predict fell back to Keras)."""
    seg = shipped_layout / "seg"
    path, data = export_manifest.build_manifest(seg, 32, 160.0, {"tflite-int8": _result(True)},
                                                reference_validation=None, validation_info=None)
    export_manifest.write_manifest(path, data)
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(shipped_layout, copy)  # no longer the shipped folder: found through its parent's manifest
    (copy / "seg" / "model.onnx").write_bytes(b"onnx")
    onnx = FormatResult("onnx", "ok", None, 1.0, ["model.onnx"], 4, {}, {"passed": True}, True)
    path, again = export_manifest.build_manifest(copy / "seg", 32, 160.0, {"onnx": onnx},
                                                 reference_validation=None, validation_info=None)
    assert path == copy / "manifest.json" and again["model_dir"] == "seg"
    assert set(again["variants"]) == {"tflite-int8", "onnx"}
