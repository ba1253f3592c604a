"""Entry script of the bundled console executable ``otscc`` (PyInstaller runs it as ``__main__``).

The same CLI as the ``otscc`` console script of a pip install. ``-m inference.cli`` in front of the
arguments is dropped: in a frozen build ``sys.executable`` is this executable, so code that starts
``sys.executable -m inference.cli ...`` (the GUI's "Benchmark this device") reaches the CLI too.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # no-op unless a library starts worker processes
    from export.packaging.frozen import qt_environment, run_probe_if_asked, use_persistent_matplotlib_cache
    from inference.cli import main

    use_persistent_matplotlib_cache()
    qt_environment()  # this executable runs without PySide6's run-time hook (build.spec)

    args = sys.argv[1:]
    run_probe_if_asked(args)
    if args[:2] == ["-m", "inference.cli"]:
        args = args[2:]
    sys.exit(main(args))
