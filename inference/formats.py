"""The one table of model formats: export, validation, backend lookup, benchmark and tests iterate it.

Rows are frozen dataclasses addressed by field name. The table lives in ``inference/`` (plain data, no
heavy imports) so the runtime can look up backends without importing ``export/``.

Every format is built from the float reference (``config.json`` + ``best.weights.h5``), directly or from
another row (``built_from``): the OpenVINO and TensorRT variants start from the ONNX file, TF-TRT from the
SavedModel. ``shipped`` says whether ``otscc export`` builds the row for the shipped model folder by
default (GPU-only rows are built on the machine that runs them; the SavedModel duplicates the weights).
"""

from __future__ import annotations

from dataclasses import dataclass

#: the float reference every variant is validated against (rebuilt by the Keras backend)
REFERENCE_FILES = ("config.json", "best.weights.h5")


@dataclass(frozen=True)
class ModelFormat:
    name: str  #: CLI name, e.g. ``tflite-int8``
    file: str  #: file (or folder) name inside a model folder
    precision: str  #: fp32 | fp16 | int8
    runtimes: tuple[str, ...]  #: backends (``inference.backends.base.BACKENDS`` keys) that can run it
    needs_gpu: bool = False  #: can only be built/run with a GPU
    shipped: bool = True  #: built into the shipped model folder by default
    built_from: str | None = None  #: the row this one is converted from (None: the float Keras model)
    #: built from training-cohort slices (int8 calibration, quantization-aware fine-tuning): needs ``--cohort``
    needs_calibration: bool = False
    companions: tuple[str, ...] = ()  #: other files that belong to ``file`` (e.g. OpenVINO weights)
    description: str = ""

    @property
    def files(self) -> tuple[str, ...]:
        """Every file name of this format in a model folder (``file`` first)."""
        return (self.file, *self.companions)


FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat("keras", "saved_model", "fp32", ("keras",), shipped=False,
                description="TensorFlow SavedModel (the weights file is the shipped float reference)"),
    ModelFormat("tflite-fp32", "model_fp32.tflite", "fp32", ("litert",), description="LiteRT float32, XNNPACK"),
    ModelFormat("tflite-fp16", "model_fp16.tflite", "fp16", ("litert-gpu", "litert"),
                description="LiteRT float16 weights: the GPU variant"),
    ModelFormat("tflite-int8", "model_int8.tflite", "int8", ("litert",), needs_calibration=True,
                description="LiteRT full-integer post-training quantization calibrated on cohort slices"),
    ModelFormat("tflite-int8-qat", "model_int8_qat.tflite", "int8", ("litert",), needs_calibration=True,
                description="LiteRT int8 after quantization-aware fine-tuning (tfmot)"),
    ModelFormat("onnx", "model.onnx", "fp32", ("onnxruntime", "openvino"),
                description="ONNX float32 for ONNX Runtime / OpenVINO / TensorRT"),
    ModelFormat("openvino-int8", "openvino_int8.xml", "int8", ("openvino",), built_from="onnx", needs_calibration=True,
                companions=("openvino_int8.bin",), description="OpenVINO IR quantized with NNCF"),
    ModelFormat("tensorrt-fp16", "model_fp16.engine", "fp16", ("tensorrt",), needs_gpu=True, shipped=False,
                built_from="onnx", description="native TensorRT engine from the ONNX file"),
    ModelFormat("tensorrt-int8", "model_int8.engine", "int8", ("tensorrt",), needs_gpu=True, shipped=False,
                built_from="onnx", needs_calibration=True,
                description="native TensorRT int8 engine from the ONNX file (calibrated)"),
    ModelFormat("tf-trt", "tf_trt", "fp16", ("tf-trt",), needs_gpu=True, shipped=False, built_from="keras",
                description="TF-TRT SavedModel (only where TensorFlow is built with TensorRT)"),
)


def get_format(name: str) -> ModelFormat:
    """Row by name; ``KeyError`` lists the valid names."""
    for row in FORMATS:
        if row.name == name:
            return row
    raise KeyError(f"unknown format {name!r}; choose from {', '.join(f.name for f in FORMATS)}")


def formats_for(runtime: str) -> tuple[ModelFormat, ...]:
    """Rows a backend can run, in table order."""
    return tuple(row for row in FORMATS if runtime in row.runtimes)


def format_of_file(file_name: str) -> ModelFormat | None:
    """The row whose main file is called ``file_name`` (None when no row matches)."""
    return next((row for row in FORMATS if row.file == file_name), None)
