"""Start-up adjustments of the bundled executables (imported by ``launch_cli.py`` and ``launch_gui.py`` only).

``qt_environment`` stands in for PySide6's run-time hook in the console executable (see there).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def qt_environment() -> None:
    """What PyInstaller's PySide6 run-time hook sets, without importing Qt (the console executable leaves the
    hook out: it imported QtCore in every command). Qt finds its plugins from ``QT_PLUGIN_PATH``; PySide6's
    wheels relocate the rest themselves (their QtCore registers its own ``qt.conf``)."""
    root = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    qt = root / "PySide6" if sys.platform == "win32" else root / "PySide6" / "Qt"
    os.environ.setdefault("QT_PLUGIN_PATH", str(qt / "plugins"))
    if sys.platform == "win32":  # Qt's plugins find the Qt DLLs beside them
        os.environ["PATH"] = os.pathsep.join([str(root), os.environ.get("PATH", "")])


#: the name of the windowed executable; on Linux a symbolic link to the console one (``spec.link_gui_alias``)
GUI_EXECUTABLE = "otscc-gui"


def gui_alias(argv0: str) -> bool:
    """Whether the console executable was started by the GUI's name (``argv[0]``; ``.exe`` ignored)."""
    name = Path(argv0).name
    return (name[:-4] if name.lower().endswith(".exe") else name) == GUI_EXECUTABLE


def run_probe_if_asked(args: list[str]) -> None:
    """``-m inference.isolation ARGS``: the GUI's model test-load in a separate process (both launchers answer
    it, since ``sys.executable`` is whichever of them started the GUI). Exits when asked, else returns."""
    if args[:2] == ["-m", "inference.isolation"]:
        from inference.isolation import main as probe_main

        sys.exit(probe_main(args[2:]))
