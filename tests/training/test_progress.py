"""The training commands' per-patient status line ends before an error message, not under it."""

from __future__ import annotations

import io

import pytest

from training.progress import PatientProgress


def test_status_line_is_rewritten_and_ended_after_the_last_patient():
    stream = io.StringIO()
    with PatientProgress("features ", stream) as progress:
        for i, pid in enumerate(("SYN0001", "SYN0002"), 1):
            progress(i, 2, pid)
    assert stream.getvalue() == "\rfeatures [1/2] SYN0001   \rfeatures [2/2] SYN0002   \n"


def test_an_error_mid_loop_leaves_the_line_ended():
    stream = io.StringIO()
    with pytest.raises(ValueError), PatientProgress("preparing ", stream) as progress:
        progress(1, 3, "SYN0001")
        raise ValueError("SYN0002: no mask file")
    assert stream.getvalue() == "\rpreparing [1/3] SYN0001   \n"  # the CLI's error message goes on the next line
