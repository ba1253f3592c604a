"""Evaluate fitted nomograms on the training and held-out test patients of a cohort."""

from __future__ import annotations

import numpy as np

from inference.nomogram import Nomogram
from training.nomogram import stats
from training.nomogram.fit import clinical_matrix, predict_logistic

THRESHOLDS = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))


def predictions(nomogram: Nomogram, table: dict, clinical: dict) -> dict[str, float]:
    return {pid: nomogram.score(feats, clinical[pid]).probability for pid, feats in table.items()}


def clinical_predictions(model: dict, ids: list[str], clinical: dict) -> dict[str, float]:
    probs = predict_logistic(model, clinical_matrix([clinical[p] for p in ids]))
    return dict(zip(ids, (float(p) for p in probs), strict=True))


def metrics(y: np.ndarray, p: np.ndarray, threshold: float, seed: int = 0) -> dict:
    """All reported figures for one model on one set of patients."""
    lo, hi = stats.bootstrap_auc_ci(y, p, seed=seed)
    sens, spec = stats.sens_spec(y, p, threshold)
    a, b = stats.calibration_intercept_slope(y, p)
    return {"n": int(len(y)), "prevalence": float(np.mean(y)), "auc": stats.auc(y, p), "auc_ci95": [lo, hi],
            "threshold": threshold, "sensitivity": sens, "specificity": spec, "calibration_intercept": a,
            "calibration_slope": b, "brier": stats.brier(y, p), "calibration_curve": stats.calibration_curve(y, p),
            "decision_curve": stats.net_benefit(y, p, THRESHOLDS)}


def compare(y: np.ndarray, first: np.ndarray, second: np.ndarray) -> dict:
    return stats.delong_test(y, first, second)
