"""Backend interface, registry and ``--backend auto`` selection.

A backend turns a batch of model-grid slices ``(B, S, S, 3)`` float32 in [0, 1] into probabilities
``(B, S, S)``. Runtimes are imported only when their backend is created (``importlib``), so the runtime
package never needs TensorFlow unless the Keras (or TF-TRT) backend is asked for.

``select_backend("auto")`` walks ``AUTO_ORDER``: accelerators first (they free the CPU and are faster
where present), then the CPU variants in the order measured on the development machine
(docs/export.md: LiteRT int8 under XNNPACK was the fastest CPU variant that passed validation, ahead of
OpenVINO int8, LiteRT fp32, ONNX Runtime fp32 and Keras). Each candidate must load and pass a one-slice
self-check; every candidate passed over leaves a note saying why (shown in results and the GUI).

A candidate whose file fails its integrity check (``ModelIntegrityError``: SHA-256 differs from the manifest,
or external data outside the model folder) is never passed over: the run stops with that error, under
``auto`` as for a named backend. A changed shipped file means a broken or altered install; falling back
would hide it behind another variant's result.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.errors import ModelIntegrityError, OtsccError
from inference.formats import FORMATS, formats_for, get_format
from inference.wording import plural

log = logging.getLogger(__name__)


class BackendUnavailableError(OtsccError):
    """The runtime is not installed or cannot run this model here; the message says why."""


class BrokenRuntimeError(BackendUnavailableError):
    """The runtime is installed but cannot be used: it fails to load, or it is older than the oldest tested version.
    ``--backend auto`` passes over it like a missing one; ``otscc self-test`` reports it as a failure (a broken
    install of a product dependency), not a skip."""


class UnknownBackendError(BackendUnavailableError):
    """``--backend`` names no backend or format: a usage error (exit 2, as argparse's own)."""

    exit_code = 2


class VariantNotExportedError(BackendUnavailableError):
    """The variant's model file is not in the model folder: it was not exported there. Not a limit of this machine,
    so a named format says so instead of "cannot run here". ``formats``: the format names looked for, in the order
    the backend tried them (empty when not known)."""

    def __init__(self, message: str = "", *args, formats: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(message, *args, **kwargs)
        self.formats = tuple(formats)


class NotValidatedOnThisCPU(BackendUnavailableError):
    """The variant runs here, but this CPU computes it in a way its validation did not cover (e.g. OpenVINO int8
    without VNNI instructions); it is not used here."""


#: the GPU/NPU parts of the runtimes, as globs inside their packages (any platform's file name): the files a
#: CPU-only bundle leaves out (``make bundle-cpu``, ``export.packaging.spec.CPU_ONLY_DROP``)
GPU_PARTS = {
    ("openvino", "GPU"): ("libs/*openvino_intel_gpu_plugin*", "OpenVINO GPU plugin", "the Intel GPU"),
    ("openvino", "NPU"): ("libs/*openvino_intel_npu_plugin*", "OpenVINO NPU plugin", "the Intel NPU"),
    ("ai_edge_litert", "GPU"): ("*LiteRtWebGpuAccelerator*", "LiteRT GPU accelerator library", "the GPU"),
}


def check_gpu_part(package: str, device: str) -> None:
    """Raise when the installation lacks the runtime's part for ``device`` (a CPU-only bundle), so the user is
    told that rather than "no device"."""
    pattern, what, target = GPU_PARTS[(package, device)]
    if not any(Path(importlib.import_module(package).__file__).parent.glob(pattern)):
        raise BackendUnavailableError(f"this installation has no {what} (a CPU-only bundle, `make bundle-cpu`); "
                                      f"install the full one for {target}")


class SegBackend(ABC):
    """One loaded model on one runtime. Create once, reuse for every patient."""

    name: str = "?"  #: registry key
    runtime: str = "?"  #: library and version, e.g. ``ai-edge-litert 2.3.0``
    device: str = "cpu"  #: cpu | gpu | npu (and the device's name where the runtime gives one)
    format_name: str | None = None  #: row of ``inference.formats.FORMATS``
    precision: str = "fp32"
    model_file: str | None = None
    integrity: str = "not checked"  #: how the model file was checked against the manifest
    threads: int | None = None
    input_size: int = 256
    fov_mm: float = 160.0  #: mm across the input (``manifest.model_fov_mm``; set by ``load_backend``)
    max_batch: int = 1

    @abstractmethod
    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (B, S, S) for a float32 batch (B, S, S, 3)."""

    def predict_stack(self, stack: np.ndarray, progress=None, cancelled=None) -> np.ndarray:
        """Run a whole (z, S, S, 3) stack in batches the runtime accepts."""
        out = np.empty(stack.shape[:3], np.float32)
        step = max(1, self.max_batch)
        for start in range(0, stack.shape[0], step):
            if cancelled is not None and cancelled():
                raise InterruptedError("segmentation cancelled")
            out[start:start + step] = self.predict(np.ascontiguousarray(stack[start:start + step], np.float32))
            if progress is not None:
                progress(min(1.0, (start + step) / stack.shape[0]))
        return out

    def describe(self) -> dict:
        """What runs: backend, runtime, format, precision, device, model file and its integrity check."""
        return {"backend": self.name, "runtime": self.runtime, "format": self.format_name,
                "precision": self.precision, "device": self.device, "model_file": self.model_file,
                "integrity": self.integrity, "threads": self.threads, "input_size": self.input_size,
                "fov_mm": self.fov_mm}

    def summary(self) -> str:
        """One line, e.g. ``tflite-int8 on litert (cpu, 2 threads)``."""
        threads = f", {plural(self.threads, 'thread')}" if self.threads else ""
        return f"{self.format_name or self.model_file} on {self.name} ({self.device}{threads})"

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release runtime resources."""


#: backend name -> "module:Class"
BACKENDS = {
    "litert": "inference.backends.litert:LiteRTBackend",
    "litert-gpu": "inference.backends.litert_gpu:LiteRTGpuBackend",
    "onnxruntime": "inference.backends.ort:OnnxRuntimeBackend",
    "openvino": "inference.backends.ov:OpenVINOBackend",
    "tensorrt": "inference.backends.trt:TensorRTBackend",
    "tf-trt": "inference.backends.tftrt:TFTRTBackend",
    "keras": "inference.backends.keras:KerasBackend",
}


@dataclass(frozen=True)
class Candidate:
    """One ``--backend auto`` try: a backend, optionally pinned to a variant and a device."""

    backend: str
    variant: str | None = None
    device: str = "cpu"
    options: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def where(self) -> str:
        """The backend and device, each named once: ``litert (cpu)``."""
        return f"{self.backend} ({self.device})"

    @property
    def label(self) -> str:
        """How notes name this try: ``tflite-int8 on litert (cpu)``, or ``litert-gpu (gpu)`` when the backend picks
        its own format (it read "litert-gpu on litert-gpu (gpu)")."""
        return f"{self.variant} on {self.where}" if self.variant and self.variant != self.backend else self.where


#: ``--backend auto`` tries these in order (see the module docstring for why).
AUTO_ORDER: tuple[Candidate, ...] = (
    Candidate("tensorrt", device="gpu"),
    Candidate("litert-gpu", device="gpu"),
    Candidate("onnxruntime", "onnx", device="gpu"),
    Candidate("openvino", device="gpu"),
    Candidate("openvino", device="npu"),
    Candidate("tf-trt", device="gpu"),
    Candidate("litert", "tflite-int8"),
    Candidate("litert", "tflite-int8-qat"),
    Candidate("openvino", "openvino-int8"),
    Candidate("litert", "tflite-fp32"),
    Candidate("onnxruntime", "onnx"),
    Candidate("keras"),
)


def self_check(backend: SegBackend) -> None:
    """One synthetic slice: output of shape (1, S, S), finite, within [0, 1].

    Raises:
        BackendUnavailableError: the backend loaded but does not produce usable probabilities.
    """
    size = backend.input_size
    yy, xx = np.mgrid[0:size, 0:size] / max(1, size - 1)
    slice_ = np.stack([0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy), xx, yy], axis=-1).astype(np.float32)
    try:
        out = np.asarray(backend.predict(slice_[None]))
    except (RuntimeError, ValueError, TypeError, MemoryError) as exc:
        raise BackendUnavailableError(f"self-check failed: inference raised {type(exc).__name__}: {exc}") from exc
    if out.shape != (1, size, size):
        raise BackendUnavailableError(f"self-check failed: output shape {out.shape}, expected (1, {size}, {size})")
    if not np.all(np.isfinite(out)):
        raise BackendUnavailableError("self-check failed: output has NaN/inf")
    if out.min() < -1e-4 or out.max() > 1 + 1e-4:
        raise BackendUnavailableError(f"self-check failed: output outside [0, 1] ({out.min():.3g}..{out.max():.3g})")


def select_backend(name: str = "auto", model_path: str | Path | None = None, *,
                   threads: int | None = None) -> tuple[SegBackend, list[str]]:
    """The backend to run: ``name`` itself, or for ``"auto"`` the first of ``AUTO_ORDER`` that works.

    Args:
        name: ``"auto"``, a backend name (``BACKENDS``) or a format name (``tflite-int8``: the first of its
            runtimes that works, e.g. ``tflite-fp16`` on the GPU, else on the CPU, with a note).
        model_path: model folder (default: the shipped model).
        threads: CPU threads for CPU runtimes (default: the runtime's choice, at most 4).

    Returns:
        (backend, notes): notes say which candidates were passed over and why (shown in results and the GUI).

    Raises:
        BackendUnavailableError: the named backend (or every auto candidate) cannot run here.
        ModelIntegrityError: a model file tried (named or auto) does not match the manifest; no fallback.
    """
    from inference.assets import DEFAULT_SEG_MODEL

    model_path = Path(model_path) if model_path is not None else DEFAULT_SEG_MODEL
    options = {"threads": threads} if threads else {}
    if name == "auto":
        candidates = AUTO_ORDER
    elif name in BACKENDS:
        try:
            return _checked(load_backend(name, model_path, **options)), []
        except VariantNotExportedError as exc:  # "tf_trt is missing" alone did not say what to do
            raise backend_not_exported(name, model_path, exc) from exc
    elif name in {f.name for f in FORMATS}:  # a format: its runtimes in table order (fp16: GPU, then CPU)
        candidates = tuple(Candidate(runtime, name, _default_device(runtime)) for runtime in get_format(name).runtimes)
        return _first_working(candidates, model_path, options, named=name)
    else:
        valid = ", ".join(dict.fromkeys(["auto", *BACKENDS, *(f.name for f in FORMATS)]))  # keras, tf-trt: both
        raise UnknownBackendError(f"unknown backend {name!r}; choose from {valid}")
    return _first_working(candidates, model_path, options)


def _first_working(candidates: tuple[Candidate, ...], model_path: Path, options: dict, *,
                   named: str | None = None) -> tuple[SegBackend, list[str]]:
    """The first candidate that loads and passes the self-check.

    A ``ModelIntegrityError`` (a file differs from its manifest, or would make the runtime read outside the
    model folder) stops the walk, under ``auto`` too: a changed shipped file means a damaged or altered
    install, which must be seen and repaired, not hidden behind another variant's result.

    Args:
        candidates: what to try, in order.
        model_path: model folder.
        options: constructor options for every candidate.
        named: the format the user asked for (``--backend openvino-int8``), None under ``auto``. When none of its
            runtimes works, the error says that this format cannot run here and why ("no backend can run here"
            read as if nothing at all could run), and keeps the reason's type (``NotValidatedOnThisCPU``).

    Raises:
        BackendUnavailableError: no candidate works; the message has every candidate's reason.
    """
    notes: list[str] = []
    errors: list[BackendUnavailableError] = []
    for candidate in candidates:
        try:
            backend = load_backend(candidate.backend, model_path, variant=candidate.variant,
                                   device=candidate.device, **options, **candidate.options)
            return _checked(backend), notes
        except ModelIntegrityError as exc:
            log.error("backend %s refused, not falling back to another variant: %s", candidate.label, exc)
            raise
        except BackendUnavailableError as exc:
            notes.append(f"{candidate.label} unavailable: {exc}")
            errors.append(exc)
            log.info("backend %s skipped: %s", candidate.label, exc)
    if named is None:
        raise BackendUnavailableError("no backend can run here: " + "; ".join(notes))
    kinds = {type(exc) for exc in errors}
    kind = kinds.pop() if len(kinds) == 1 else BackendUnavailableError
    if kind is VariantNotExportedError:  # its file is not there: nothing to do with this machine
        raise not_exported(named, model_path, errors)
    if len(errors) == 1:
        raise kind(f"{named} cannot run here on {candidates[0].where}: {errors[0]}")  # the format named once
    raise kind(f"{named} cannot run here: " + "; ".join(notes))


def not_exported(variant: str, model_path: str | Path, errors: list[VariantNotExportedError], *,
                 label: str | None = None) -> VariantNotExportedError:
    """The error for a variant whose file is not in the model folder, naming the export command: one wording for
    ``otscc predict --backend FORMAT`` and ``otscc benchmark`` (whose row said "no such model file or folder").

    Args:
        variant: the format name (``tflite-fp16``).
        model_path: the model folder looked in.
        errors: each runtime's ``VariantNotExportedError`` ("model_fp16.tflite is missing from DIR (not exported)").
        label: what the user named, when not the format (``--backend onnxruntime``); default ``variant``.
    """
    missing = "; ".join(dict.fromkeys(str(exc) for exc in errors))  # each runtime looked for the same file
    return VariantNotExportedError(f"{label or variant}: {missing}; export it first "
                                   f"({export_command(model_path, variant)})", formats=(variant,))


def backend_not_exported(backend: str, model_path: str | Path,
                         error: VariantNotExportedError) -> VariantNotExportedError:
    """The error for ``--backend NAME`` when no variant that backend runs is in the model folder: the backend and the
    folder named once, the files in the order the backend looked for them, and the export of the one it tries first
    (it read "tflite-fp32: model_fp32.tflite is missing from DIR (not exported); model_int8.tflite is missing from
    DIR ...": a format the user did not name, and the folder once per file).

    Args:
        backend: the backend name (``litert``).
        model_path: the model folder looked in.
        error: the backend's ``VariantNotExportedError``, its ``formats`` in the backend's order of preference.
    """
    formats = error.formats or tuple(row.name for row in formats_for(backend))
    if len(formats) == 1:  # one file: the format's own wording, under the backend's name
        return not_exported(formats[0], model_path, [error], label=backend)
    files = ", ".join(get_format(name).file for name in formats)
    return VariantNotExportedError(f"{backend}: no variant it runs is in {model_path} (looked for {files}: not "
                                   f"exported); export one first ({export_command(model_path, formats[0])})",
                                   formats=formats)


def export_command(model_path: str | Path, variant: str) -> str:
    """The ``otscc export`` command that writes ``variant`` into the model folder (from its float reference)."""
    return f"otscc export --model {model_path} --out {model_path} --formats {variant} --cohort DIR"


def _checked(backend: SegBackend) -> SegBackend:
    try:
        self_check(backend)
    except BackendUnavailableError:
        backend.close()
        raise
    return backend


def _default_device(runtime: str) -> str:
    return "gpu" if runtime in ("litert-gpu", "tensorrt", "tf-trt") else "cpu"


def load_backend(name: str, model_path: str | Path, **options) -> SegBackend:
    """Create a backend by name for a model folder (or file). Options go to the backend's constructor.

    Common options: ``variant`` (format name), ``device`` (cpu | gpu | npu), ``threads``, ``verify``
    (check the manifest hash, default True).
    """
    if name not in BACKENDS:
        raise BackendUnavailableError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    from inference.backends.manifest import model_fov_mm

    module_name, cls_name = BACKENDS[name].split(":")
    module = importlib.import_module(module_name)
    backend = getattr(module, cls_name)(Path(model_path), **{k: v for k, v in options.items() if v is not None})
    backend.fov_mm = model_fov_mm(model_path)  # the grid the model was trained and validated on
    return backend


def resolve_for(backend: str, model_path: Path, variant: str | None, *, preference=None, verify: bool = True):
    """``manifest.resolve_model`` with its "nothing usable" signal turned into ``BackendUnavailableError``."""
    from inference.backends.manifest import VariantNotExported, VariantUnavailable, resolve_model

    try:
        return resolve_model(model_path, backend, variant, preference=preference, verify=verify)
    except VariantNotExported as exc:
        raise VariantNotExportedError(str(exc), formats=exc.formats) from exc
    except VariantUnavailable as exc:
        raise BackendUnavailableError(str(exc)) from exc


def read_model_file(resolved, path: Path | None = None) -> bytes:
    """``resolved.read(path)`` (the bytes the manifest's digest covers) with an unreadable file turned into
    ``BackendUnavailableError``; a changed file stays ``ModelIntegrityError``."""
    try:
        return resolved.read(path)
    except OSError as exc:
        name = (path or resolved.path).name
        raise BackendUnavailableError(f"{name}: cannot read the model ({runtime_message(exc)})") from exc


def runtime_message(exc: BaseException, limit: int = 300) -> str:
    """A runtime's error text fit for a one-line message: whitespace collapsed, length capped, and anything
    unprintable replaced (parsers of corrupted files echo raw bytes of the file)."""
    text = str(exc).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_device(backend: str, device: str, supported: tuple[str, ...]) -> None:
    if device not in supported:
        raise BackendUnavailableError(f"{backend} runs on {', '.join(supported)}, not {device}")


def package_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{dist} {version(dist)}"
    except PackageNotFoundError:
        return dist
