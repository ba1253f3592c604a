"""The one table of model formats: export, validation, backend lookup, benchmark and tests iterate it.

Rows are frozen dataclasses addressed by field name. The table lives in ``inference/`` (plain data, no
heavy imports) so the runtime can look up backends without importing ``export/``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelFormat:
    name: str  #: CLI name, e.g. ``tflite-int8``
    file: str  #: file (or folder) name inside a model folder
    precision: str  #: fp32 | fp16 | int8
    runtimes: tuple[str, ...]  #: backends (``inference.backends.BACKENDS`` keys) that can run it
    needs_gpu: bool = False  #: can only be built/run with a GPU
    description: str = ""


FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat("keras", "saved_model", "fp32", ("keras",), description="TensorFlow SavedModel (reference)"),
    ModelFormat("tflite-fp32", "model_fp32.tflite", "fp32", ("litert",), description="LiteRT float32, XNNPACK"),
    ModelFormat("tflite-fp16", "model_fp16.tflite", "fp16", ("litert-gpu", "litert"),
                description="LiteRT float16 weights: the GPU variant"),
    ModelFormat("tflite-int8", "model_int8.tflite", "int8", ("litert",),
                description="LiteRT full-integer post-training quantization calibrated on cohort slices"),
    ModelFormat("tflite-int8-qat", "model_int8_qat.tflite", "int8", ("litert",),
                description="LiteRT int8 after quantization-aware fine-tuning (tfmot)"),
    ModelFormat("onnx", "model.onnx", "fp32", ("onnxruntime", "openvino"),
                description="ONNX float32 for ONNX Runtime / OpenVINO / TensorRT"),
    ModelFormat("openvino-int8", "openvino_int8.xml", "int8", ("openvino",),
                description="OpenVINO IR quantized with NNCF"),
    ModelFormat("tensorrt-fp16", "model_fp16.engine", "fp16", ("tensorrt",), needs_gpu=True,
                description="native TensorRT engine from the ONNX file"),
    ModelFormat("tensorrt-int8", "model_int8.engine", "int8", ("tensorrt",), needs_gpu=True,
                description="native TensorRT int8 engine from the ONNX file (calibrated)"),
    ModelFormat("tf-trt", "tf_trt", "fp16", ("tf-trt",), needs_gpu=True,
                description="TF-TRT SavedModel (only where TensorFlow is built with TensorRT)"),
)


def get_format(name: str) -> ModelFormat:
    """Row by name; ``KeyError`` lists the valid names."""
    for row in FORMATS:
        if row.name == name:
            return row
    raise KeyError(f"unknown format {name!r}; choose from {', '.join(f.name for f in FORMATS)}")
