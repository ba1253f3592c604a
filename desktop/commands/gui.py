"""``otscc gui [PATIENT]``: open the desktop viewer, optionally on a patient folder.

Qt and the viewer are imported only when the command runs; the GUI path never imports TensorFlow.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from inference.backends.base import BACKENDS

    parser.add_argument("patient", metavar="PATIENT", nargs="?", default=None,
                        help="patient folder to open at start (default: none, open one from the File menu)")
    parser.add_argument("--backend", default=None, choices=["auto", *BACKENDS],
                        help="segmentation backend (default: the last one chosen in Settings, else auto)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the backend (default: the last one chosen in Settings, else the "
                             "backend's choice)")


def run(args: argparse.Namespace) -> int:
    from desktop.app import run as run_app

    return run_app(args.patient, backend=args.backend, threads=args.threads)
