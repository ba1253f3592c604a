"""Entry script of the bundled console executable ``otscc`` (PyInstaller runs it as ``__main__``).

The same CLI as the ``otscc`` console script of a pip install. ``-m inference.cli`` in front of the
arguments is dropped: in a frozen build ``sys.executable`` is this executable, so code that starts
``sys.executable -m inference.cli ...`` (the GUI's "Benchmark this device") reaches the CLI too.

On Linux ``otscc-gui`` is a symbolic link to this executable (``build.spec``: console and windowed builds
differ only on Windows and macOS, and each executable carried its own 14 MB module archive): called by that
name it is ``otscc gui [PATIENT]``, as ``launch_gui.py`` is elsewhere.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # no-op unless a library starts worker processes
    from export.packaging.frozen import gui_alias, qt_environment, run_probe_if_asked
    from inference.cli import main

    qt_environment()  # this executable runs without PySide6's run-time hook (build.spec)

    args = sys.argv[1:]
    run_probe_if_asked(args)
    if args[:2] == ["-m", "inference.cli"]:
        args = args[2:]
    elif gui_alias(sys.argv[0]):
        args = ["gui", *args]
    sys.exit(main(args))
