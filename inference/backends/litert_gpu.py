"""LiteRT GPU backend: the float16 variant on the ``CompiledModel`` GPU accelerator (OpenCL/WebGPU), or on a
user-supplied GPU delegate library (``delegate=`` option or ``OTSCC_LITERT_GPU_DELEGATE``).

Without a usable GPU, LiteRT fails to create the accelerator; the backend then reports why and
``--backend auto`` moves on. ``accelerator="cpu"`` runs the same CompiledModel path on the CPU (tests use it
to cover the buffer plumbing on machines without a GPU).
"""

from __future__ import annotations

import gc
import logging
import os
import re
from pathlib import Path

import numpy as np

from inference.backends.base import (
    BackendUnavailableError,
    SegBackend,
    check_device,
    check_gpu_part,
    package_version,
    read_model_file,
    resolve_for,
    runtime_message,
)
from inference.backends.litert import check_flatbuffer, delegation_report, open_interpreter
from inference.backends.versions import import_runtime
from inference.native_output import native_stderr_to_log

log = logging.getLogger(__name__)

DELEGATE_ENV = "OTSCC_LITERT_GPU_DELEGATE"


#: LiteRT's error texts are chains of its own source locations ("ERROR: [./litert/cc/litert_compiled_model.h:1961]",
#: "└ ERROR: [litert/runtime/compiled_model.cc:1036]"): nothing a user can act on. They go to the debug log; the
#: message keeps what is left, the cause when LiteRT gave one.
_SOURCE_LOCATION = re.compile(r"\b(?:ERROR|WARNING|INFO)\s*:\s*\[[^\]]*\]"  # ERROR: [file.cc:12]
                              r"|\[[^\]\s]+\.(?:cc|h|cpp|c):\d+\]"  # a bare [file.cc:12]
                              r"|[\u2500-\u257f]")  # box drawing: └ ├ │ ─


def readable_cause(text: str, limit: int = 160) -> str | None:
    """``text`` (a LiteRT error) without its source locations and tree characters, on one line; None when nothing
    else is left."""
    rest = " ".join(_SOURCE_LOCATION.sub(" ", text).split()).strip(" :;,-")
    return runtime_message(RuntimeError(rest), limit) if rest else None


#: what LiteRT's ``load_delegate`` calls in a delegate library (an "external delegate")
DELEGATE_ENTRY_POINTS = ("tflite_plugin_create_delegate", "tflite_plugin_destroy_delegate")


def check_delegate_library(library: str) -> None:
    """Refuse, with the reason, a delegate library LiteRT's ``load_delegate`` would not load. Given a missing file,
    or a library without the external-delegate entry points, LiteRT leaves a half-built ``Delegate`` whose
    ``__del__`` prints an "Exception ignored ... AttributeError" traceback on stderr, even in a run that then
    succeeds on another backend (and a library without the entry points raised a bare AttributeError).

    Raises:
        BackendUnavailableError: the file is missing, cannot be loaded, or is not a delegate library.
    """
    import ctypes

    named = f"GPU delegate {library!r}"
    if ("/" in library or os.sep in library) and not Path(library).is_file():  # a bare name: the loader's search
        raise BackendUnavailableError(f"{named}: no such file; set {DELEGATE_ENV} to the vendor's delegate library")
    try:
        handle = ctypes.CDLL(library)  # loaded once more by LiteRT: the same handle, the library is not run twice
    except OSError as exc:
        raise BackendUnavailableError(f"{named} cannot be loaded ({runtime_message(exc)})") from exc
    missing = [name for name in DELEGATE_ENTRY_POINTS if not hasattr(handle, name)]
    if missing:
        raise BackendUnavailableError(f"{named} is not a TensorFlow Lite delegate library (it has no "
                                      f"{' or '.join(missing)}); set {DELEGATE_ENV} to the vendor's GPU delegate")


class LiteRTGpuBackend(SegBackend):
    name = "litert-gpu"

    def __init__(self, model_path: Path, *, variant: str | None = None, device: str = "gpu",
                 threads: int | None = None, verify: bool = True, delegate: str | None = None,
                 accelerator: str = "gpu") -> None:
        check_device(self.name, device, ("gpu",))
        import_runtime("ai_edge_litert")
        resolved = resolve_for(self.name, Path(model_path), variant, verify=verify)
        content = read_model_file(resolved)  # the bytes the manifest's digest covers; the runtime parses these
        check_flatbuffer(resolved.path, content)
        self.model_file, self.integrity = resolved.path.name, resolved.integrity
        self.format_name = resolved.format.name if resolved.format else None
        self.precision = resolved.format.precision if resolved.format else "fp16"
        self.runtime = package_version("ai-edge-litert")
        self._interp = self._model = self._content = None
        delegate = delegate or os.environ.get(DELEGATE_ENV)
        if delegate:
            self._open_delegate(resolved.path, content, delegate)
        else:
            self._open_compiled(resolved.path, content, accelerator, threads)

    def _open_delegate(self, path: Path, content: bytes, library: str) -> None:
        try:
            from ai_edge_litert.interpreter import load_delegate
        except Exception as exc:  # noqa: BLE001 (a native extension can fail to load with any exception type)
            raise BackendUnavailableError(f"ai-edge-litert's interpreter cannot be loaded ({type(exc).__name__}: "
                                          f"{exc})") from exc

        check_delegate_library(library)
        try:
            handle = load_delegate(library)
        except (ValueError, OSError, RuntimeError) as exc:
            raise BackendUnavailableError(
                f"GPU delegate {library!r} cannot be loaded ({runtime_message(exc)})") from exc
        self._interp = open_interpreter(path, 1, delegates=[handle], content=content)
        if delegation_report(self._interp)["delegate_partitions"] == 0:
            raise BackendUnavailableError(f"GPU delegate {library!r} took no ops of {path.name}")
        self._in, self._out = self._interp.get_input_details()[0], self._interp.get_output_details()[0]
        self.max_batch, self.input_size = int(self._in["shape"][0]), int(self._in["shape"][1])
        self.device = f"gpu (delegate {Path(library).name})"

    def _open_compiled(self, path: Path, content: bytes, accelerator: str, threads: int | None) -> None:
        try:
            from ai_edge_litert.compiled_model import CompiledModel
            from ai_edge_litert.hardware_accelerator import HardwareAccelerator
            from ai_edge_litert.options import CpuOptions, Options
        except Exception as exc:  # noqa: BLE001 (ImportError, or a native extension failing with another type)
            raise BackendUnavailableError(f"this ai-edge-litert has no CompiledModel API ({exc})") from exc
        accel = HardwareAccelerator.GPU if accelerator == "gpu" else HardwareAccelerator.CPU
        options = Options(hardware_accelerators=accel, cpu_options=CpuOptions(num_threads=threads or 0))
        first = None
        with native_stderr_to_log(log, f"LiteRT {accelerator.upper()} accelerator for {path.name}"):
            try:
                self._model = CompiledModel.from_buffer(content, options=options)
                self._content = content  # kept alive with the model: CompiledModel does not hold the buffer itself
            except (RuntimeError, ValueError) as exc:
                first = str(exc)
            if first is not None:  # free the half-built accelerators now, so their teardown lines are caught too
                gc.collect()
        if first is not None:
            if accelerator == "gpu":
                check_gpu_part("ai_edge_litert", "GPU")
            log.debug("LiteRT %s accelerator refused %s: %s", accelerator.upper(), path.name, first)
            cause = readable_cause(first) or "it gave no cause; --debug logs its output"
            raise BackendUnavailableError(
                f"no {accelerator.upper()} accelerator: LiteRT found no usable OpenCL/WebGPU device ({cause}); "
                f"a vendor GPU delegate can be given with {DELEGATE_ENV}=/path/to/lib.so")
        signature = next(iter(self._model.get_signature_list()))
        details = self._model.get_input_tensor_details(signature)
        shape = next(iter(details.values()))["shape"]
        self.max_batch, self.input_size = int(shape[0]), int(shape[1])
        self._inputs, self._outputs = self._model.create_input_buffers(0), self._model.create_output_buffers(0)
        full = self._model.is_fully_accelerated()
        self.device = f"{accelerator} (CompiledModel{'' if full else ', partly on CPU'})"
        self.threads = threads if accelerator == "cpu" else None

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self.max_batch:
            return np.concatenate([self.predict(batch[i:i + 1]) for i in range(batch.shape[0])])
        size = self.input_size
        if self._interp is not None:
            self._interp.set_tensor(self._in["index"], np.ascontiguousarray(batch, np.float32))
            self._interp.invoke()
            return np.asarray(self._interp.get_tensor(self._out["index"])[..., 0], np.float32)  # a copy already
        self._inputs[0].write(np.ascontiguousarray(batch, np.float32))
        self._model.run_by_index(0, self._inputs, self._outputs)
        out = self._outputs[0].read(self.max_batch * size * size, np.float32)
        return np.asarray(out, np.float32).reshape(self.max_batch, size, size)

    def close(self) -> None:
        if self._model is not None:
            self._model.close()
            self._model = self._content = None
