"""Run one ``desktop.engine`` job at a time off the GUI thread; progress, results and errors come back as
Qt signals (queued to the GUI thread), and Cancel sets a flag the pipeline polls between slices/stages."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from inference.errors import CancelledError

log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[str, float], None], Callable[[], bool]], Any]


class _JobThread(QThread):
    progressed = Signal(str, float)
    succeeded = Signal(object)
    failed = Signal(object)
    was_cancelled = Signal()

    def __init__(self, name: str, fn: JobFn, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"job-{name}")
        self.name, self.fn = name, fn
        self.cancel_flag = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        try:
            result = self.fn(self.progressed.emit, self.cancel_flag.is_set)
        except CancelledError:
            log.info("job %s cancelled after %.2f s", self.name, time.perf_counter() - start)
            self.was_cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - the worker boundary: every error goes to the error sink
            self.failed.emit(exc)
        else:
            log.info("job %s done in %.2f s", self.name, time.perf_counter() - start)
            self.succeeded.emit(result)
        finally:
            # The job's closure holds its inputs (a whole prepared patient): drop it now, not when Qt gets
            # round to deleting this thread object (a closed patient stayed in memory until the next job).
            self.fn = None


class JobRunner(QObject):
    """Starts jobs (one at a time) and re-emits their outcome.

    Signals:
        started(name), progress(name, stage, fraction), finished(name, result), failed(name, exception),
        cancelled(name), idle(): after any of the last three.
    """

    started = Signal(str)
    progress = Signal(str, str, float)
    finished = Signal(str, object)
    failed = Signal(str, object)
    cancelled = Signal(str)
    idle = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _JobThread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    @property
    def current(self) -> str | None:
        return None if self._thread is None else self._thread.name

    def start(self, name: str, fn: JobFn) -> bool:
        """Run ``fn(progress, cancelled)`` in a worker thread; False when another job is still running."""
        if self._thread is not None:
            log.info("job %s refused: %s is running", name, self._thread.name)
            return False
        thread = _JobThread(name, fn, self)
        # bound methods of this GUI-thread object: Qt queues the calls to the GUI thread (a lambda would
        # run in the worker thread)
        thread.progressed.connect(self._on_progress)
        thread.succeeded.connect(self._on_succeeded)
        thread.failed.connect(self._on_failed)
        thread.was_cancelled.connect(self._on_cancelled)
        self._thread = thread
        thread.start()
        self.started.emit(name)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next check (between slices or stages)."""
        if self._thread is not None:
            log.info("cancel requested for %s", self._thread.name)
            self._thread.cancel_flag.set()

    def wait(self, ms: int = 30000) -> bool:
        """Cancel and wait for the running job (used when the window closes)."""
        if self._thread is None:
            return True
        self.cancel()
        return self._thread.wait(ms)

    @Slot(str, float)
    def _on_progress(self, stage: str, fraction: float) -> None:
        thread = self.sender()
        if isinstance(thread, _JobThread):
            self.progress.emit(thread.name, stage, fraction)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self._done(self.finished, result)

    @Slot(object)
    def _on_failed(self, exc: object) -> None:
        self._done(self.failed, exc)

    @Slot()
    def _on_cancelled(self) -> None:
        self._done(self.cancelled)

    def _done(self, signal, *args) -> None:
        thread = self.sender()
        if not isinstance(thread, _JobThread):
            return
        thread.wait()  # run() has returned; waiting makes the thread object safe to delete
        if self._thread is thread:
            self._thread = None
        thread.deleteLater()
        signal.emit(thread.name, *args)
        self.idle.emit()
