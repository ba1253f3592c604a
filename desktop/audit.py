"""Audit log: one JSON line per prediction and per export (Qt-free).

Each entry says when, on which inputs (hashes), with which model and nomogram (hashes), on which backend,
whether the mask was edited, and what came out. Entries are appended and flushed one at a time, so a
crash never truncates earlier lines.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inference.pipeline import Prediction, file_sha256

log = logging.getLogger(__name__)

_hash_cache: dict[tuple[str, float, int], str] = {}


def cached_sha256(path: Path) -> str | None:
    """sha256 of a file, cached by (path, mtime, size); None when it is not a file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _hash_cache:
        _hash_cache[key] = file_sha256(path)
    return _hash_cache[key]


def model_sha256(model_dir: Path, backend: dict[str, Any]) -> str | None:
    """Hash of the model file the backend runs (or of the folder's file listing when it names none)."""
    name = backend.get("model_file")
    if name and (model_dir / name).is_file():
        return cached_sha256(model_dir / name)
    if not model_dir.is_dir():
        return None
    digest = hashlib.sha256()
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(f"{f.relative_to(model_dir)}:{cached_sha256(f)}\n".encode())
    return digest.hexdigest()


def audit_entry(event: str, prediction: Prediction, *, model_dir: Path,
                outputs: dict[str, Path] | None = None) -> dict[str, Any]:
    """The JSON-ready audit record of ``prediction`` (``event``: "predict", "rescore" or "export")."""
    s = prediction.score
    files = {role: cached_sha256(Path(d.key)) for role, d in prediction.prepared.patient.roles.items()}
    prov = prediction.provenance
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "event": event,
        "patient_id": prediction.patient_id,
        "input_files_sha256": {role: h for role, h in files.items() if h},  # NIfTI/NRRD inputs
        "input_volumes_sha256": prov.get("input_sha256"),  # any input, DICOM included (voxel data)
        "mask_sha256": prov.get("mask_sha256"),
        "model": {"dir": prov.get("model_dir"), "file": prediction.backend.get("model_file"),
                  "sha256": model_sha256(model_dir, prediction.backend)},
        "nomogram_sha256": prov.get("nomogram_sha256"),
        "backend": prediction.backend,
        "mask_edited": prediction.edited,
        "result": {"status": prediction.status,
                   "probability": None if s is None else round(s.probability, 4),
                   "risk_group": None if s is None else s.risk_group,
                   "total_points": None if s is None else round(s.total_points, 2),
                   "tumor": prediction.measures.to_dict(), "clinical": prediction.clinical,
                   "doi_mm_estimated": prediction.doi_estimated},
        "outputs": None if outputs is None else {k: str(v) for k, v in outputs.items()},
        "otscc_edge": prov.get("otscc_edge"),
    }


class AuditLog:
    """Append-only JSON-lines file (thread-safe: workers append from their own thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True, default=str)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        log.info("audit: %s %s", entry.get("event"), entry.get("patient_id"))

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
