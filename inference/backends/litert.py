"""LiteRT (TFLite) CPU backend with XNNPACK, via ai-edge-litert (never tf.lite, which is deprecated).

``ai_edge_litert.interpreter.Interpreter`` applies the XNNPACK delegate by default. The delegation check
(``delegation_report``) reads the interpreter's node list after ``allocate_tensors``: each delegated
partition appears as one extra ``DELEGATE`` node whose inputs are the partition's inputs. The whole graph
runs under XNNPACK exactly when there is one such node, its inputs are only the model inputs and constant
tensors, and it produces the model outputs; any op left to the reference kernels (SHAPE, PACK,
STRIDED_SLICE from a dynamic batch, say) would sit on an intermediate tensor crossing that boundary.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np

from inference.backends.base import (
    BackendUnavailableError,
    BrokenRuntimeError,
    SegBackend,
    check_device,
    package_version,
    read_model_file,
    resolve_for,
    runtime_message,
)
from inference.backends.versions import import_runtime
from inference.cpu import default_threads
from inference.native_output import native_stderr_to_log
from inference.wording import plural

log = logging.getLogger(__name__)

#: when no variant is asked for: the float model first, as before the export issue (eval-seg, nomogram
#: fitting and the tests compare against it); ``--backend auto`` names the faster variants explicitly.
PREFERENCE = ("tflite-fp32", "tflite-int8", "tflite-int8-qat", "tflite-fp16")
TFLITE_IDENTIFIER = b"TFL3"


def check_flatbuffer(path: Path, content: bytes | None = None) -> None:
    """Cheap structural check before the runtime parses the file (it verifies the flatbuffer itself too);
    ``content``: the file's bytes when already read."""
    if content is None:
        with open(path, "rb") as handle:
            head = handle.read(8)
    else:
        head = content[:8]
    if len(head) < 8 or head[4:8] != TFLITE_IDENTIFIER:
        raise BackendUnavailableError(f"{path.name}: not a TFLite flatbuffer (file identifier {head[4:8]!r}); "
                                      "the file is corrupted or of another format")


def open_interpreter(path: Path, threads: int, delegates=None, content: bytes | None = None):
    """A LiteRT interpreter with tensors allocated; typed error for files the runtime rejects. ``content``: the
    file's bytes as read (and verified) by the caller; the interpreter then parses those, not the file again."""
    import_runtime("ai_edge_litert")  # missing, too old: named; the package imports no native code itself, so:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except Exception as exc:  # noqa: BLE001 (a native extension can fail to load with any exception type)
        raise BrokenRuntimeError(f"ai-edge-litert is installed but its interpreter cannot be loaded "
                                 f"({type(exc).__name__}: {exc})") from exc
    check_flatbuffer(path, content)
    source = {"model_path": str(path)} if content is None else {"model_content": content}
    try:
        with native_stderr_to_log(log, f"LiteRT loading {path.name}"):
            interp = Interpreter(**source, num_threads=threads, experimental_delegates=delegates)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise BackendUnavailableError(f"{path.name}: LiteRT cannot load the model ({runtime_message(exc)})") from exc
    return interp


def delegation_report(interp) -> dict:
    """Op counts and whether every op runs inside one XNNPACK partition (see the module docstring)."""
    ops = interp._get_ops_details()  # noqa: SLF001 (the public API has no execution-plan view)
    delegates = [op for op in ops if op["op_name"] == "DELEGATE"]
    model_ops = [op for op in ops if op["op_name"] != "DELEGATE"]
    producer = {int(t): op for op in model_ops for t in op["outputs"]}
    inputs = {d["index"] for d in interp.get_input_details()}
    outputs = {d["index"] for d in interp.get_output_details()}
    boundary_in = {int(t) for d in delegates for t in d["inputs"]} & (set(producer) - inputs)
    boundary_out = {int(t) for d in delegates for t in d["outputs"]}
    # ops the interpreter still runs itself: producers of partition inputs or of outputs no partition
    # produces, and, transitively, whatever feeds them from outside a partition
    pending = [producer[t] for t in boundary_in | (outputs - boundary_out) if t in producer]
    leftover: dict[int, str] = {}
    while pending:
        op = pending.pop()
        if op["index"] in leftover:
            continue
        leftover[op["index"]] = op["op_name"]
        pending.extend(producer[int(t)] for t in op["inputs"] if int(t) in producer and int(t) not in boundary_out)
    full = len(delegates) == 1 and not leftover
    return {"ops": len(model_ops), "op_counts": dict(sorted(Counter(op["op_name"] for op in model_ops).items())),
            "delegate_partitions": len(delegates), "all_ops_delegated": bool(full),
            "undelegated_ops": dict(sorted(Counter(leftover.values()).items())),
            "method": "interpreter node list: DELEGATE nodes' boundary tensors, traced back to the ops that "
                      "produce them outside XNNPACK"}


class LiteRTBackend(SegBackend):
    name = "litert"

    def __init__(self, model_path: Path, *, variant: str | None = None, device: str = "cpu",
                 threads: int | None = None, verify: bool = True) -> None:
        check_device(self.name, device, ("cpu",))
        resolved = resolve_for(self.name, Path(model_path), variant, preference=PREFERENCE, verify=verify)
        self.threads = threads or default_threads()
        self._interp = open_interpreter(resolved.path, self.threads, content=read_model_file(resolved))
        self._in, self._out = self._interp.get_input_details()[0], self._interp.get_output_details()[0]
        shape = self._in["shape"]
        self.max_batch, self.input_size = int(shape[0]), int(shape[1])
        self.model_file, self.integrity = resolved.path.name, resolved.integrity
        self.format_name = resolved.format.name if resolved.format else None
        self.precision = resolved.format.precision if resolved.format else _precision_of(self._interp)
        self.runtime = package_version("ai-edge-litert")
        report = delegation_report(self._interp)
        self.device = "cpu (XNNPACK)" if report["all_ops_delegated"] else (
            f"cpu (XNNPACK partial, {plural(report['delegate_partitions'], 'partition')})")

    def _quantize(self, batch: np.ndarray) -> np.ndarray:
        dtype = self._in["dtype"]
        if dtype == np.float32:
            return np.ascontiguousarray(batch, np.float32)  # set_tensor copies it
        scale, zero = self._in["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(batch / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, out: np.ndarray) -> np.ndarray:
        if self._out["dtype"] == np.float32:
            return out  # get_tensor returned a copy
        scale, zero = self._out["quantization"]
        return (out.astype(np.float32) - zero) * scale

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self.max_batch:
            return np.concatenate([self.predict(batch[i:i + 1]) for i in range(batch.shape[0])])
        self._interp.set_tensor(self._in["index"], self._quantize(batch))
        self._interp.invoke()
        return self._dequantize(self._interp.get_tensor(self._out["index"]))[..., 0]


def _precision_of(interp) -> str:
    """For files no table row names: int8 if any tensor is int8, else fp32."""
    return "int8" if any(t["dtype"] == np.int8 for t in interp.get_tensor_details()) else "fp32"
