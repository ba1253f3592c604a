"""Backend reasons a user can act on: a variant not exported, one exported without validation, LiteRT's GPU error,
and what ``predict`` says about the candidates ``auto`` passed over."""

from __future__ import annotations

import json
import logging

import pytest

from inference.assets import DEFAULT_SEG_MODEL
from inference.backends import base

#: LiteRT 2.x's whole error text on a machine without a usable GPU (the cause went to stderr only)
LITERT_GPU_ERROR = ("ERROR: [./litert/cc/litert_compiled_model.h:1961]\n"
                    "\u2514 ERROR: [litert/runtime/compiled_model.cc:1036]")


def test_a_format_that_was_not_exported_is_called_missing_not_unable_to_run(tmp_path):
    """``--backend tflite-fp16`` on a folder without model_fp16.tflite said "tflite-fp16 cannot run here: ... no
    model_fp16.tflite in ...", which reads as a limit of the machine."""
    with pytest.raises(base.VariantNotExportedError) as error:
        base.select_backend("tflite-fp16", tmp_path)
    text = str(error.value)
    assert text.startswith(f"tflite-fp16: model_fp16.tflite is missing from {tmp_path} (not exported)")
    assert "cannot run here" not in text and text.count("missing from") == 1  # both runtimes looked for one file
    assert "otscc export" in text and "--formats tflite-fp16" in text
    with pytest.raises(base.VariantNotExportedError, match=r"^model_int8\.tflite is missing from .* \(not exported\)$"):
        base.load_backend("litert", tmp_path, variant="tflite-int8")


def test_a_variant_exported_without_validation_says_how_to_ship_it(tmp_path):
    """``predict --backend onnxruntime`` on a folder exported without --cohort said only "model.onnx is not shipped
    (not validated)", with no word about the remedy."""
    from inference.backends.manifest import SCHEMA_VERSION, VariantUnavailable, resolve_model

    (tmp_path / "model.onnx").write_bytes(b"onnx")
    (tmp_path / "manifest.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "variants": {"onnx": {
        "format": "onnx", "status": "ok", "reason": "not validated", "shipped": False, "files": []}}}))
    with pytest.raises(VariantUnavailable) as error:
        resolve_model(tmp_path, "onnxruntime")
    text = str(error.value)
    assert text.startswith("model.onnx is not shipped (not validated); ")
    assert f"otscc export --model {tmp_path} --out {tmp_path} --formats onnx --cohort DIR" in text


def test_litert_gpu_reason_drops_litert_source_locations(monkeypatch, caplog):
    """The reason was "LiteRT found no usable OpenCL/WebGPU device (ERROR: [./litert/cc/litert_compiled_model.h:1961]
    └ ERROR: [litert/runtime/compiled_model.cc:1036])": LiteRT's source lines and a tree character, no cause."""
    from inference.backends.litert_gpu import readable_cause

    assert readable_cause(LITERT_GPU_ERROR) is None
    assert readable_cause("ERROR: [delegate_webgpu.cc:359]\n\u2514 Failed to initialize WebGPU environment: No "
                          "adapters found") == "Failed to initialize WebGPU environment: No adapters found"
    if not (DEFAULT_SEG_MODEL / "model_fp16.tflite").is_file():
        pytest.skip("no model_fp16.tflite shipped")
    compiled = pytest.importorskip("ai_edge_litert.compiled_model")

    def refuse(*args, **kwargs):
        raise RuntimeError(LITERT_GPU_ERROR)

    monkeypatch.setattr(compiled.CompiledModel, "from_buffer", staticmethod(refuse))
    with caplog.at_level(logging.DEBUG, logger="inference.backends.litert_gpu"), \
            pytest.raises(base.BackendUnavailableError) as error:
        base.load_backend("litert-gpu", DEFAULT_SEG_MODEL, threads=1)
    text = str(error.value)
    assert "litert_compiled_model.h" not in text and "\u2514" not in text and "ERROR: [" not in text
    assert "no GPU accelerator" in text and "--debug" in text
    assert "litert_compiled_model.h:1961" in caplog.text  # kept for whoever debugs LiteRT


def test_predict_calls_the_candidates_auto_passed_over_higher_priority_not_faster():
    """"(6 faster candidate(s) unavailable here ...)": GPU/NPU/TensorRT rows never timed on this machine."""
    from inference.commands.predict import backend_line

    line = backend_line({"backend": "litert", "variant": "model_int8.tflite", "notes": ["a", "b"]})
    assert line.startswith("litert model_int8.tflite (2 higher-priority candidates unavailable here")
    assert "faster" not in line
    assert backend_line({"backend": "keras", "model_file": "best.weights.h5"}) == "keras best.weights.h5"


def test_auto_notes_name_each_backend_once(tmp_path):
    """The notes read "litert-gpu on litert-gpu (gpu) unavailable: ..." and "openvino on openvino (npu) ..."."""
    assert base.Candidate("litert-gpu", device="gpu").label == "litert-gpu (gpu)"
    assert base.Candidate("openvino", device="npu").label == "openvino (npu)"
    assert base.Candidate("onnxruntime", "onnx", device="gpu").label == "onnx on onnxruntime (gpu)"
    assert base.Candidate("litert", "tflite-int8").label == "tflite-int8 on litert (cpu)"
    assert base.Candidate("tf-trt", "tf-trt", device="gpu").label == "tf-trt (gpu)"  # format named as its backend
    for candidate in base.AUTO_ORDER:
        words = candidate.label.replace("(", " ").replace(")", " ").split()
        assert words.count(candidate.backend) == 1, candidate.label


def test_a_named_format_that_cannot_run_names_it_once(tmp_path):
    """"tensorrt-fp16 cannot run here (tensorrt-fp16 on tensorrt (gpu)): ..." named the format twice."""
    (tmp_path / "model_fp16.engine").write_bytes(b"not an engine")
    with pytest.raises(base.BackendUnavailableError) as error:
        base.select_backend("tensorrt-fp16", tmp_path)
    text = str(error.value)
    assert text.startswith("tensorrt-fp16 cannot run here on tensorrt (gpu): "), text
    assert text.count("tensorrt-fp16") == 1, text


def test_tf_trt_named_on_a_folder_without_it_names_the_export_command(tmp_path):
    """``predict --backend tf-trt`` (a backend name, not a format) said only "tf_trt is missing from DIR (not
    exported)": the wording ``--backend FORMAT`` gives, with the command, was only for format names."""
    with pytest.raises(base.VariantNotExportedError) as error:
        base.select_backend("tf-trt", tmp_path)
    text = str(error.value)
    assert text.startswith(f"tf-trt: tf_trt is missing from {tmp_path} (not exported); export it first")
    assert f"otscc export --model {tmp_path} --out {tmp_path} --formats tf-trt --cohort DIR" in text


def test_keras_on_a_folder_without_the_float_weights_says_where_they_come_from(tmp_path):
    """``predict --backend keras`` on the app's model folder (its bundle leaves out best.weights.h5) said "needs
    config.json and best.weights.h5", not which one was missing nor where the weights come from."""
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(base.BackendUnavailableError) as error:
        base.select_backend("keras", tmp_path)
    text = str(error.value)
    assert text.startswith(f"{tmp_path}: best.weights.h5 is missing: ") and "config.json is" not in text
    assert "otscc train-seg" in text and "--backend auto" in text
