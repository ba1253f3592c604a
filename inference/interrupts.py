"""Ctrl+C during native code that calls back into Python.

Python raises KeyboardInterrupt in whatever Python code runs next. During a SimpleITK ``Execute`` that is one of
our observers (progress, cancel): SimpleITK printed the interrupt's traceback and raised a RuntimeError ("There
was an error executing the Python Callable"), which the registration reported as a failure of the patient (exit
code 1; a batch went on to the next patient) instead of stopping. ``ctrl_c_stops`` asks the native loop to stop
and raises the interrupt once it has returned.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def ctrl_c_stops(stop: Callable[[], None]) -> Iterator[None]:
    """Within the block, Ctrl+C calls ``stop()`` (e.g. ``StopRegistration``) and is raised as KeyboardInterrupt
    when the block ends.

    Only in the main thread and while Python's own SIGINT handler is in place: elsewhere (the GUI's worker
    threads, a program with its own handler) the block runs as it is.

    Raises:
        KeyboardInterrupt: Ctrl+C was pressed within the block.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    pressed: list[int] = []

    def handler(signum, frame) -> None:
        pressed.append(signum)
        stop()

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pressed:
        raise KeyboardInterrupt
