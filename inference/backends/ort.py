"""ONNX Runtime backend: the float ONNX file on the CPU, or on CUDA/TensorRT execution providers where the
installed onnxruntime build has them (``onnxruntime-gpu``) and a GPU is present.

Providers are always named explicitly: ONNX Runtime silently falls back to the CPU when a GPU provider
fails to start, so the session's actual providers are checked, and a remote provider (Azure) is never
used: the runtime stays offline. ``disable_telemetry_events()`` is called before any session (ONNX Runtime
only emits telemetry on Windows builds, where it is on by default).

Before the session is created the file is scanned (``onnx_scan.checked_onnx``): a model whose external data
or own path leads out of its folder is refused with ``ModelIntegrityError`` and never reaches the runtime. The
session parses the bytes that were scanned, hashed again against the manifest's digest right before (a file
replaced after the manifest check is refused); a model that keeps external data is opened by path instead, as
ONNX Runtime reads those files itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.backends.base import (
    BackendUnavailableError,
    SegBackend,
    check_device,
    package_version,
    read_model_file,
    resolve_for,
    runtime_message,
)
from inference.backends.onnx_scan import checked_onnx
from inference.backends.versions import import_runtime
from inference.cpu import default_threads

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def _load_errors(ort) -> tuple[type[BaseException], ...]:
    """ONNX Runtime's own exception types (they derive from ``Exception``, not ``RuntimeError``)."""
    state = ort.capi.onnxruntime_pybind11_state
    names = ("Fail", "InvalidArgument", "InvalidGraph", "InvalidProtobuf", "NoSuchFile", "NoModel", "EngineError",
             "RuntimeException", "NotImplemented", "EPFail")
    return (RuntimeError, ValueError, OSError, *(getattr(state, n) for n in names if hasattr(state, n)))


class OnnxRuntimeBackend(SegBackend):
    name = "onnxruntime"

    def __init__(self, model_path: Path, *, variant: str | None = None, device: str = "cpu",
                 threads: int | None = None, verify: bool = True) -> None:
        check_device(self.name, device, ("cpu", "gpu"))
        ort = import_runtime("onnxruntime")
        ort.disable_telemetry_events()
        providers = self._providers(ort, device)
        resolved = resolve_for(self.name, Path(model_path), variant, verify=verify)
        data = read_model_file(resolved)
        # the runtime parses the bytes that were hashed and scanned; a model with external data must be opened
        # by path (ONNX Runtime finds those files beside it), and its data files were scanned for location only
        source = str(resolved.path) if checked_onnx(resolved.path, data).external else data
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if device == "cpu":
            self.threads = threads or default_threads()
            options.intra_op_num_threads, options.inter_op_num_threads = self.threads, 1
        try:
            self._session = ort.InferenceSession(source, options, providers=providers)
        except _load_errors(ort) as exc:
            raise BackendUnavailableError(
                f"{resolved.path.name}: ONNX Runtime cannot load the model ({runtime_message(exc)})") from exc
        active = self._session.get_providers()
        if device == "gpu" and active[0] not in GPU_PROVIDERS:
            raise BackendUnavailableError(f"GPU providers did not start (session runs on {', '.join(active)})")
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        batch, size = inp.shape[0], inp.shape[1]
        self._fixed = isinstance(batch, int)
        self.max_batch = batch if self._fixed else 8
        self.input_size = size if isinstance(size, int) else 256
        self.model_file, self.integrity = resolved.path.name, resolved.integrity
        self.format_name = resolved.format.name if resolved.format else None
        self.precision = resolved.format.precision if resolved.format else "fp32"
        self.runtime = package_version("onnxruntime") if device == "cpu" else package_version("onnxruntime-gpu")
        self.device = "cpu" if device == "cpu" else f"gpu ({active[0]})"

    @staticmethod
    def _providers(ort, device: str) -> list[str]:
        if device == "cpu":
            return ["CPUExecutionProvider"]
        available = ort.get_available_providers()
        gpu = [p for p in GPU_PROVIDERS if p in available]
        if not gpu:
            raise BackendUnavailableError("this onnxruntime build has no CUDA/TensorRT provider (has: "
                                          f"{', '.join(available)}); install onnxruntime-gpu on an NVIDIA machine")
        return [*gpu, "CPUExecutionProvider"]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] > self.max_batch or (self._fixed and batch.shape[0] != self.max_batch):
            return _in_chunks(self.predict, batch, self.max_batch)
        out = self._session.run(None, {self._input_name: np.ascontiguousarray(batch, np.float32)})[0]
        return np.asarray(out, np.float32)[..., 0]


def _in_chunks(predict, batch: np.ndarray, step: int) -> np.ndarray:
    """Run a batch in chunks of exactly ``step`` slices (the last one zero-padded) for fixed-batch models."""
    out = []
    for start in range(0, batch.shape[0], step):
        chunk = batch[start:start + step]
        n = chunk.shape[0]
        if n < step:
            chunk = np.concatenate([chunk, np.zeros((step - n, *chunk.shape[1:]), chunk.dtype)])
        out.append(predict(chunk)[:n])
    return np.concatenate(out)
