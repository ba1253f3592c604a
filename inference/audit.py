"""Audit log: one JSON line per prediction, rescore, export or failure, with hashes and pseudonyms only.

Privacy: an entry names the patient by a keyed pseudonym (HMAC-SHA256 of the patient id with a secret
per-installation key, see ``load_key``), never by a name, ID, folder name, path or any DICOM header text.
Inputs, mask, outputs, model and nomogram appear as sha256 hashes; app, model and nomogram versions are
in every entry. Clinical values and results are not written: ``prediction_sha256`` ties an entry to the
result.json it belongs to (``prediction_digest``).

Integrity: the file is only ever appended to (``O_APPEND``, fsync per entry). Each line stores the sha256
of the line before it (``prev``; the first line stores ``GENESIS``), so an edited, removed or inserted
line breaks the chain; ``<log>.head`` records how many entries there are and the last line's hash, so
lost trailing lines show too. ``AuditLog.verify`` checks both; ``python -m inference.audit LOG`` runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference import __version__
from inference.atomic import atomic_path
from inference.errors import OtsccError
from inference.wording import plural

if TYPE_CHECKING:
    from inference.pipeline import Pipeline, Prediction

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
try:  # Windows
    import msvcrt
except ImportError:
    msvcrt = None

log = logging.getLogger(__name__)

APP_NAME = "otscc-edge"
KEY_NAME = "pseudonym.key"
#: ``prev`` of the first entry: no line came before it.
GENESIS = "0" * 64
#: Environment overrides: the key file itself, or the user data folder that holds it (shared with the GUI).
KEY_ENV, DATA_ENV = "OTSCC_EDGE_KEY_FILE", "OTSCC_EDGE_DATA_DIR"
#: Result fields ``prediction_sha256`` covers: what was concluded, not how long it took.
DIGEST_FIELDS = ("status", "probability", "risk_group", "radscore", "points", "total_points", "clinical",
                 "doi_mm_estimated", "tumor", "mask_edited", "features_used", "mask_sha256", "nomogram_sha256")
_BACKEND_FIELDS = ("backend", "runtime", "format", "precision", "device", "threads")


class AuditError(OtsccError):
    """The audit log or its pseudonym key cannot be used."""


# -- pseudonyms ----------------------------------------------------------------------------------------
def user_data_dir() -> Path:
    """``$OTSCC_EDGE_DATA_DIR``, else the per-user data folder the GUI uses (Qt's GenericDataLocation)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME


def default_key_file() -> Path:
    """``$OTSCC_EDGE_KEY_FILE``, else ``pseudonym.key`` in the user data folder (never next to outputs)."""
    env = os.environ.get(KEY_ENV)
    return Path(env) if env else user_data_dir() / KEY_NAME


def load_key(path: str | Path) -> bytes:
    """The secret pseudonym key in ``path``, created (32 random bytes, mode 0600) on first use.

    Raises:
        AuditError: the file cannot be created or read, or does not hold a key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii").strip() if path.exists() else _create_key(path)
        for _ in range(100):  # empty: another process is writing it right now (created, not yet filled)
            if text:
                break
            time.sleep(0.02)
            text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AuditError(f"pseudonym key {path} cannot be used ({exc}); set {KEY_ENV} to a writable file, "
                         "or restore the key from a backup (a new key gives every patient a new pseudonym)") from exc
    if len(key) < 16:
        raise AuditError(f"pseudonym key {path} holds {len(key)} bytes, not a key; restore it from a backup")
    return key


def _create_key(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it a moment ago: wait for its content
        for _ in range(100):
            existing = path.read_text(encoding="ascii").strip()
            if existing:
                return existing
            time.sleep(0.02)
        raise
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    log.info("created a new pseudonym key in %s", path.parent)
    return text


def pseudonym(key: bytes, patient_id: str) -> str:
    """Keyed pseudonym of a patient id: not reversible by trying likely ids without the key."""
    return "psn-" + hmac.new(key, f"patient:{patient_id}".encode(), hashlib.sha256).hexdigest()[:20]


# -- hashes and versions -------------------------------------------------------------------------------
def file_sha256_or_none(path: Path) -> str | None:
    """sha256 of a file, read now; None when it is not a file.

    Not cached: a cache keyed by path, size and timestamps gave a same-size file put back with its old mtime
    (``cp -p``, rsync; FAT keeps mtime in 2 s steps, and Windows has no change time) the previous file's
    hash. The files hashed here (the inputs, the model file, the outputs) take milliseconds.
    """
    from inference.backends.manifest import sha256_file

    try:
        if not path.is_file():
            return None
        return sha256_file(path)
    except (OSError, ValueError):
        return None


def model_sha256(model_dir: Path, backend: dict[str, Any]) -> str | None:
    """Hash of the model file the backend runs (or of the folder's file listing when it names none, without the
    runs ``train-seg`` moved aside into ``previous-*/``)."""
    name = backend.get("model_file")
    if name and (model_dir / name).is_file():
        return file_sha256_or_none(model_dir / name)
    if not model_dir.is_dir():
        return None
    from inference.backends.manifest import folder_files

    digest = hashlib.sha256()
    for f in folder_files(model_dir):
        digest.update(f"{f.relative_to(model_dir)}:{file_sha256_or_none(f)}\n".encode())
    return digest.hexdigest()


@lru_cache(maxsize=8)
def _manifest(model_dir: str) -> dict[str, Any]:
    """The export manifest describing ``model_dir`` (``models/manifest.json``), {} when there is none."""
    folder = Path(model_dir)
    for candidate in (folder / "manifest.json", folder.parent / "manifest.json"):
        try:
            data = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("model_dir", folder.name) == folder.name:
            return data
    return {}


def model_info(model_dir: Path, backend: dict[str, Any]) -> dict[str, Any]:
    """Model name (its folder), version (the manifest's export time), format, file and sha256."""
    manifest = _manifest(str(Path(model_dir).resolve()))
    return {"name": Path(model_dir).name, "version": manifest.get("created_utc"),
            "preprocess_version": manifest.get("preprocess_version"), "format": backend.get("format"),
            "file": backend.get("model_file"), "sha256": model_sha256(Path(model_dir), backend)}


def prediction_digest(result: dict[str, Any]) -> str:
    """sha256 of what a result concluded (``DIGEST_FIELDS`` of ``Prediction.to_json()`` or a result.json)."""
    core = {k: result.get(k) for k in DIGEST_FIELDS}
    return hashlib.sha256(json.dumps(core, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _common(event: str, status: str, patient_id: str, model: dict, nomogram: dict, backend: dict) -> dict:
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"), "event": event, "status": status,
        "patient_id": patient_id,  # AuditLog.append replaces it with its keyed pseudonym before writing
        "app": {"name": APP_NAME, "version": __version__}, "model": model, "nomogram": nomogram,
        "backend": {k: backend.get(k) for k in _BACKEND_FIELDS},
    }


def audit_entry(event: str, prediction: Prediction, *, model_dir: Path,
                outputs: dict[str, Path] | None = None) -> dict[str, Any]:
    """The audit record of ``prediction`` (``event``: "predict", "rescore" or "export")."""
    prov = prediction.provenance
    files = {role: file_sha256_or_none(Path(d.key)) for role, d in prediction.prepared.patient.roles.items()}
    nomogram = {"version": prov.get("nomogram_version"), "kind": prov.get("nomogram_kind"),
                "sha256": prov.get("nomogram_sha256")}
    entry = _common(event, prediction.status, prediction.patient_id,
                    model_info(model_dir, prediction.backend), nomogram, prediction.backend)
    entry.update({
        "source": prediction.prepared.patient.source_kind,
        "input_files_sha256": {role: h for role, h in files.items() if h},  # NIfTI/NRRD inputs
        "input_volumes_sha256": prov.get("input_sha256"),  # any input, DICOM included (voxel data)
        "mask_sha256": prov.get("mask_sha256"), "mask_edited": prediction.edited,
        "prediction_sha256": prediction_digest(prediction.to_json()),
        "outputs_sha256": None if outputs is None else {k: file_sha256_or_none(Path(p)) for k, p in outputs.items()},
    })
    return entry


def failure_entry(event: str, patient_id: str, error: BaseException, *, pipeline: Pipeline) -> dict[str, Any]:
    """The audit record of a run that failed: the error's type only (its message may quote inputs)."""
    data = pipeline.nomogram.data
    nomogram = {"version": data.get("created"), "kind": data.get("kind"),
                "sha256": file_sha256_or_none(Path(pipeline.nomogram_path))}
    backend = pipeline.describe_backend()
    entry = _common(event, "error", patient_id, model_info(pipeline.model_dir, backend), nomogram, backend)
    entry["error"] = type(error).__name__
    return entry


# -- the log -------------------------------------------------------------------------------------------
def _sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@contextlib.contextmanager
def _interprocess_lock(path: Path) -> Iterator[None]:
    """Exclusive lock on ``path`` so two processes never chain onto the same last line."""
    with open(path, "a+b") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        elif msvcrt is not None:  # pragma: no cover - Windows
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            elif msvcrt is not None:  # pragma: no cover - Windows
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)


def _last_line(path: Path) -> tuple[bytes | None, bool]:
    """(last line without its newline or None when empty/missing, whether the file ends with a newline).

    Reads backwards from the end in blocks, so appending stays cheap however long the log grows.
    """
    if not path.is_file():
        return None, True
    data = b""
    with open(path, "rb") as fh:
        pos = fh.seek(0, os.SEEK_END)
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
            if b"\n" in (data[:-1] if data.endswith(b"\n") else data):
                break  # the whole last line is in
    if not data:
        return None, True
    complete = data.endswith(b"\n")
    body = data[:-1] if complete else data
    return body[body.rfind(b"\n") + 1:], complete


@dataclass
class VerifyReport:
    """What ``AuditLog.verify`` found: entry count and every problem (none: the log is intact)."""

    entries: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    """Append-only, hash-chained JSON-lines file (thread- and process-safe appends).

    Args:
        path: the log file (created on the first append, mode 0600).
        key_file: the pseudonym key (default: ``default_key_file()``); keep it outside shared output folders.
    """

    def __init__(self, path: str | Path, *, key_file: str | Path | None = None) -> None:
        self.path = Path(path)
        self.key_file = Path(key_file) if key_file is not None else None
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._lock_path = self.path.with_name(f".{self.path.name}.lock")
        self._lock = threading.Lock()
        self._key: bytes | None = None

    def pseudonym(self, patient_id: str) -> str:
        """The pseudonym this log writes for ``patient_id`` (to find a patient's entries)."""
        if self._key is None:
            self._key = load_key(self.key_file or default_key_file())
        return pseudonym(self._key, patient_id)

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one entry (its ``patient_id`` becomes ``patient``, the pseudonym); returns what was written.

        Raises:
            AuditError: the log cannot be written.
        """
        entry = dict(entry)
        if "patient_id" in entry:
            entry["patient"] = self.pseudonym(str(entry.pop("patient_id")))
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with _interprocess_lock(self._lock_path):
                    written = self._append_locked(entry)
        except OSError as exc:
            raise AuditError(f"cannot append to the audit log {self.path}: {exc}") from exc
        log.info("audit: %s %s", entry.get("event"), entry.get("patient"))
        return written

    def _append_locked(self, entry: dict[str, Any]) -> dict[str, Any]:
        last, complete = _last_line(self.path)
        before, damage = self._state(last, complete)
        written = {**entry, "prev": GENESIS if last is None else _sha(last)}
        if damage:  # appending must not hide it: the new head would match again
            written["log_damage"] = damage
            log.warning("audit log %s was damaged before this entry: %s", self.path, damage)
        line = json.dumps(written, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
        data = (b"" if complete else b"\n") + line + b"\n"  # an interrupted line stays, and fails verify
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        with atomic_path(self.head_path) as tmp:
            tmp.write_text(json.dumps({"entries": before + 1, "last_sha256": _sha(line)}))
        return written

    def _state(self, last: bytes | None, complete: bool) -> tuple[int, str | None]:
        """(lines in the log now, what is wrong with it compared with the head record, or None)."""
        head = self._head()
        if head is not None and last is not None and complete and head.get("last_sha256") == _sha(last):
            return int(head["entries"]), None  # the usual case, without reading the whole file
        lines, _ = self._lines()
        return len(lines), self._head_problem(lines, head)

    def _head(self) -> dict[str, Any] | None:
        try:
            head = json.loads(self.head_path.read_text())
        except (OSError, ValueError):
            return None
        return head if isinstance(head, dict) and isinstance(head.get("entries"), int) else None

    def _head_problem(self, lines: list[bytes], head: dict[str, Any] | None) -> str | None:
        if head is None:
            return f"{self.head_path.name} is missing or unreadable: lost lines would not show" if lines else None
        recorded = head["entries"]
        if len(lines) < recorded:
            return f"truncated: {plural(recorded, 'entry', 'entries')} written, {len(lines)} remain"
        if recorded and _sha(lines[recorded - 1]) != head.get("last_sha256"):
            return f"line {recorded} differs from the one recorded in {self.head_path.name}"
        return None  # more lines than recorded: a crash between the two writes, harmless

    def _lines(self) -> tuple[list[bytes], bool]:
        """(the lines without their newlines, whether the last one is complete)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return [], True
        if not data:
            return [], True
        complete = data.endswith(b"\n")
        return data.split(b"\n")[:-1] if complete else data.split(b"\n"), complete

    def read(self) -> list[dict[str, Any]]:
        """Every entry, oldest first (lines that are not JSON are left out; ``verify`` reports them)."""
        entries = []
        for line in self._lines()[0]:
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def verify(self) -> VerifyReport:
        """Check the hash chain, complete lines and the head record; lists every problem found."""
        (lines, complete), problems = self._lines(), []
        if not complete:
            problems.append(f"line {len(lines)} is incomplete: the file was cut or a write was interrupted")
        prev = GENESIS
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if not isinstance(entry, dict):
                problems.append(f"line {number} is not a JSON entry")
            elif entry.get("prev") != prev:
                problems.append(f"line {number}: hash chain broken (this or the previous line was edited, "
                                "removed or inserted)")
            if isinstance(entry, dict) and entry.get("log_damage"):
                problems.append(f"line {number} was appended to a damaged log: {entry['log_damage']}")
            prev = _sha(line)
        head_problem = self._head_problem(lines, self._head())
        if head_problem:
            problems.append(head_problem)
        return VerifyReport(len(lines), problems)


def main(argv: list[str] | None = None) -> int:
    """``python -m inference.audit LOG``: verify an audit log; exit 0 when intact, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m inference.audit", description="verify an audit log's "
                                     "hash chain and head record (exit 0: intact, 1: problems found)")
    parser.add_argument("log", help="the audit.jsonl to check")
    args = parser.parse_args(argv)
    report = AuditLog(args.log).verify()
    for problem in report.problems:
        sys.stdout.write(f"{args.log}: {problem}\n")
    entries = plural(report.entries, "entry", "entries")
    sys.stdout.write(f"{args.log}: {entries}, {'intact' if report.ok else 'NOT intact'}\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
