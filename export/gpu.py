"""GPU-only converters: native TensorRT engines from the ONNX file, and TF-TRT from the SavedModel.

Each first checks that it can run here and otherwise raises ``FormatSkipped`` with the reason (TensorRT or
cuda-python not installed, no NVIDIA GPU, TensorFlow built without TensorRT), which the report shows as
"skipped", never as a failure of the other formats. Engines are specific to the GPU and TensorRT version
that built them, so they are built on the machine that runs them. Not exercised on the development
machine (no NVIDIA GPU); the ``gpu``-marked tests run them where one exists.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import numpy as np

from export.context import ExportContext
from export.steps import ExportError, FormatSkipped, atomic_dir
from inference.atomic import atomic_path
from inference.formats import ModelFormat

log = logging.getLogger(__name__)

WORKSPACE_BYTES = 1 << 30


def tensorrt_unavailable_reason() -> str | None:
    """Why native TensorRT engines cannot be built here (None when they can)."""
    from inference.backends.base import BackendUnavailableError
    from inference.backends.trt import cuda_runtime

    try:
        importlib.import_module("tensorrt")
    except ImportError:
        return "tensorrt is not installed"
    try:
        cuda_runtime()
    except BackendUnavailableError as exc:
        return str(exc)
    return None


def tf_trt_unavailable_reason() -> str | None:
    """Why TF-TRT cannot be built here (None when it can)."""
    from inference.backends.keras import import_tensorflow
    from inference.backends.tftrt import tftrt_unavailable_reason

    return tftrt_unavailable_reason(import_tensorflow())


def _calibrator(trt, cuda, slices: np.ndarray, cache: Path):
    """Entropy calibrator feeding training-split slices one at a time (TensorRT's implicit int8 path)."""
    from inference.backends.trt import _check

    class Calibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            super().__init__()
            self.index, self.device = 0, _check(cuda.cudaMalloc(slices[0].nbytes))

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            if self.index >= len(slices):
                return None
            host = np.ascontiguousarray(slices[self.index][None], np.float32)
            _check(cuda.cudaMemcpy(self.device, host.ctypes.data, host.nbytes,
                                   cuda.cudaMemcpyKind.cudaMemcpyHostToDevice))
            self.index += 1
            return [int(self.device)]

        def read_calibration_cache(self):
            return cache.read_bytes() if cache.is_file() else None

        def write_calibration_cache(self, data):
            cache.write_bytes(bytes(data))

    return Calibrator()


def export_tensorrt(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    reason = tensorrt_unavailable_reason()
    if reason:
        raise FormatSkipped(reason)
    trt = importlib.import_module("tensorrt")
    from inference.backends.trt import cuda_runtime

    source = ctx.out_dir / "model.onnx"
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(source.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT cannot parse {source.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    config.set_flag(trt.BuilderFlag.FP16)
    if fmt.precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = _calibrator(trt, cuda_runtime(), ctx.calibration,
                                             ctx.out_dir / f".{path.stem}.calibration")
    blob = builder.build_serialized_network(network, config)
    if blob is None:
        raise ExportError(f"TensorRT could not build the {fmt.precision} engine (see its log above)")
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(blob))
    return {"tensorrt": trt.__version__, "precision_flags": ["fp16"] + (["int8"] if fmt.precision == "int8" else [])}


def export_tf_trt(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    reason = tf_trt_unavailable_reason()
    if reason:
        raise FormatSkipped(reason)
    from tensorflow.python.compiler.tensorrt import trt_convert as trt  # only present in TensorRT builds

    params = trt.TrtConversionParams(precision_mode=trt.TrtPrecisionMode.FP16)
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(ctx.out_dir / "saved_model"),
                                        conversion_params=params)
    converter.convert()
    with atomic_dir(path) as tmp:
        converter.save(str(tmp))
    return {"precision_mode": "FP16"}

