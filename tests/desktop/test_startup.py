"""``otscc gui`` starts fast, without TensorFlow, through the real CLI (in a fresh interpreter)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]

# Runs `otscc gui` in a child interpreter; the window closes itself once shown and the child prints what
# it measured: seconds from interpreter start to the window shown, and whether TensorFlow was imported.
CHILD = r"""
import json, sys, time
start = time.perf_counter()
from PySide6.QtCore import QTimer
import desktop.app as app_module
from inference.cli import main

measured = {}
create = app_module.create_window

def create_and_close(**kwargs):
    window = create(**kwargs)
    def shown():
        measured["open_s"] = time.perf_counter() - start
        measured["tensorflow"] = "tensorflow" in sys.modules
        measured["visible"] = window.isVisible()
        window.close()
    QTimer.singleShot(0, shown)
    return window

app_module.create_window = create_and_close
code = main(["gui", "--backend", "auto", "--threads", "1"])
measured["exit_code"] = code
print("RESULT " + json.dumps(measured))
"""


def test_gui_command_opens_without_tensorflow(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OTSCC_EDGE_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, f"no result (rc {proc.returncode}): {proc.stderr[-2000:]}"
    result = json.loads(line.removeprefix("RESULT "))
    assert result["exit_code"] == 0 and result["visible"] and proc.returncode == 0, proc.stderr[-2000:]
    assert result["tensorflow"] is False
    # The goal is < 3 s (docs/gui.md: ~1.5-2.6 s measured on the 2-core dev machine); a loaded CI machine
    # gets a margin so this stays a regression guard rather than a flaky timer.
    assert result["open_s"] < 6.0, result
    assert (tmp_path / "otscc-edge.log").is_file()


def test_gui_module_imports_no_tensorflow():
    proc = subprocess.run([sys.executable, "-c", "import sys, desktop.app, desktop.main_window, desktop.benchmark; "
                           "print('tensorflow' in sys.modules, 'export' in sys.modules)"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


def test_gui_command_arguments():
    from desktop.commands.gui import add_arguments
    from inference.backends.base import BACKENDS

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.patient, args.backend, args.threads) == (None, None, None)
    args = parser.parse_args(["some/patient", "--backend", next(iter(BACKENDS)), "--threads", "2"])
    assert args.patient == "some/patient" and args.threads == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["--backend", "no-such-backend"])


@pytest.mark.parametrize(("environ", "platform", "refused"), [
    ({}, "linux", True),
    ({"DISPLAY": ":0"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),  # tests, headless screenshots
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({}, "win32", False),
    ({}, "darwin", False),
])
def test_gui_without_a_display_says_so_instead_of_a_qt_abort(environ, platform, refused):
    from desktop.commands.gui import display_problem

    problem = display_problem(environ, platform)
    assert (problem is not None) == refused
    if refused:
        assert problem.startswith("no display found") and "xvfb-run" in problem


def test_gui_command_without_a_display_exits_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "inference.cli", "gui"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line, no Qt abort or traceback
    assert done.stderr.startswith("otscc gui: error: no display found")
