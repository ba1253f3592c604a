"""Model runtimes behind one small interface (``SegBackend``). Heavy runtimes are imported lazily."""

from inference.backends.base import (
    AUTO_ORDER,
    BACKENDS,
    BackendUnavailableError,
    SegBackend,
    load_backend,
    select_backend,
    self_check,
)

__all__ = ["AUTO_ORDER", "BACKENDS", "BackendUnavailableError", "SegBackend", "load_backend", "select_backend",
           "self_check"]
