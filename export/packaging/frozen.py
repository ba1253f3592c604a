"""Start-up adjustments of the bundled executables (imported by ``launch_cli.py`` and ``launch_gui.py`` only).

PyInstaller's matplotlib run-time hook points ``MPLCONFIGDIR`` at a fresh temporary folder in every
process, so each ``report.pdf`` would rebuild matplotlib's font cache (measured +0.2-0.4 s per ``predict``).
``use_persistent_matplotlib_cache`` points it at a per-user cache folder instead, as a pip install has.
``qt_environment`` stands in for PySide6's run-time hook in the console executable (see there).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_root() -> Path:
    """The per-user cache folder of the platform (``~/.cache``, ``%LOCALAPPDATA%``, ``~/Library/Caches``)."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def use_persistent_matplotlib_cache() -> None:
    """Point ``MPLCONFIGDIR`` at ``<cache>/otscc-edge/matplotlib`` (kept as is when that cannot be created)."""
    folder = cache_root() / "otscc-edge" / "matplotlib"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only or missing home: the temporary folder of the run-time hook still works
        return
    os.environ["MPLCONFIGDIR"] = str(folder)


def qt_environment() -> None:
    """What PyInstaller's PySide6 run-time hook sets, without importing Qt (the console executable leaves the
    hook out: it imported QtCore in every command). Qt finds its plugins from ``QT_PLUGIN_PATH``; PySide6's
    wheels relocate the rest themselves (their QtCore registers its own ``qt.conf``)."""
    root = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    qt = root / "PySide6" if sys.platform == "win32" else root / "PySide6" / "Qt"
    os.environ.setdefault("QT_PLUGIN_PATH", str(qt / "plugins"))
    if sys.platform == "win32":  # Qt's plugins find the Qt DLLs beside them
        os.environ["PATH"] = os.pathsep.join([str(root), os.environ.get("PATH", "")])


def run_probe_if_asked(args: list[str]) -> None:
    """``-m inference.isolation ARGS``: the GUI's model test-load in a separate process (both launchers answer
    it, since ``sys.executable`` is whichever of them started the GUI). Exits when asked, else returns."""
    if args[:2] == ["-m", "inference.isolation"]:
        from inference.isolation import main as probe_main

        sys.exit(probe_main(args[2:]))
