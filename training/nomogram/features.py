"""Radiomics feature tables for a cohort, from manual (ground-truth) or automatic (model) masks.

Rows are cached as CSV in an output folder (never in the cohort) so fitting and evaluation reuse them.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from inference.atomic import atomic_path
from inference.errors import InputError
from inference.intake import prepare_patient
from inference.radiomics import RadiomicsError, extract_patient, load_params

log = logging.getLogger(__name__)


def read_clinical(cohort: Path) -> dict[str, dict]:
    path = Path(cohort) / "clinical.csv"
    if not path.exists():
        raise InputError(f"{path}: the cohort has no clinical.csv")
    with open(path, newline="") as fh:
        return {r["patient_id"]: r for r in csv.DictReader(fh)}


def patient_features(folder: Path, masks: str, backend=None, params: dict | None = None) -> dict[str, float]:
    """Features of one patient; ``masks`` is ``"manual"`` (ground truth) or ``"auto"`` (segmented)."""
    prepared = prepare_patient(folder)
    if masks == "manual":
        mask = prepared.patient.mask
        if mask is None:
            raise InputError(f"{folder}: no ground-truth mask for --masks manual")
    else:
        from inference.segment import segment

        mask = segment(prepared.volumes, backend).mask
        if not mask.array.any():
            raise InputError(f"{folder.name}: the model found no tumor; no automatic features")
    result = extract_patient(prepared.volumes, mask, params)
    return {**result.features, "mask_volume_ml": float(mask.array.sum() * mask.geometry.voxel_volume_ml)}


def feature_table(cohort: Path, ids: list[str], masks: str, cache: Path, backend=None,
                  progress: Callable[[int, int, str], None] | None = None) -> dict[str, dict[str, float]]:
    """Features per patient id, read from / appended to ``cache`` (CSV)."""
    rows = _read_cache(cache)
    params = load_params()
    for i, pid in enumerate(ids):
        if pid not in rows:
            try:
                rows[pid] = patient_features(Path(cohort) / pid, masks, backend, params)
            except (InputError, RadiomicsError) as exc:  # no/too small tumor: skipped, and counted by callers
                log.warning("%s skipped: %s", pid, exc)
                rows[pid] = {}
            _write_cache(cache, rows)
        if progress:
            progress(i + 1, len(ids), pid)
    return {pid: rows[pid] for pid in ids if rows.get(pid)}


def _read_cache(path: Path) -> dict[str, dict[str, float]]:
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        return {r.pop("patient_id"): {k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(fh)}


def _write_cache(path: Path, rows: dict[str, dict[str, float]]) -> None:
    names = sorted({k for r in rows.values() for k in r})
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["patient_id", *names])
        writer.writeheader()
        for pid, r in rows.items():
            writer.writerow({"patient_id": pid, **{k: repr(v) for k, v in r.items()}})


def as_matrix(table: dict[str, dict[str, float]], names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Patients x features matrix over the features every patient has (shape features once)."""
    ids = list(table)
    if names is None:
        common = set.intersection(*(set(table[p]) for p in ids)) - {"mask_volume_ml"}
        names = sorted(common)
    return np.array([[table[p][n] for n in names] for p in ids], float), names
