"""Every export step wrapped the same way: timed, outputs checked non-empty, typed error, one status per format.

A converter raises ``FormatSkipped`` when the format cannot be built on this machine (no GPU, no TensorRT,
no calibration data) and ``ExportError`` when it tried and failed; anything else a third-party converter
raises is caught here, logged with its traceback and recorded as a failure of that format alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from inference.errors import OtsccError
from inference.formats import ModelFormat

log = logging.getLogger(__name__)

OK, SKIPPED, FAILED = "ok", "skipped", "failed"


class ExportError(OtsccError):
    """A format could not be built; the message says why."""


class FormatSkipped(ExportError):  # noqa: N818 (a status, not a failure)
    """The format cannot be built on this machine (missing GPU, library or calibration data)."""


@dataclass
class FormatResult:
    """Status of one format after export (and, later, validation)."""

    format: str
    status: str  # ok | skipped | failed
    reason: str | None = None
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)  # relative to the output folder
    bytes: int = 0
    details: dict = field(default_factory=dict)  # converter facts: op counts, XNNPACK delegation, settings
    validation: dict | None = None
    shipped: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def run_step(fmt: ModelFormat, out_dir: Path, build: Callable[[], dict | None]) -> FormatResult:
    """Run one converter and record what happened.

    Args:
        fmt: the table row being built.
        out_dir: output folder; ``fmt.files`` must exist there, non-empty, when ``build`` returns.
        build: writes the files and returns details for the report (or None).
    """
    start = time.perf_counter()
    try:
        details = build() or {}
        files, size = _check_outputs(fmt, out_dir)
    except FormatSkipped as exc:
        log.info("%s skipped: %s", fmt.name, exc)
        return FormatResult(fmt.name, SKIPPED, str(exc), round(time.perf_counter() - start, 2))
    except ExportError as exc:
        log.warning("%s failed: %s", fmt.name, exc)
        return FormatResult(fmt.name, FAILED, str(exc), round(time.perf_counter() - start, 2))
    except Exception as exc:  # a converter's own error must not stop the other formats
        log.warning("%s failed: %s: %s", fmt.name, type(exc).__name__, exc)
        log.debug("%s failed", fmt.name, exc_info=True)  # the traceback with --debug
        return FormatResult(fmt.name, FAILED, f"{type(exc).__name__}: {exc}", round(time.perf_counter() - start, 2))
    seconds = round(time.perf_counter() - start, 2)
    log.info("%s built in %.1f s (%d bytes)", fmt.name, seconds, size)
    return FormatResult(fmt.name, OK, None, seconds, files, size, details)


def _check_outputs(fmt: ModelFormat, out_dir: Path) -> tuple[list[str], int]:
    files, total = [], 0
    for name in fmt.files:
        path = out_dir / name
        members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        size = sum(p.stat().st_size for p in members if p.exists())
        if not path.exists() or size == 0:
            raise ExportError(f"{fmt.name}: converter finished but {path} is missing or empty")
        files.append(name)
        total += size
    return files, total


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Like ``inference.atomic.atomic_path`` for a folder: build in a temporary sibling, then swap it in."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
        old = path.with_name(f".old-{os.getpid()}-{path.name}")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
