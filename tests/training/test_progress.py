"""The training commands' per-patient status line ends before an error message, not under it, and is plain lines
where it cannot be rewritten in place (a log file, a pipe)."""

from __future__ import annotations

import io
import logging

import pytest

from training.progress import PatientProgress


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr in a console does."""

    def isatty(self) -> bool:
        return True


def test_status_line_is_rewritten_and_ended_after_the_last_patient():
    stream = Terminal()
    with PatientProgress("features ", stream) as progress:
        for i, pid in enumerate(("SYN0001", "SYN0002"), 1):
            progress(i, 2, pid)
    assert stream.getvalue() == "\rfeatures [1/2] SYN0001   \rfeatures [2/2] SYN0002   \n"


def test_an_error_mid_loop_leaves_the_line_ended():
    stream = Terminal()
    with pytest.raises(ValueError), PatientProgress("preparing ", stream) as progress:
        progress(1, 3, "SYN0001")
        raise ValueError("SYN0002: no mask file")
    assert stream.getvalue() == "\rpreparing [1/3] SYN0001   \n"  # the CLI's error message goes on the next line


def test_a_stream_that_is_not_a_terminal_gets_plain_lines():
    """A log or pipe got one long line of carriage returns and padding (``^M`` in a log viewer)."""
    stream = io.StringIO()
    with PatientProgress("fitting ", stream) as progress:
        for step, what in enumerate(("a long step name", "short", "short"), 1):
            progress(step, 3, what)
        progress(3, 3, "short")  # the same step again: no second line
    assert stream.getvalue() == "fitting [1/3] a long step name\nfitting [2/3] short\nfitting [3/3] short\n"


def test_a_long_loop_writes_about_a_tenth_of_its_steps_to_a_log():
    stream = io.StringIO()
    with PatientProgress("features ", stream) as progress:
        for i in range(1, 82):
            progress(i, 81, f"SYN{i:04d}")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "features [1/81] SYN0001" and lines[-1] == "features [81/81] SYN0081"
    assert 10 <= len(lines) <= 12 and "\r" not in stream.getvalue()


def test_a_warning_mid_loop_starts_on_a_line_of_its_own():
    stream = Terminal()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        with PatientProgress("features ", stream) as progress:
            progress(1, 3, "SYN0001")
            logging.getLogger("training.test").warning("SYN0001: no T2")
            progress(2, 3, "SYN0002")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "SYN0001   \nSYN0001: no T2\n" in stream.getvalue()
    assert not handler.filters  # the filter goes with the loop
