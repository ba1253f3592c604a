"""Native libraries' stderr chatter goes to the log, not the terminal; stderr is always restored."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from inference.native_output import KEEP_ENV, native_stderr_to_log

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("test.native")
NATIVE_LINE = re.compile(r"^(INFO|WARNING|ERROR): \[|^E0000|^W0000|^Warning: Couldn't load|DestroyAccelerator", re.M)


def test_fd2_output_is_logged_not_shown(capfd, caplog, monkeypatch):
    monkeypatch.delenv(KEEP_ENV, raising=False)
    caplog.set_level(logging.DEBUG, logger="test.native")
    with native_stderr_to_log(log, "a runtime"):
        os.write(2, b"ERROR: [delegate.cc:1] no adapters found\n")
    os.write(2, b"after the block\n")
    err = capfd.readouterr().err
    assert "no adapters found" not in err and "after the block" in err
    assert "a runtime wrote to stderr:\nERROR: [delegate.cc:1] no adapters found" in caplog.text


def test_stderr_is_restored_when_the_block_raises(capfd, monkeypatch):
    monkeypatch.delenv(KEEP_ENV, raising=False)
    with pytest.raises(ValueError), native_stderr_to_log(log, "a runtime"):
        raise ValueError("load failed")
    os.write(2, b"still here\n")
    assert "still here" in capfd.readouterr().err


def test_the_escape_hatch_leaves_stderr_alone(capfd, monkeypatch):
    monkeypatch.setenv(KEEP_ENV, "1")
    with native_stderr_to_log(log, "a runtime"):
        os.write(2, b"shown as is\n")
    assert "shown as is" in capfd.readouterr().err


@pytest.mark.slow
def test_predict_on_the_sample_prints_no_runtime_chatter(tmp_path):
    """``otscc predict`` with ``--backend auto`` (LiteRT's GPU attempt fails here): a clean terminal, and
    the runtimes' lines in the --debug log."""
    env = {k: v for k, v in os.environ.items() if k != KEEP_ENV}
    cmd = [sys.executable, "-m", "inference.cli", "predict", str(ROOT / "assets" / "sample_patient"), "--no-report"]
    quiet = subprocess.run([*cmd, "--out", str(tmp_path / "a")], capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=300)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert not NATIVE_LINE.search(quiet.stderr), quiet.stderr[:2000]
    debug = subprocess.run([*cmd, "--out", str(tmp_path / "b"), "--debug"], capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=300)
    assert debug.returncode == 0 and "wrote to stderr:" in debug.stderr
