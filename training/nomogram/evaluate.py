"""Evaluate fitted nomograms on the training and held-out test patients of a cohort.

The two sets come from the segmentation model's ``split.json``: training = train + validation (what
``fit-nomogram`` fitted on), test = test (never seen by the segmentation model nor the nomogram). Every
model is scored on the same patients of each set (those with features for every nomogram), so the figures
and the paired DeLong tests compare like with like. Thresholds are taken from the training set only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.errors import InputError
from inference.nomogram import CLINICAL, Nomogram, NomogramError
from training.nomogram import stats
from training.nomogram.fit import clinical_matrix, predict_logistic

log = logging.getLogger(__name__)

THRESHOLDS = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))
SETS = ("train", "test")


def predictions(nomogram: Nomogram, table: dict, clinical: dict) -> dict[str, float]:
    return {pid: nomogram.score(feats, clinical[pid]).probability for pid, feats in table.items()}


def clinical_predictions(model: dict, ids: list[str], clinical: dict) -> dict[str, float]:
    probs = predict_logistic(model, clinical_matrix([clinical[p] for p in ids]))
    return dict(zip(ids, (float(p) for p in probs), strict=True))


def metrics(y: np.ndarray, p: np.ndarray, threshold: float, seed: int = 0, n_boot: int = 2000) -> dict:
    """All reported figures for one model on one set of patients."""
    lo, hi = stats.bootstrap_auc_ci(y, p, n_boot=n_boot, seed=seed)
    sens, spec = stats.sens_spec(y, p, threshold)
    a, b = stats.calibration_intercept_slope(y, p)
    return {"n": int(len(y)), "prevalence": float(np.mean(y)), "auc": stats.auc(y, p), "auc_ci95": [lo, hi],
            "threshold": threshold, "sensitivity": sens, "specificity": spec, "calibration_intercept": a,
            "calibration_slope": b, "brier": stats.brier(y, p), "calibration_curve": stats.calibration_curve(y, p),
            "decision_curve": stats.net_benefit(y, p, THRESHOLDS)}


def compare(y: np.ndarray, first: np.ndarray, second: np.ndarray) -> dict:
    return stats.delong_test(y, first, second)


@dataclass(frozen=True)
class Scored:
    """One model's predicted probabilities on the training and test patients (ids in ``sets`` order)."""

    name: str
    kind: str  # "fusion" or "clinical"
    file: str
    mask_source: str | None
    threshold: float
    threshold_source: str
    probs: dict[str, dict[str, float]]  # set -> patient id -> probability
    radscores: dict[str, dict[str, float]] | None = None


def read_split(model_dir: Path) -> dict[str, list[str]]:
    """Training (train + validation) and test patient ids from ``model_dir/split.json``."""
    path = Path(model_dir) / "split.json"
    try:
        split = json.loads(path.read_text())
        sets = {"train": sorted(split["train"] + split["validation"]), "test": sorted(split["test"])}
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: no usable patient split ({exc}); pass --model with the model folder "
                         "whose split the nomogram was fitted on") from exc
    overlap = set(sets["train"]) & set(sets["test"])
    if overlap:
        raise InputError(f"{path}: patients in both training and test sets: {sorted(overlap)[:5]}")
    return sets


def check_fitted_on(path: Path, nomogram: Nomogram, sets: dict[str, list[str]], model_dir: Path) -> None:
    """Refuse a test set holding patients the nomogram was fitted on (its ``fitted_on`` record); for a nomogram
    without the record (written before it, e.g. the shipped one), log that the split cannot be verified.

    Raises:
        InputError: test patients among the fitting patients, named with the model folder to use instead.
    """
    fitted = nomogram.data.get("fitted_on")
    if fitted is None:
        log.warning("%s does not record the patients it was fitted on: its training/test split is taken from "
                    "%s/split.json and cannot be verified", path, model_dir)
        return
    leaked = sorted(set(sets["test"]) & set(fitted["patients"]))
    if leaked:
        raise InputError(f"{path} was fitted on {len(leaked)} of the {len(sets['test'])} test patients of "
                         f"{Path(model_dir) / 'split.json'} (e.g. {', '.join(leaked[:3])}): they are not held out; "
                         f"pass --model with the model folder it was fitted with ({fitted['model']})")


def load_clinical_model(path: Path) -> dict:
    """The clinical-only model written by ``fit-nomogram`` (``{"kind": "clinical", "model": {...}}``)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NomogramError(f"{path}: not a readable clinical-model JSON ({exc})") from exc
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("kind") != "clinical" or not isinstance(model, dict):
        raise NomogramError(f"{path}: expected {{\"kind\": \"clinical\", \"model\": {{...}}}}")
    keys = ("variables", "means", "sds", "coefficients")
    if any(not isinstance(model.get(k), list) for k in keys) or not isinstance(model.get("intercept"), (int, float)):
        raise NomogramError(f"{path}: model needs lists {list(keys)} and a numeric intercept")
    if list(model["variables"]) != list(CLINICAL) or {len(model[k]) for k in keys} != {len(CLINICAL)}:
        raise NomogramError(f"{path}: model.variables must be {list(CLINICAL)}, with one mean/sd/coefficient each")
    return model


def feature_cache(nomogram_path: Path, mask_source: str, override: Path | None = None) -> Path:
    """Where a nomogram's features are cached: ``override`` or ``features_<masks>.csv`` beside it."""
    return Path(override) if override else Path(nomogram_path).with_name(f"features_{mask_source}.csv")


def cached_ids(cache: Path) -> set[str]:
    """Patient ids already in a feature cache (rows of skipped patients included)."""
    if not cache.exists():
        return set()
    with open(cache, newline="") as fh:
        return {row["patient_id"] for row in csv.DictReader(fh)}


def score_fusion(name: str, path: Path, nomogram: Nomogram, table: dict, clinical: dict,
                 sets: dict[str, list[str]]) -> Scored:
    """Fusion-nomogram probabilities per set; the threshold is the one stored from its training fit."""
    probs = {s: {} for s in SETS}
    rad = {s: {} for s in SETS}
    for s in SETS:
        for pid in sets[s]:
            result = nomogram.score(table[pid], clinical[pid])
            probs[s][pid], rad[s][pid] = result.probability, result.radscore
    stored = nomogram.data["training_metrics"].get("youden_threshold")
    if isinstance(stored, (int, float)) and not isinstance(stored, bool):
        threshold, source = float(stored), "nomogram training_metrics.youden_threshold"
    else:
        threshold, source = _youden(probs["train"], clinical), "Youden on the training set"
    _check_training_auc(name, nomogram, probs["train"], clinical)
    return Scored(name, "fusion", str(path), nomogram.data["mask_source"], threshold, source, probs, rad)


def score_clinical(path: Path, model: dict, clinical: dict, sets: dict[str, list[str]]) -> Scored:
    probs = {s: clinical_predictions(model, sets[s], clinical) for s in SETS}
    return Scored("clinical", "clinical", str(path), None, _youden(probs["train"], clinical),
                  "Youden on the training set", probs)


def _labels(ids, clinical: dict) -> np.ndarray:
    try:
        return np.array([int(clinical[p]["lnm"]) for p in ids])
    except (KeyError, ValueError) as exc:
        raise InputError(f"clinical.csv: no usable lnm outcome ({exc})") from exc


def _youden(probs: dict[str, float], clinical: dict) -> float:
    return stats.youden_threshold(_labels(probs, clinical), np.array(list(probs.values())))


def _check_training_auc(name: str, nomogram: Nomogram, train: dict[str, float], clinical: dict) -> None:
    stored = nomogram.data["training_metrics"].get("auc_fusion")
    now = stats.auc(_labels(train, clinical), np.array(list(train.values())))
    if isinstance(stored, float) and abs(stored - now) > 1e-6:
        log.warning("%s: training AUC %.4f differs from the %.4f stored at fitting: different training "
                    "patients or features than it was fitted on", name, now, stored)


def summarize(models: list[Scored], clinical: dict, pairs: list[tuple[str, str]], *, seed: int = 0,
              n_boot: int = 2000) -> dict:
    """Metrics per model and set, and DeLong tests of ``pairs`` (model names) on the test set."""
    out: dict = {"models": {}, "delong_test": []}
    for m in models:
        entry = {"kind": m.kind, "file": m.file, "mask_source": m.mask_source, "threshold": m.threshold,
                 "threshold_source": m.threshold_source, "sets": {}}
        for s in SETS:
            ids = list(m.probs[s])
            y, p = _labels(ids, clinical), np.array([m.probs[s][i] for i in ids])
            entry["sets"][s] = {**metrics(y, p, m.threshold, seed, n_boot), "ids": ids,
                                "outcomes": [int(v) for v in y], "probabilities": [float(v) for v in p]}
            if m.radscores is not None:
                r = np.array([m.radscores[s][i] for i in ids])
                entry["sets"][s]["radscore_auc"] = stats.auc(y, r)
        out["models"][m.name] = entry
    by_name = {m.name: m for m in models}
    for first, second in pairs:
        ids = list(by_name[first].probs["test"])
        y = _labels(ids, clinical)
        p1 = np.array([by_name[first].probs["test"][i] for i in ids])
        p2 = np.array([by_name[second].probs["test"][i] for i in ids])
        out["delong_test"].append({"set": "test", "first": first, "second": second, "n": len(ids),
                                   **compare(y, p1, p2)})
    return out


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
