"""Model runtimes behind one small interface (``SegBackend``). Heavy runtimes are imported lazily."""

from inference.backends.base import BackendUnavailableError, SegBackend, load_backend, select_backend

__all__ = ["BackendUnavailableError", "SegBackend", "load_backend", "select_backend"]
