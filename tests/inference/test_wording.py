"""Counts in user-facing lines read in their number ("1 thread", not "1 threads")."""

from __future__ import annotations

import numpy as np
import pytest

from inference.backends.base import SegBackend
from inference.wording import plural


class _Backend(SegBackend):
    name, format_name = "litert", "tflite-int8"

    def predict(self, batch):
        return np.zeros(batch.shape[:3], np.float32)


@pytest.mark.parametrize(("count", "expected"), [(0, "0 runs"), (1, "1 run"), (2, "2 runs"), (-1, "-1 run")])
def test_plural(count, expected):
    assert plural(count, "run") == expected


def test_plural_of_an_irregular_noun():
    assert plural(1, "entry", "entries") == "1 entry" and plural(5, "entry", "entries") == "5 entries"


@pytest.mark.parametrize(("threads", "expected"), [(1, "tflite-int8 on litert (cpu, 1 thread)"),
                                                   (2, "tflite-int8 on litert (cpu, 2 threads)"),
                                                   (None, "tflite-int8 on litert (cpu)")])
def test_backend_summary_counts_its_threads(threads, expected):
    """``--threads 1`` read "(cpu, 1 threads)" in the GUI's status bar and the CLI's output."""
    backend = _Backend()
    backend.threads = threads
    assert backend.summary() == expected
