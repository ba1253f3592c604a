"""Keep native libraries' console chatter out of a clinician's terminal.

LiteRT writes ~35 lines to the process's stderr (file descriptor 2, below Python) while ``--backend auto``
tries the GPU accelerator on a machine without one: "INFO: [environment.cc:36] ...", "Warning: Couldn't load
Vulkan", "ERROR: [delegate_webgpu.cc:359] Failed to initialize WebGPU environment", a glog "E0000 ..." line.
None of it is an error of the run: the fallback and its reason are in result.json and the GUI's status
line. ``native_stderr_to_log`` sends fd 2 to a temporary file for the duration of such a call and logs what
was written at DEBUG level (``--debug`` shows it; the GUI log keeps it).

Set ``OTSCC_NATIVE_STDERR=1`` to leave stderr alone (for debugging the runtimes themselves).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading

KEEP_ENV = "OTSCC_NATIVE_STDERR"
MAX_LOGGED = 64 * 1024

# fd 2 is one per process: two threads redirecting it at once would restore each other's copy
_lock = threading.RLock()


@contextlib.contextmanager
def native_stderr_to_log(logger: logging.Logger, what: str):
    """Redirect file descriptor 2 into the log (DEBUG) while the block runs; always restored."""
    if os.environ.get(KEEP_ENV) == "1":
        yield
        return
    with _lock:
        redirect = _open_redirect()
        if redirect is None:  # no stderr (a windowed Windows program) or no temporary file: leave it be
            yield
            return
        saved, sink = redirect
        try:
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            _flush()
            os.dup2(saved, 2)
            os.close(saved)
            with sink:
                sink.seek(0)
                text = sink.read(MAX_LOGGED).decode("utf-8", "replace").strip()
            if text:
                logger.debug("%s wrote to stderr:\n%s", what, text)


def _open_redirect():
    try:
        _flush()
        saved = os.dup(2)
    except OSError:
        return None
    try:
        return saved, tempfile.TemporaryFile()
    except OSError:
        os.close(saved)
        return None


def _flush() -> None:
    with contextlib.suppress(Exception):  # a closed or replaced sys.stderr must not break a backend load
        sys.stderr.flush()
