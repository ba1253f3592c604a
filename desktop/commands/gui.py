"""``otscc gui [PATIENT]``: open the desktop viewer, optionally on a patient folder.

Qt and the viewer are imported only when the command runs; the GUI path never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import sys

from inference.commands import THREADS_HELP, thread_count
from inference.errors import OtsccError


class NoDisplayError(OtsccError):
    """The GUI was asked for where no display can be reached."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from inference.backends.base import BACKENDS

    parser.add_argument("patient", metavar="PATIENT", nargs="?", default=None,
                        help="patient folder to open at start (default: none, open one from the File menu)")
    parser.add_argument("--backend", default=None, choices=["auto", *BACKENDS],
                        help="segmentation backend (default: the last one chosen in Settings, else auto)")
    parser.add_argument("--threads", type=thread_count, default=None,
                        help=f"CPU threads for the backend; {THREADS_HELP} (default: the last one chosen in "
                             "Settings, else the backend's choice)")


def display_problem(environ=os.environ, platform: str = sys.platform) -> str | None:
    """Why no window can open here (Linux without an X11 or Wayland display), or None. Qt would otherwise abort
    the process with "Reinstalling the application may fix this problem", which it would not."""
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM", "") not in ("", "xcb", "wayland"):
        return None  # Windows/macOS, or a platform plugin the user chose (offscreen, vnc, ...)
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display found (DISPLAY and WAYLAND_DISPLAY are not set): run otscc gui in a desktop session, over "
            "ssh -X, or under xvfb-run; `otscc predict` needs no display")


def run(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem is not None:
        raise NoDisplayError(problem)
    from desktop.app import run as run_app

    return run_app(args.patient, backend=args.backend, threads=args.threads)
