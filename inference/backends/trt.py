"""Native TensorRT engine backend (``model_int8.engine`` / ``model_fp16.engine``) on an NVIDIA GPU.

Needs the ``tensorrt`` Python package and ``cuda-python`` (device buffers); an engine only runs on the GPU
model and TensorRT version it was built with, so engines are built on the machine that runs them
(``otscc export --formats tensorrt-fp16,tensorrt-int8 --cohort DIR``: the int8 engine is calibrated on slices of
the training cohort). Not exercised on the development machine (no NVIDIA GPU): the ``gpu``-marked tests cover it
where one exists.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from inference.backends.base import (
    BackendUnavailableError,
    SegBackend,
    check_device,
    package_version,
    read_model_file,
    resolve_for,
)

PREFERENCE = ("tensorrt-int8", "tensorrt-fp16")


def cuda_runtime():
    """cuda-python's runtime module and the number of CUDA devices; typed error with the reason otherwise."""
    module = None
    for name in ("cuda.bindings.runtime", "cuda.cudart"):
        try:
            module = importlib.import_module(name)
            break
        except ImportError:
            continue
    if module is None:
        raise BackendUnavailableError("cuda-python is not installed (needed for TensorRT device buffers)")
    err, count = module.cudaGetDeviceCount()
    if int(err) != 0 or count == 0:
        raise BackendUnavailableError(f"no NVIDIA GPU (cudaGetDeviceCount: {err}, {count} devices)")
    return module


def _check(result):
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise BackendUnavailableError(f"CUDA call failed: {err}")
    return rest[0] if len(rest) == 1 else rest


class TensorRTBackend(SegBackend):
    name = "tensorrt"

    def __init__(self, model_path: Path, *, variant: str | None = None, device: str = "gpu",
                 threads: int | None = None, verify: bool = True) -> None:
        check_device(self.name, device, ("gpu",))
        try:
            trt = importlib.import_module("tensorrt")
        except ImportError as exc:
            raise BackendUnavailableError(f"tensorrt is not installed ({exc})") from exc
        self._cuda = cuda_runtime()
        resolved = resolve_for(self.name, Path(model_path), variant, preference=PREFERENCE, verify=verify)
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._engine = runtime.deserialize_cuda_engine(read_model_file(resolved))
        if self._engine is None:
            raise BackendUnavailableError(f"{resolved.path.name}: TensorRT cannot deserialize the engine (built for "
                                          "another GPU or TensorRT version? rebuild it with `otscc export`)")
        self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        inputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self._in, self._out = inputs[0], next(n for n in names if n not in inputs)
        self._in_shape = tuple(self._engine.get_tensor_shape(self._in))
        self._out_shape = tuple(self._engine.get_tensor_shape(self._out))
        self.max_batch, self.input_size = int(self._in_shape[0]), int(self._in_shape[1])
        self._buffers = {}
        for tensor, shape in ((self._in, self._in_shape), (self._out, self._out_shape)):
            ptr = _check(self._cuda.cudaMalloc(int(np.prod(shape)) * 4))
            self._buffers[tensor] = ptr
            self._context.set_tensor_address(tensor, int(ptr))
        self._stream = _check(self._cuda.cudaStreamCreate())
        self.model_file, self.integrity = resolved.path.name, resolved.integrity
        self.format_name = resolved.format.name if resolved.format else None
        self.precision = resolved.format.precision if resolved.format else "fp16"
        self.runtime = package_version("tensorrt")
        props = _check(self._cuda.cudaGetDeviceProperties(0))
        self.device = f"gpu ({props.name.decode() if isinstance(props.name, bytes) else props.name})"

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self.max_batch:
            return np.concatenate([self.predict(batch[i:i + 1]) for i in range(batch.shape[0])])
        cuda = self._cuda
        host_in = np.ascontiguousarray(batch, np.float32)
        host_out = np.empty(self._out_shape, np.float32)
        _check(cuda.cudaMemcpy(self._buffers[self._in], host_in.ctypes.data, host_in.nbytes,
                               cuda.cudaMemcpyKind.cudaMemcpyHostToDevice))
        self._context.execute_async_v3(int(self._stream))
        _check(cuda.cudaStreamSynchronize(self._stream))
        _check(cuda.cudaMemcpy(host_out.ctypes.data, self._buffers[self._out], host_out.nbytes,
                               cuda.cudaMemcpyKind.cudaMemcpyDeviceToHost))
        return host_out.reshape(self.max_batch, self.input_size, self.input_size)

    def close(self) -> None:
        for ptr in getattr(self, "_buffers", {}).values():
            self._cuda.cudaFree(ptr)
        self._buffers = {}
