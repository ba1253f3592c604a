"""The fuzzing harness: one table of targets, a worker process that runs the cases, and the verdict.

Every case must end in a valid result or an ``inference.errors.InputError`` subclass. Anything else is a
failure: another exception type (``crash``), a result that is not usable (``invalid``: NaN voxels,
degenerate geometry, voxels read from outside the patient folder), no answer within the per-case limit
(``hang``), the worker dying (``died``: segfault, abort), or peak memory over the limit (``memory``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from tests.inference.fuzzing.dicoms import build_dicom, dicom_cases
from tests.inference.fuzzing.folders import build_folder, folder_cases
from tests.inference.fuzzing.images import build_nifti, build_text_image, nifti_cases, text_image_cases

REPO = Path(__file__).resolve().parents[3]
RSS_LIMIT_KIB = 1024 * 1024  # 1 GiB
CASE_TIMEOUT_S = 20.0  # generous: make test shares two cores with other jobs
FAILURES = ("crash", "invalid", "hang", "died", "memory")


@dataclass(frozen=True)
class Target:
    """One family of malformed inputs."""

    name: str
    cases: Callable[[], st.SearchStrategy]
    build: Callable[[object, Path], dict]  # writes the case under a fresh folder, returns the worker request
    ci_examples: int  # examples per run in ``make test``
    description: str


TARGETS: tuple[Target, ...] = (
    Target("nifti", nifti_cases, build_nifti, 120,
           "NIfTI-1 .nii/.nii.gz: header fields, bytes, truncation, gzip stream damage"),
    Target("nrrd", lambda: text_image_cases("nrrd"), build_text_image, 120,
           "NRRD .nrrd/.nhdr: header fields (sizes, type, encoding, endian, directions, data file), payload"),
    Target("mha", lambda: text_image_cases("mha"), build_text_image, 120,
           "MetaImage .mha/.mhd: header fields (DimSize, ElementType, ElementDataFile, ...), payload"),
    Target("dicom", dicom_cases, build_dicom, 100,
           "one DICOM series: tag values (geometry, pixel format, transfer syntax, UIDs), byte flips, cuts"),
    Target("folder", folder_cases, build_folder, 50,
           "patient folders: valid and broken series, duplicates, junk, symlinks (loops, outside), FIFOs"),
)


def get_target(name: str) -> Target:
    for target in TARGETS:
        if target.name == name:
            return target
    raise KeyError(f"unknown target {name!r}; choose from {', '.join(t.name for t in TARGETS)}")


class Worker:
    """The child process that runs cases; restarted after a hang, a crash or a memory overrun."""

    def __init__(self, case_timeout: float = CASE_TIMEOUT_S, rss_limit_kib: int = RSS_LIMIT_KIB) -> None:
        self.case_timeout, self.rss_limit_kib = case_timeout, rss_limit_kib
        self.peak_kib = 0  # highest VmHWM of any worker so far
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - the worker's stderr while it lives; see close()
        self._buffer = b""

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        self._log.seek(0)
        self._log.truncate()
        self._buffer = b""
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.inference.fuzzing.worker"], cwd=REPO, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, start_new_session=True,
        )
        ready = self._readline(time.monotonic() + 120)
        if ready is None:
            raise RuntimeError(f"fuzz worker did not start: {self._log_tail()}")
        self.peak_kib = max(self.peak_kib, json.loads(ready)["peak_kib"])

    def _readline(self, deadline: float) -> bytes | None:
        """The next reply line; None on timeout or when the worker closed its end (it died)."""
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=30)  # dying (a core dump takes a while); not a hang
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-1500:]

    def _stop(self) -> int | None:
        if self._proc is None:
            return None
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdin.close()
        proc.stdout.close()
        return proc.wait()

    def close(self) -> None:
        self._stop()
        self._log.close()

    def run(self, request: dict) -> dict:
        """Send one request; the reply's ``outcome`` says how the case ended."""
        if self._proc is None:
            self._start()
        start = time.monotonic()
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self._readline(start + self.case_timeout)
        if line is None:
            alive = self._proc.poll() is None
            tail = self._log_tail()
            code = self._stop()
            self.restarts += 1
            if alive:
                return {"outcome": "hang", "detail": f"no answer after {self.case_timeout:g} s"}
            why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return {"outcome": "died", "detail": f"worker died ({why}): {tail[-600:]}"}
        reply = json.loads(line)
        self.peak_kib = max(self.peak_kib, reply["peak_kib"])
        if reply["peak_kib"] > self.rss_limit_kib:
            self._stop()
            self.restarts += 1
            reply.update(outcome="memory", detail=f"peak RSS {reply['peak_kib'] // 1024} MiB after this case; "
                         f"limit {self.rss_limit_kib // 1024} MiB. " + reply.get("detail", ""))
        return reply


def signature(reply: dict) -> str:
    """What makes two failures the same bug: the outcome and where it happened."""
    outcome = reply["outcome"]
    if outcome == "crash":
        frames = re.findall(r'File "([^"]+)", line (\d+)', reply.get("traceback", ""))
        ours = [f"{Path(f).name}:{n}" for f, n in frames if "/inference/" in f]
        where = ours[-1] if ours else (f"{Path(frames[-1][0]).name}:{frames[-1][1]}" if frames else "?")
        return f"crash {reply['detail'].split(':')[0]} at {where}"
    if outcome == "invalid":
        detail = reply.get("detail", "").split(": ", 1)[-1]
        return "invalid " + re.sub(r"\(.*?\)|'.*?'|[-+]?\d+(\.\d+)?(e[-+]?\d+)?", "#", detail)[:80]
    return outcome


class FuzzFailure(AssertionError):
    """A case that did not end in a valid result or a typed error."""


_FAILURE_TYPES: dict[str, type[FuzzFailure]] = {}


def failure_for(reply: dict) -> FuzzFailure:
    """An exception whose class is unique per failure signature, so Hypothesis reports distinct bugs apart."""
    sig = signature(reply)
    cls = _FAILURE_TYPES.setdefault(sig, type(re.sub(r"\W+", "_", sig)[:60] or "Failure", (FuzzFailure,), {}))
    text = f"{sig}\n{reply.get('detail', '')}\n{reply.get('traceback', '')}"
    return cls(text)


@dataclass
class Tally:
    """What a run of one target saw."""

    target: str
    cases: int = 0
    outcomes: Counter = field(default_factory=Counter)
    failures: dict[str, dict] = field(default_factory=dict)  # signature -> first (shortest) reproducer
    seconds: float = 0.0
    case_seconds_max: float = 0.0
    slowest: str = ""  # reproducer of the slowest case
    peak_kib: int = 0
    peak_step_kib: int = 0  # the largest rise of the worker's peak RSS during one case
    peak_step_case: str = ""
    _last_peak_kib: int = 0
    messages: Counter = field(default_factory=Counter)  # typed errors by message shape (numbers and names out)

    def add(self, case: object, reply: dict) -> None:
        self.cases += 1
        self.outcomes[reply["outcome"]] += 1
        if reply.get("message"):
            shape = re.sub(r"\([^)]*\)|'[^']*'|[-+.\w]*\d[-+.\w]*", "#", reply["message"].split(": ", 1)[-1])
            self.messages[f"{reply['outcome']}: {shape[:90]}"] += 1
        if reply.get("seconds", 0.0) > self.case_seconds_max:
            self.case_seconds_max, self.slowest = reply["seconds"], repr(case)
        peak = reply.get("peak_kib", 0)
        if self._last_peak_kib and peak - self._last_peak_kib > self.peak_step_kib:
            self.peak_step_kib, self.peak_step_case = peak - self._last_peak_kib, repr(case)
        self._last_peak_kib = peak or self._last_peak_kib
        if reply["outcome"] in FAILURES:
            sig = signature(reply)
            known = self.failures.get(sig)
            if known is None or len(repr(case)) < len(known["reproducer"]):
                self.failures[sig] = {"outcome": reply["outcome"], "detail": reply.get("detail", ""),
                                      "traceback": reply.get("traceback", "")[-1500:], "reproducer": repr(case),
                                      "count": (known or {}).get("count", 0) + 1}
            else:
                known["count"] += 1

    def to_dict(self) -> dict:
        return {"target": self.target, "cases": self.cases, "outcomes": dict(self.outcomes.most_common()),
                "failures": list(self.failures.values()), "seconds": round(self.seconds, 1),
                "slowest_case_s": round(self.case_seconds_max, 2), "slowest_case": self.slowest[:3000],
                "peak_rss_mib": round(self.peak_kib / 1024, 1),
                "largest_peak_step_mib": round(self.peak_step_kib / 1024, 1),
                "largest_peak_step_case": self.peak_step_case[:3000],
                "common_errors": dict(self.messages.most_common(12))}


def run_case(target: Target, case: object, worker: Worker, keep: Path | None = None) -> dict:
    """Build ``case`` in a fresh folder (or ``keep``), run it in ``worker``, return the reply."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return worker.run(target.build(case, keep))
    with tempfile.TemporaryDirectory(prefix=f"otscc-fuzz-{target.name}-") as tmp:
        reply = worker.run(target.build(case, Path(tmp)))
        for path in Path(tmp).rglob("*"):  # "unreadable" items: make sure the folder can be removed
            if not path.is_symlink():
                path.chmod(0o700)
    return reply


def explore(target: Target, worker: Worker, *, examples: int, seed: int | None = None,
            raise_failures: bool = False, tally: Tally | None = None) -> Tally:
    """Run ``examples`` Hypothesis-generated cases of ``target``.

    Args:
        target: the family of inputs.
        worker: where the cases run.
        examples: how many cases Hypothesis generates.
        seed: a fixed seed; None derandomizes (the same cases every run, as ``make test`` needs).
        raise_failures: raise the first failure (Hypothesis then shrinks it to a minimal reproducer) instead
            of recording every failure and going on.
        tally: where to count (a new one when None).
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as fixed_seed

    tally = tally or Tally(target.name)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(case=target.cases())
    def fuzz(case: object) -> None:
        reply = run_case(target, case, worker)
        tally.add(case, reply)
        if raise_failures and reply["outcome"] in FAILURES:
            raise failure_for(reply)

    if seed is not None:
        fuzz = fixed_seed(seed)(fuzz)
    start = time.perf_counter()
    try:
        fuzz()
    finally:
        tally.seconds += time.perf_counter() - start
        tally.peak_kib = max(tally.peak_kib, worker.peak_kib)
    return tally


def parse_reproducer(reproducer: str) -> object:
    """The case a reproducer (a case's repr, as reports print it) stands for."""
    from tests.inference.fuzzing import dicoms, folders, images

    names = {n: getattr(m, n) for m in (images, dicoms, folders) for n in dir(m) if n[:1].isupper()}
    # Only the case classes are in scope: a reproducer is data, written by this harness.
    return eval(reproducer, {"__builtins__": {}, "nan": float("nan"), "inf": float("inf"), **names})  # noqa: S307


def replay(reproducer: str, worker: Worker, keep: Path | None = None) -> dict:
    """Run one case given as its reproducer; ``keep``: build it in that folder (and leave it there)."""
    case = parse_reproducer(reproducer)
    kind = getattr(case, "fmt", None) or type(case).__name__.removesuffix("Case").lower()
    return run_case(get_target(kind), case, worker, keep)


def peak_parent_kib() -> int:
    """Peak RSS of this (the generating) process."""
    from tests.inference.fuzzing.worker import peak_rss_kib

    return peak_rss_kib()
