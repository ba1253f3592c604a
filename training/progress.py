"""The per-patient status line of the training commands: ``features [3/81] SYN0003`` rewritten in place on
stderr. Used as a context manager, it ends an unfinished line when the loop is left by an error, so the
error message the CLI prints next starts on a line of its own instead of after the last patient's name."""

from __future__ import annotations

import sys
from typing import TextIO


class PatientProgress:
    """``progress(i, n, patient_id)`` callable for ``load_cases``, ``evaluate``, ``feature_table``, ... (and
    ``fit_nomogram``'s steps: ``progress(step, steps, what)``)."""

    def __init__(self, label: str = "", stream: TextIO | None = None) -> None:
        self.label, self.stream, self.open = label, stream, False
        self.width = 0  # the longest line written: a shorter one is padded over its end

    def __call__(self, i: int, n: int, pid: str) -> None:
        stream = self.stream or sys.stderr
        line = f"{self.label}[{i}/{n}] {pid}"
        stream.write(f"\r{line.ljust(self.width)}   " + ("" if i < n else "\n"))
        self.width = max(self.width, len(line))
        stream.flush()
        self.open = i < n

    def close(self) -> None:
        """End the status line if a patient's name is still on it."""
        if self.open:
            stream = self.stream or sys.stderr
            stream.write("\n")
            stream.flush()
            self.open = False

    def __enter__(self) -> PatientProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
