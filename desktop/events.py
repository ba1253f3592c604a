"""A minimal Qt-free event: models emit, views connect (the napari ``EventedModel`` idea, without Qt).

Models in ``desktop/`` stay importable and testable without a QApplication; Qt views subscribe to their
events and only redraw. Callbacks run synchronously in the emitting thread, so models are changed from
the GUI thread only (workers hand their results back through Qt signals first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """A list of callbacks called with the emitted arguments, in connection order."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``callback(*args)`` on every ``emit``; returns it so it can be used as a decorator."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)


class Events:
    """A named group of events: ``Events("cursor", "mask").cursor.connect(...)``."""

    def __init__(self, *names: str) -> None:
        for name in names:
            setattr(self, name, Event(name))
