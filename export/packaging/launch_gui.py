"""Entry script of the bundled windowed executable ``otscc-gui`` (PyInstaller runs it as ``__main__``).

``otscc-gui [PATIENT]`` is ``otscc gui [PATIENT]``. A windowed build has no console: on Windows
``sys.stdout``/``sys.stderr`` are None, so they go to the null device (the GUI logs to its own file).
``-m inference.cli ARGS`` runs the CLI instead (``sys.executable`` is this executable in a frozen build; the
GUI's "Benchmark this device" starts ``sys.executable -m inference.cli benchmark ...``), and
``-m inference.isolation ARGS`` the model test-load the GUI runs in a separate process before loading a model.
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)
    from export.packaging.frozen import run_probe_if_asked
    from inference.cli import main

    args = sys.argv[1:]
    run_probe_if_asked(args)
    sys.exit(main(args[2:] if args[:2] == ["-m", "inference.cli"] else ["gui", *args]))
