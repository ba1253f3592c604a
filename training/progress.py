"""The per-patient status line of the training commands: ``features [3/81] SYN0003`` rewritten in place on
stderr. Used as a context manager, it ends an unfinished line when the loop is left by an error, so the
error message the CLI prints next starts on a line of its own instead of after the last patient's name.

On a stream that is not a terminal (a log file, a pipe, CI) nothing can be rewritten in place: there ``\\r`` and
the padding made one long line of ``^M`` and spaces. Such a stream gets plain lines instead, one per step, and for
a long loop (more than ``PLAIN_LINES_UP_TO`` steps) only the first, the last and about every tenth.
"""

from __future__ import annotations

import logging
import math
import sys
from typing import TextIO

#: a loop of at most this many steps gets a plain line per step on a stream that is not a terminal
PLAIN_LINES_UP_TO = 20


class PatientProgress:
    """``progress(i, n, patient_id)`` callable for ``load_cases``, ``evaluate``, ``feature_table``, ... (and
    ``fit_nomogram``'s steps: ``progress(step, steps, what)``).

    While used as a context manager, a log record written to the same stream (a warning mid-loop) first ends an
    open status line, so it starts on a line of its own.
    """

    def __init__(self, label: str = "", stream: TextIO | None = None) -> None:
        self.label, self.stream, self.open = label, stream, False
        self.width = 0  # the longest line written: a shorter one is padded over its end
        self.last: tuple[int, int] | None = None  # the step last written on a stream that is not a terminal
        self._handlers: list[logging.Handler] = []

    def __call__(self, i: int, n: int, pid: str) -> None:
        stream = self._stream()
        line = f"{self.label}[{i}/{n}] {pid}"
        if not _is_terminal(stream):
            if (i, n) != self.last and (n <= PLAIN_LINES_UP_TO or i in (1, n) or i % math.ceil(n / 10) == 0):
                stream.write(f"{line}\n")
                stream.flush()
                self.last = (i, n)
            return
        stream.write(f"\r{line.ljust(self.width)}   " + ("" if i < n else "\n"))
        self.width = max(self.width, len(line))
        stream.flush()
        self.open = i < n

    def close(self) -> None:
        """End the status line if a patient's name is still on it."""
        if self.open:
            stream = self._stream()
            stream.write("\n")
            stream.flush()
            self.open = False

    def _stream(self) -> TextIO:
        return self.stream or sys.stderr  # looked up late: tests and the GUI replace sys.stderr

    def _end_line_first(self, record: logging.LogRecord) -> bool:
        """A logging filter: end the status line before the record is written; never drops it."""
        self.close()
        return True

    def __enter__(self) -> PatientProgress:
        stream = self._stream()
        self._handlers = [h for h in logging.getLogger().handlers if getattr(h, "stream", None) is stream]
        for handler in self._handlers:
            handler.addFilter(self._end_line_first)
        return self

    def __exit__(self, *exc) -> None:
        for handler in self._handlers:
            handler.removeFilter(self._end_line_first)
        self._handlers = []
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
