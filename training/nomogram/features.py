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
    """The cohort's ``clinical.csv`` by patient id, read like ``otscc predict --clinical`` (comma, semicolon or
    tab; byte-order mark; decimal comma); each row keeps its line number as ``"_line"``.

    Raises:
        InputError: no such file, no ``patient_id`` column, or one patient on two rows.
    """
    from inference.pipeline import read_clinical_csv

    path = Path(cohort) / "clinical.csv"
    if not path.exists():
        raise InputError(f"{path}: the cohort has no clinical.csv")
    rows: dict[str, dict] = {}
    for line, row in read_clinical_csv(path):
        pid = row.get("patient_id", "").strip()
        if not pid:
            continue
        if pid in rows:
            raise InputError(f"{path}: patient {pid} is on lines {rows[pid]['_line']} and {line}; keep one row")
        rows[pid] = {**row, "patient_id": pid, "_line": line}
    return rows


def check_clinical(clinical: dict[str, dict], ids: list[str], where: Path) -> np.ndarray:
    """The outcomes (lnm 0/1) of ``ids``, after checking every patient's row and clinical values, so a bad value
    fails before minutes of feature extraction and names its patient and line.

    Raises:
        InputError: a patient without a row, an outcome that is not 0 or 1, or a clinical value the nomogram
            cannot use.
    """
    from inference.nomogram import ClinicalValueError, encode_clinical

    csv_path = Path(where) / "clinical.csv"
    missing = [p for p in ids if p not in clinical]
    if missing:
        raise InputError(f"{csv_path}: no row for {len(missing)} of the {len(ids)} patients of the split (e.g. "
                         f"{', '.join(missing[:3])}): the model's split.json belongs to another cohort")
    outcomes = []
    for pid in ids:
        row = clinical[pid]
        lnm = str(row.get("lnm", "")).strip()
        if lnm not in ("0", "1"):
            raise InputError(f"{csv_path} line {row['_line']}, patient {pid}: lnm must be 0 or 1, got {lnm!r}")
        try:
            encode_clinical(row)
        except ClinicalValueError as exc:
            raise InputError(f"{csv_path} line {row['_line']}, patient {pid}: {exc}") from exc
        outcomes.append(int(lnm))
    return np.array(outcomes)


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


def cache_source(cohort: Path, masks: str, model_dir: Path | None) -> dict[str, str]:
    """What a feature cache's rows depend on: the cohort (its clinical.csv), the mask source and, for automatic
    masks, the segmentation model (its float weights, from which every variant is built)."""
    from inference.backends.manifest import sha256_file

    source = {"cohort_clinical_csv_sha256": sha256_file(Path(cohort) / "clinical.csv"), "masks": masks}
    if masks == "auto" and model_dir is not None:
        found = [Path(model_dir) / n for n in ("best.weights.h5", "model_fp32.tflite")
                 if (Path(model_dir) / n).is_file()]
        source["model_sha256"] = sha256_file(found[0]) if found else str(Path(model_dir).resolve())
    return source


def check_cache_source(cache: Path, source: dict[str, str]) -> None:
    """Refuse a feature cache computed from another cohort, mask source or model (rows are keyed by patient id
    only, so another cohort's SYN0001 would be taken as this one's). Writes nothing: the source is recorded with
    the first rows (``_write_cache``); a record without its cache (the cache was deleted) is stale and ignored.

    Raises:
        InputError: ``cache`` records another source.
    """
    import json

    record = _record_path(cache)
    if not Path(cache).exists():
        return
    if not record.is_file():
        log.warning("%s has no record of the cohort and model it was computed from; assuming this run's", cache)
        return
    try:
        recorded = json.loads(record.read_text())
    except (OSError, ValueError):
        recorded = None
    if recorded != source:
        differs = sorted(k for k in {**source, **(recorded or {})} if (recorded or {}).get(k) != source.get(k))
        raise InputError(f"{cache}: these cached features were computed from another "
                         f"{' / '.join(differs) or 'source'} than this run's; choose another --features "
                         f"file (or --out folder), or delete {cache} to recompute them")


def _record_path(cache: Path) -> Path:
    return Path(f"{cache}.source.json")


def feature_table(cohort: Path, ids: list[str], masks: str, cache: Path, backend=None,
                  progress: Callable[[int, int, str], None] | None = None,
                  model_dir: Path | None = None) -> dict[str, dict[str, float]]:
    """Features per patient id, read from / appended to ``cache`` (CSV); ``model_dir``: the model that segments
    for automatic masks (recorded with the cache, ``check_cache_source``)."""
    source = cache_source(cohort, masks, model_dir)
    check_cache_source(cache, source)
    rows = _read_cache(cache)
    params = load_params()
    for i, pid in enumerate(ids):
        if pid not in rows:
            try:
                rows[pid] = patient_features(Path(cohort) / pid, masks, backend, params)
            except (InputError, RadiomicsError) as exc:  # no/too small tumor: skipped, and counted by callers
                log.warning("%s skipped: %s", pid, exc)
                rows[pid] = {}
            _write_cache(cache, rows, source)
        if progress:
            progress(i + 1, len(ids), pid)
    return {pid: rows[pid] for pid in ids if rows.get(pid)}


def interrupted_note(cache: Path, ids: list[str]) -> str:
    """What Ctrl+C during ``feature_table`` kept: the cache is written after every patient, and a re-run reuses it
    (the commands said only "interrupted", as if the minutes of radiomics were lost)."""
    done = len(set(_read_cache(cache)) & set(ids)) if cache.exists() else 0
    return f"stopped with the features of {done} of {len(ids)} patients cached in {cache}; the same command reuses them"


def _read_cache(path: Path) -> dict[str, dict[str, float]]:
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        return {r.pop("patient_id"): {k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(fh)}


def _write_cache(path: Path, rows: dict[str, dict[str, float]], source: dict[str, str] | None = None) -> None:
    """The rows, after (``source``) the record of what they were computed from (``check_cache_source``; first:
    a record without its rows is ignored, rows without a record would be adopted)."""
    import json

    if source is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(_record_path(path)) as tmp:
            tmp.write_text(json.dumps(source, indent=1))
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
