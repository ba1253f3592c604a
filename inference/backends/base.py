"""Backend interface and lookup.

A backend turns a batch of model-grid slices ``(B, S, S, 3)`` float32 in [0, 1] into probabilities
``(B, S, S)``. Runtimes are imported only when their backend is created (``importlib``), so the runtime
package never needs TensorFlow unless the Keras backend is asked for.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from inference.errors import OtsccError

log = logging.getLogger(__name__)


class BackendUnavailableError(OtsccError):
    """The runtime is not installed or cannot run this model here; the message says why."""


class SegBackend(ABC):
    """One loaded model on one runtime. Create once, reuse for every patient."""

    name: str = "?"
    input_size: int = 256
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
        return {"backend": self.name, "input_size": self.input_size}

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release runtime resources."""


#: backend name -> "module:Class"
BACKENDS = {
    "litert": "inference.backends.litert:LiteRTBackend",
    "keras": "inference.backends.keras:KerasBackend",
}


#: ``--backend auto`` tries these in order (the export issue extends the list with accelerated runtimes)
AUTO_ORDER = ("litert",)


def select_backend(name: str = "auto", model_path: str | Path | None = None, *,
                   threads: int | None = None) -> tuple[SegBackend, list[str]]:
    """The backend to run: ``name`` itself, or for ``"auto"`` the first of ``AUTO_ORDER`` that loads.

    Returns:
        (backend, notes): notes say which candidates were skipped and why (shown in results and the GUI).

    Raises:
        BackendUnavailableError: the named backend (or every auto candidate) cannot run here.
    """
    from inference.assets import DEFAULT_SEG_MODEL

    model_path = Path(model_path) if model_path is not None else DEFAULT_SEG_MODEL
    options = {"threads": threads} if threads else {}
    if name != "auto":
        return load_backend(name, model_path, **options), []
    notes: list[str] = []
    for candidate in AUTO_ORDER:
        try:
            return load_backend(candidate, model_path, **options), notes
        except BackendUnavailableError as exc:
            notes.append(f"{candidate} unavailable: {exc}")
            log.info("backend %s skipped: %s", candidate, exc)
    raise BackendUnavailableError("no backend can run here: " + "; ".join(notes))


def load_backend(name: str, model_path: str | Path, **options) -> SegBackend:
    """Create a backend by name for a model file/folder."""
    if name not in BACKENDS:
        raise BackendUnavailableError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    module_name, cls_name = BACKENDS[name].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, cls_name)(Path(model_path), **options)
