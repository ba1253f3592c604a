"""OpenVINO backend: the NNCF int8 IR (or the float ONNX file) on the CPU, or on an Intel GPU/NPU where
OpenVINO sees one.

Telemetry: the OpenVINO runtime (``openvino.Core``) sends nothing; its Python tools (``ovc`` /
``openvino.convert_model``) and NNCF do, through the ``openvino-telemetry`` package, which treats a
missing consent file as consent when the tool disables its opt-in dialog (NNCF and ovc both do).
``disable_openvino_telemetry()`` turns that off for this process without writing to the user's home:
it sets ``NNCF_CI`` (NNCF then installs its no-op telemetry stub), makes the consent check answer
"declined" (no client-ID or statistics files are created) and replaces the sender with a no-op, so not
even a "forced" event leaves the machine. The backend calls it before creating a ``Core``; the exporter
calls it before importing NNCF or ovc.

Files: an IR's ``.xml`` and ``.bin`` are named explicitly and both checked to stay inside the model folder (no
symlink out of it); the ONNX file is scanned for external data first (``onnx_scan``), as for ONNX Runtime.
OpenVINO parses the files' bytes as read and hashed again against the manifest's digests right before
(``read_model(xml_bytes, Tensor(bin_bytes))``; a file replaced after the manifest check is refused), except an
ONNX file that keeps external data, which is opened by path.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from inference.backends.base import (
    GPU_PARTS,
    BackendUnavailableError,
    NotValidatedOnThisCPU,
    SegBackend,
    check_device,
    check_gpu_part,
    package_version,
    read_model_file,
    resolve_for,
    runtime_message,
)
from inference.backends.onnx_scan import checked_onnx, confine
from inference.backends.versions import import_runtime
from inference.cpu import cpu_info, default_threads
from inference.formats import get_format

log = logging.getLogger(__name__)

PREFERENCE = ("openvino-int8", "onnx")
DEVICES = {"cpu": "CPU", "gpu": "GPU", "npu": "NPU"}


def disable_openvino_telemetry() -> bool:
    """Stop OpenVINO's Python tools and NNCF from sending telemetry (this process and its children).

    Returns:
        True when openvino-telemetry is installed and was switched off (False: not installed, nothing to do).
    """
    os.environ["NNCF_CI"] = "1"  # read once, when nncf.telemetry is first imported: NNCF uses its stub
    try:
        from openvino_telemetry.utils import opt_in_checker, sender
    except ImportError:
        return False
    declined = opt_in_checker.ConsentCheckResult.DECLINED
    opt_in_checker.OptInChecker.check = lambda self, *args, **kwargs: declined
    sender.TelemetrySender.send = lambda self, *args, **kwargs: None
    try:
        from openvino_telemetry import main
    except ImportError:
        return True
    existing = getattr(main.Telemetry, "_SingletonMetaClass__single_instance", None)
    if existing is not None:  # created before we were called (e.g. by an earlier import)
        existing.consent = False
    return True


def model_files(path: Path) -> tuple[str, ...]:
    """The files ``read_model`` needs for ``path``, checked to stay inside its folder (symlinks resolved).

    An IR is read with its weights named explicitly (``openvino_int8.xml`` + ``openvino_int8.bin``), never
    the runtime's own guess.

    Raises:
        ModelIntegrityError: the file or its weights lead out of the model folder.
        BackendUnavailableError: the IR's weights file is missing.
    """
    folder = path.parent
    confine(path, folder)
    if path.suffix.lower() != ".xml":
        return (str(path),)
    weights = path.with_suffix(".bin")
    confine(weights, folder, "OpenVINO weights file")
    if not weights.is_file():
        raise BackendUnavailableError(f"{path.name}: its weights file {weights.name} is missing; reinstall the "
                                      "model folder or re-run `otscc export`")
    return str(path), str(weights)


def read_model_args(resolved, ov) -> tuple:
    """``read_model`` arguments for a resolved variant: the very bytes that were hashed against the manifest
    (an ONNX file also scanned for external data first, ``onnx_scan``; one that keeps external data is read by
    path, as OpenVINO must find those files beside it).

    Raises:
        ModelIntegrityError: a file leads out of the model folder or changed after it was verified.
        BackendUnavailableError: a file is missing or unreadable, or not an ONNX file.
    """
    paths = [Path(p) for p in model_files(resolved.path)]
    data = [read_model_file(resolved, p) for p in paths]
    if len(data) == 1:
        return (str(paths[0]),) if checked_onnx(paths[0], data[0]).external else (data[0],)
    return data[0], ov.Tensor(np.frombuffer(data[1], np.uint8))


#: OpenVINO's int8 kernels on an x86 CPU without a VNNI dot product (AVX2 only: most laptops) compute a different
#: mask: measured on a 2-core AVX2 EPYC, 41 held-out patients, mean mask Dice vs the float model 0.940 (min 0.00)
#: against 0.988 with AVX-512 VNNI, below export validation's 0.95 (docs/export.md). LiteRT's int8 passes there.
INT8_ISA = ("AVX512VNNI", "avx512_vnni", "avx_vnni", "amx_int8")
_NO_VNNI_LIMITS = ("SSE41", "AVX", "AVX2")  # ONEDNN_MAX_CPU_ISA values that keep oneDNN off its VNNI kernels


def int8_dot_product() -> str | None:
    """The CPU's VNNI-class int8 instruction set as detected (numpy's CPU dispatch or /proc/cpuinfo), or
    None: no such instructions found, or oneDNN was limited below them (``ONEDNN_MAX_CPU_ISA``)."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in _NO_VNNI_LIMITS:
        return None
    return cpu_info().has(*INT8_ISA)


class OpenVINOBackend(SegBackend):
    name = "openvino"

    def __init__(self, model_path: Path, *, variant: str | None = None, device: str = "cpu",
                 threads: int | None = None, verify: bool = True, precision_hint: str | None = None) -> None:
        """``precision_hint``: OpenVINO's INFERENCE_PRECISION_HINT on the CPU (f32, bf16, default); None: f32
        for float variants, OpenVINO's default for int8 ones."""
        check_device(self.name, device, tuple(DEVICES))
        disable_openvino_telemetry()
        ov = import_runtime("openvino")
        core = ov.Core()
        target = self._device(core, device)
        no_int8 = device == "cpu" and int8_dot_product() is None
        preference = tuple(n for n in PREFERENCE if get_format(n).precision != "int8") if no_int8 else PREFERENCE
        resolved = resolve_for(self.name, Path(model_path), variant, preference=preference, verify=verify)
        if no_int8 and resolved.format is not None and resolved.format.precision == "int8":
            raise NotValidatedOnThisCPU(
                f"{resolved.path.name} is validated only on CPUs with VNNI int8 instructions (AVX512-VNNI, AVX-VNNI "
                f"or AMX); this CPU has none (or ONEDNN_MAX_CPU_ISA limits oneDNN below them), and on such a CPU "
                f"its masks differed from the float model's (mean mask Dice 0.940 < 0.95 on 41 held-out "
                f"patients); the float ONNX model or LiteRT int8 runs here")
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if device == "cpu":
            self.threads = threads or default_threads()
            config["INFERENCE_NUM_THREADS"] = self.threads
            # OpenVINO runs "fp32" models in bf16 on CPUs with AVX512-BF16/AMX unless told otherwise: the
            # float variant must stay float32 to be the peer it claims to be. ``precision_hint="default"``
            # leaves OpenVINO's own choice (bf16 there) for every variant.
            if precision_hint is None and resolved.format is not None and resolved.format.precision == "fp32":
                precision_hint = "f32"
            if precision_hint not in (None, "default"):
                config["INFERENCE_PRECISION_HINT"] = precision_hint
        model_args = read_model_args(resolved, ov)
        try:
            model = core.read_model(*model_args)
            self._compiled = core.compile_model(model, target, config)
        except RuntimeError as exc:
            raise BackendUnavailableError(f"{resolved.path.name}: OpenVINO cannot load the model on {target} "
                                          f"({runtime_message(exc)})") from exc
        self._request = self._compiled.create_infer_request()
        shape = self._compiled.input(0).get_partial_shape()
        self.max_batch = shape[0].get_length() if shape[0].is_static else 8
        self.input_size = shape[1].get_length() if shape[1].is_static else 256
        self.model_file, self.integrity = resolved.path.name, resolved.integrity
        self.format_name = resolved.format.name if resolved.format else None
        self.precision = resolved.format.precision if resolved.format else "fp32"
        self.runtime = package_version("openvino")
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT") if device == "cpu" else None
        hint = getattr(hint, "get_type_name", lambda: hint)()
        name = core.get_property(target, "FULL_DEVICE_NAME")
        self.device = f"{device} ({name}{f', compute {hint}' if hint is not None else ''})"

    @staticmethod
    def _device(core, device: str) -> str:
        wanted = DEVICES[device]
        found = [d for d in core.available_devices if d.split(".")[0] == wanted]
        if not found:
            if ("openvino", wanted) in GPU_PARTS:
                check_gpu_part("openvino", wanted)
            raise BackendUnavailableError(f"OpenVINO sees no {wanted} device (available: "
                                          f"{', '.join(core.available_devices) or 'none'})")
        return found[0]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self.max_batch and self.max_batch == 1:
            return np.concatenate([self.predict(batch[i:i + 1]) for i in range(batch.shape[0])])
        result = self._request.infer({0: np.ascontiguousarray(batch, np.float32)})
        return np.asarray(result[self._compiled.output(0)], np.float32)[..., 0]
