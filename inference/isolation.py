"""Test-load a model in a separate process first, so a runtime that crashes on a model file cannot take the
app down with it.

A model runtime is native code: a corrupted or crafted model file can make it dereference garbage
(SIGSEGV) or abort, which no ``try`` catches. ``probe_backend`` therefore runs the backend selection
(load + the one-slice self-check of ``inference.backends.select_backend``) in a fresh interpreter started
with ``sys.executable -m inference.isolation`` (never a fork of the calling process, which may hold Qt
threads). Only when the child survives is the model loaded in the calling process:

* a named backend whose child dies by a signal (or hangs past the timeout) raises ``BackendCrashedError``
  naming the backend, the model file and the signal; nothing was loaded in the calling process;
* for ``"auto"`` the crashing candidate is passed over (with a note) and the next one is tried, each time in
  a new child; the result says which name to load in-process so the crasher is never touched there.

Results are cached per process by (requested backend, threads, SHA-256 of the model files): many pipelines
pay the child start once (``probe_seconds`` in docs/reliability/faults.json). Limit: a load-time check on a
synthetic slice; a runtime that crashes only on particular patient data during inference is not caught.

Frozen builds: ``sys.executable`` is the bundle's executable, whose launcher hands ``-m inference.isolation
ARGS`` to ``main(ARGS)``. A child that does not answer the protocol's hello line (a launcher without that
hook) is not a crash: the model is then loaded in-process as before, with a warning in the log.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from inference.commands import positive_int
from inference.errors import BackendCrashedError, CancelledError
from inference.native_output import KEEP_ENV as KEEP_NATIVE_STDERR

log = logging.getLogger(__name__)

PROTOCOL = 1
MODULE = "inference.isolation"
#: the child's first line; anything else on stdout (runtimes print there too) is ignored
MARK = "OTSCC-PROBE "
#: words in a backend note that mark a candidate which crashed the runtime (the GUI warns about those)
CRASH_NOTE = "crashed the runtime"
#: seconds one child may take to load and self-check a model (TensorRT engines build slowly; tests pass less)
DEFAULT_TIMEOUT_S = 180.0
POLL_S = 0.2  # how often a running probe asks whether the caller cancelled
REAP_S = 10.0  # how long to wait for a killed child's pipes to close

_cache: dict[tuple, ProbeResult | BackendCrashedError] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of a probe.

    Attributes:
        requested: what was asked for (``"auto"``, a backend or format name).
        backend: the name to give ``select_backend`` in this process (``requested`` unless a candidate of
            ``"auto"`` crashed, then the name that loads the next working candidate).
        chosen: ``describe()`` of what the child loaded (None: the child found nothing, or raised a typed
            error that loading in this process will raise again with its message).
        notes: candidates passed over, with why (crashes included), when ``backend`` differs from
            ``requested``; otherwise empty (``select_backend`` then writes its own notes).
        seconds: wall time of the child process(es).
        isolated: False when no child could be started (a frozen build without the launcher hook).
    """

    requested: str
    backend: str
    chosen: dict | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    isolated: bool = True
    cached: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class _Limits:
    """How long one probe child may run, and the caller's cancel check."""

    timeout: float = DEFAULT_TIMEOUT_S
    cancelled: Callable[[], bool] | None = None


@dataclass
class _Run:
    """What one child reported."""

    events: list[dict]
    returncode: int | None
    stderr: str
    seconds: float
    timed_out: bool = False
    timeout: float = DEFAULT_TIMEOUT_S

    @property
    def answered(self) -> bool:
        return any(e.get("event") == "hello" for e in self.events)

    @property
    def finished(self) -> bool:
        return any(e.get("event") == "done" for e in self.events)

    def last(self, kind: str) -> dict | None:
        return next((e for e in reversed(self.events) if e.get("event") == kind), None)

    def death(self) -> str:
        """How the child ended, in words (``SIGSEGV``, ``no answer within 180 s...``, ``exit code 3``)."""
        if self.timed_out:
            return f"no answer within {self.timeout:g} s; the child was killed"
        return describe_exit(self.returncode)


def describe_exit(code: int | None) -> str:
    """``SIGSEGV`` for a POSIX signal, ``exception 0xC0000005`` for a Windows crash, else ``exit code N``."""
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    if os.name == "nt" and code >= 0xC0000000:
        return f"exception 0x{code:08X}"
    return f"exit code {code}"


# -- parent side ---------------------------------------------------------------------------------------
def probe_backend(name: str = "auto", model_path: str | Path | None = None, *, threads: int | None = None,
                  timeout: float = DEFAULT_TIMEOUT_S, cancelled: Callable[[], bool] | None = None) -> ProbeResult:
    """Load + self-check the model in a child process; say what is safe to load in this one.

    Args:
        name: ``"auto"``, a backend or a format name (as for ``select_backend``).
        model_path: model folder or file (default: the shipped model).
        threads: CPU threads for the runtime (as for ``select_backend``).
        timeout: seconds one child may take.
        cancelled: polled while a child runs (a few times a second); when it says yes the child is
            killed and ``CancelledError`` raised. Nothing is cached then.

    Returns:
        The result (cached per process by name, threads and the model files' SHA-256).

    Raises:
        BackendCrashedError: the named backend (or, for ``"auto"``, every candidate that could load)
            crashed the runtime; the model was not loaded in this process.
        CancelledError: ``cancelled`` said yes.
    """
    from inference.assets import DEFAULT_SEG_MODEL

    model_path = Path(model_path) if model_path is not None else Path(DEFAULT_SEG_MODEL)
    key = (name, threads, model_digest(model_path))
    with _lock:
        hit = _cache.get(key)
    if hit is None:
        try:
            hit = _probe(name, model_path, threads, _Limits(timeout, cancelled))
        except BackendCrashedError as exc:
            if exc.signal not in TRANSIENT:  # a hang or a kill may be a busy machine: try again next time
                with _lock:
                    _cache[key] = exc
            raise
        if not any(f"({s})" in note for note in hit.notes for s in TRANSIENT):
            with _lock:
                _cache[key] = hit
        return hit
    if isinstance(hit, BackendCrashedError):
        raise BackendCrashedError(str(hit), backend=hit.backend, model=hit.model, signal=hit.signal)
    return replace(hit, cached=True)


#: Child endings that may not be the model's fault (a busy machine, the out-of-memory killer): never cached.
TRANSIENT = ("timeout", "SIGKILL")


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def model_digest(model_path: Path) -> str:
    """SHA-256 of the model file or of a folder's files (names, contents; no previous-*/) and the manifest beside it."""
    from inference.backends.manifest import folder_files
    digest = hashlib.sha256()
    manifest = [m for m in (model_path.parent / "manifest.json",) if m.is_file()]
    for path in [*([model_path] if model_path.is_file() else folder_files(model_path)), *manifest]:
        digest.update(str(path.relative_to(model_path.parent)).encode() + b"\0")
        with contextlib.suppress(OSError), open(path, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _probe(name: str, model_path: Path, threads: int | None, limits: _Limits) -> ProbeResult:
    if name == "auto":
        return _probe_auto(model_path, threads, limits)
    run = _run_child(["--backend", name], model_path, threads, limits)
    if not run.answered:
        return _unisolated(name, run)
    if not run.finished:
        attempt = run.last("try") or {}
        raise _crash_error(name, attempt.get("file") or model_path.name, model_path, run)
    ok = run.last("ok")
    return ProbeResult(name, name, ok["describe"] if ok else None, seconds=run.seconds)


def _probe_auto(model_path: Path, threads: int | None, limits: _Limits) -> ProbeResult:
    """Walk ``AUTO_ORDER`` in children; a crash passes the candidate over and the walk goes on in a new one."""
    skip: list[str] = []
    notes: list[str] = []
    crashes: list[BackendCrashedError] = []
    seconds = 0.0
    while True:
        run = _run_child(["--backend", "auto", *[a for label in skip for a in ("--skip", label)]],
                         model_path, threads, limits)
        seconds += run.seconds
        if not run.answered:
            return _unisolated("auto", run)
        refused = [e for e in run.events if e.get("event") == "refused"]
        notes.extend(f"{e['label']} unavailable: {e['error']}" for e in refused)
        skip.extend(e["label"] for e in refused)  # the next child starts where this one died
        if run.finished:
            break
        attempt = run.last("try")
        if attempt is None:  # died before trying any candidate: not the model's doing
            raise _crash_error("auto", model_path.name, model_path, run)
        crash = _crash_error(attempt["label"], attempt.get("file") or model_path.name, model_path, run)
        log.warning("backend %s crashed the runtime in the probe child: %s", attempt["label"], crash)
        crashes.append(crash)
        notes.append(f"{attempt['label']} {CRASH_NOTE} ({crash.signal}) loading {crash.model}; passed over")
        skip.append(attempt["label"])
    ok = run.last("ok")
    failed = run.last("error")
    if failed is not None and failed.get("type") == "ModelIntegrityError":  # never hidden behind a crash
        from inference.errors import ModelIntegrityError

        raise ModelIntegrityError(failed["error"])
    if not crashes:  # in-process auto walks the same candidates and none of them crashes
        return ProbeResult("auto", "auto", ok["describe"] if ok else None, seconds=seconds)
    if ok is None:
        raise BackendCrashedError("no backend can run here: " + "; ".join(notes), backend=crashes[0].backend,
                                  model=crashes[0].model, signal=crashes[0].signal)
    name, probe_seconds = _name_for(ok, model_path, threads, limits)
    seconds += probe_seconds
    if name is None:
        raise BackendCrashedError(
            f"{'; '.join(notes)}; {ok['label']} works but cannot be chosen without the crashing candidate: "
            f"choose backend {ok['backend']} in Settings > Backend.",
            backend=crashes[0].backend, model=crashes[0].model, signal=crashes[0].signal,
            cli_hint=f"(On the command line: --backend {ok['backend']}.)")
    return ProbeResult("auto", name, ok["describe"], tuple(notes), seconds)


def _name_for(ok: dict, model_path: Path, threads: int | None, limits: _Limits) -> tuple[str | None, float]:
    """A ``select_backend`` name that loads candidate ``ok`` (checked in a child: no crash, same file)."""
    seconds = 0.0
    for name in dict.fromkeys(n for n in (ok.get("variant"), ok.get("backend")) if n):
        try:
            result = _probe(name, model_path, threads, limits)
        except BackendCrashedError:
            continue
        seconds += result.seconds
        got, want = result.chosen or {}, ok["describe"]
        if (got.get("backend"), got.get("model_file")) == (want.get("backend"), want.get("model_file")):
            return name, seconds
    return None, seconds


def _unisolated(name: str, run: _Run) -> ProbeResult:
    log.warning("model not test-loaded in a separate process (the child did not answer: %s; %s); loading it "
                "in-process", run.death(), _tail(run.stderr) or "no output")
    return ProbeResult(name, name, None, seconds=run.seconds, isolated=False)


def _crash_error(label: str, model_file: str, model_path: Path, run: _Run) -> BackendCrashedError:
    how = run.death()
    sig = "timeout" if run.timed_out else how
    where = model_path if model_path.is_dir() else model_path.parent
    verb = "hung" if run.timed_out else "crashed"
    log.error("probe child for %s on %s ended: %s; stderr: %s", label, model_file, how, _tail(run.stderr))
    return BackendCrashedError(
        f"the model runtime {verb} ({how}) while {label} loaded {model_file} from {where}; the model was not "
        "loaded in otscc-edge (it was test-loaded in a separate process, so nothing else is affected). The "
        "file is probably damaged: reinstall the model folder, or choose another backend (Settings > Backend).",
        backend=label, model=model_file, signal=sig,
        cli_hint="(On the command line: re-run `otscc export`, or choose another backend with --backend.)")


def _tail(text: str, lines: int = 4) -> str:
    """The first lines that say something (faulthandler's "Fatal Python error" and the innermost frame)."""
    kept = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("INFO:")]
    return " | ".join(kept[:lines])[:500]


def child_command(args: list[str]) -> list[str]:
    """The child's command line: this interpreter (or the frozen executable) ``-m inference.isolation``."""
    return [sys.executable, "-m", MODULE, *args]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = Path(__file__).resolve().parent.parent
    if not getattr(sys, "frozen", False) and (root / "pyproject.toml").is_file():
        # a source checkout run from elsewhere: the child must import this very package (an installed one
        # is found anyway, and site-packages must not go ahead of the standard library)
        env["PYTHONPATH"] = os.pathsep.join([str(root), *[p for p in [env.get("PYTHONPATH")] if p]])
    env["PYTHONFAULTHANDLER"] = "1"  # a crash prints the Python stack to stderr (kept in the log)
    env[KEEP_NATIVE_STDERR] = "1"  # this process reads the child's stderr: the runtimes' own lines included
    return env


def _run_child(args: list[str], model_path: Path, threads: int | None, limits: _Limits) -> _Run:
    cmd = child_command([*args, "--model", str(model_path), *(["--threads", str(threads)] if threads else [])])
    start = time.perf_counter()
    posix = os.name == "posix"
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=_child_env(), start_new_session=posix,
                                creationflags=0 if posix else getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except OSError as exc:  # no interpreter to start, no processes left: load in-process (as documented)
        return _Run([], None, f"could not start the probe process: {exc}", time.perf_counter() - start, False,
                    limits.timeout)
    with _lock:
        _live.add(proc)
    try:
        out, err, timed_out = _wait(proc, start, limits, posix)
    finally:
        with _lock:
            _live.discard(proc)
    events = []
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith(MARK):
            with contextlib.suppress(ValueError):
                events.append(json.loads(line[len(MARK):]))
    seconds = time.perf_counter() - start
    log.info("probe child %s: %s in %.2f s", " ".join(args), describe_exit(proc.returncode), seconds)
    return _Run(events, proc.returncode, err.decode("utf-8", "replace"), seconds, timed_out, limits.timeout)


def _wait(proc: subprocess.Popen, start: float, limits: _Limits, posix: bool) -> tuple[bytes, bytes, bool]:
    """The child's output; killed past the timeout (timed out) or when the caller cancels (raises)."""
    try:
        while True:
            left = limits.timeout - (time.perf_counter() - start)
            try:
                out, err = proc.communicate(timeout=max(0.0, min(left, POLL_S if limits.cancelled else left)))
                return out, err, False
            except subprocess.TimeoutExpired:
                if limits.cancelled is not None and limits.cancelled():  # the child is killed below
                    raise CancelledError("cancelled while the model was being test-loaded") from None
                if time.perf_counter() - start >= limits.timeout:
                    _kill(proc, posix)
                    return (*_reap(proc), True)
    except BaseException:  # cancelled, Ctrl-C, a failing cancel check: never leave the child behind
        if proc.poll() is None:
            _kill(proc, posix)
            _reap(proc)
        raise


def _reap(proc: subprocess.Popen, timeout: float = REAP_S) -> tuple[bytes, bytes]:
    """Output of a killed child; gives up on pipes a surviving grandchild still holds (Windows)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pipe in filter(None, (proc.stdout, proc.stderr)):
            pipe.close()
        return b"", b""


_live: set[subprocess.Popen] = set()


@atexit.register
def kill_live_children() -> None:
    """Kill probe children still running (a hung runtime must not outlive the app that started it)."""
    with _lock:
        procs = list(_live)
    for proc in procs:
        _kill(proc, os.name == "posix")


def _kill(proc: subprocess.Popen, posix: bool) -> None:
    if posix:  # the whole session: a runtime may have started helpers that hold the pipes
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()


# -- child side ----------------------------------------------------------------------------------------
def _emit(event: str, **data) -> None:
    sys.stdout.write(MARK + json.dumps({"event": event, **data}, default=str) + "\n")
    sys.stdout.flush()  # the parent must see "try" before a crash


#: SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX (Windows ``SetErrorMode``)
WINDOWS_QUIET_ERROR_MODE = 0x0001 | 0x0002


def quiet_crash_dialogs(kernel32=None) -> bool:
    """Windows: a crashing child dies at once, not behind Error Reporting's unseen dialog. True when set."""
    if kernel32 is None:
        if os.name != "nt":
            return False
        import ctypes

        kernel32 = ctypes.windll.kernel32
    kernel32.SetErrorMode(WINDOWS_QUIET_ERROR_MODE)
    return True


def _child(args: argparse.Namespace) -> int:
    quiet_crash_dialogs()
    _emit("hello", protocol=PROTOCOL, pid=os.getpid())
    from inference.backends.base import AUTO_ORDER, Candidate, load_backend, select_backend, self_check
    from inference.errors import ModelIntegrityError, OtsccError

    model = Path(args.model)
    options = {"threads": args.threads} if args.threads else {}
    if args.backend != "auto":
        _emit("try", label=args.backend, backend=args.backend, file=_file_for(Candidate(args.backend), model))
        try:
            backend, _notes = select_backend(args.backend, model, threads=args.threads)
        except OtsccError as exc:
            _emit("refused", label=args.backend, error=str(exc), type=type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a Python error, not a crash: loading in-process reports it
            _emit("error", label=args.backend, error=str(exc), type=type(exc).__name__)
        else:
            _emit("ok", label=args.backend, backend=backend.name, variant=backend.format_name,
                  describe=backend.describe())
            backend.close()
        _emit("done")
        return 0
    for candidate in AUTO_ORDER:
        if candidate.label in args.skip:
            continue
        _emit("try", label=candidate.label, backend=candidate.backend, file=_file_for(candidate, model))
        try:
            backend = load_backend(candidate.backend, model, variant=candidate.variant, device=candidate.device,
                                   **options, **candidate.options)
            self_check(backend)
        except ModelIntegrityError as exc:  # select_backend never passes over a tampered file: stop here
            _emit("error", label=candidate.label, error=str(exc), type=type(exc).__name__)
            break
        except OtsccError as exc:  # what select_backend passes over (unavailable, self-check failed)
            _emit("refused", label=candidate.label, error=str(exc), type=type(exc).__name__)
            continue
        except Exception as exc:  # noqa: BLE001 - select_backend would raise it: in-process loading reports it
            _emit("error", label=candidate.label, error=str(exc), type=type(exc).__name__)
            break
        _emit("ok", label=candidate.label, backend=candidate.backend, variant=candidate.variant,
              describe=backend.describe())
        backend.close()
        break
    _emit("done")
    return 0


def _file_for(candidate, model: Path) -> str | None:
    """Best guess of the file a candidate loads (for the crash message); None when it cannot tell."""
    if model.is_file():
        return model.name
    import importlib

    from inference.backends.base import BACKENDS, resolve_for
    from inference.errors import OtsccError

    try:
        module = importlib.import_module(BACKENDS[candidate.backend].split(":")[0])
        resolved = resolve_for(candidate.backend, model, candidate.variant,
                               preference=getattr(module, "PREFERENCE", None), verify=False)
    except (OtsccError, ImportError, KeyError, ValueError):
        return None
    return resolved.path.name


def main(argv: list[str] | None = None) -> int:
    """Child entry: ``python -m inference.isolation --backend NAME --model PATH [--threads N] [--skip LABEL]``."""
    parser = argparse.ArgumentParser(prog=MODULE, description="test-load a segmentation model (internal)")
    parser.add_argument("--backend", default="auto", help="backend, format or auto (default: auto)")
    parser.add_argument("--model", required=True, help="model folder or file")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: the runtime's)")
    parser.add_argument("--skip", action="append", default=[], help="auto candidate label to pass over")
    return _child(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
