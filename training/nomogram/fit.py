"""Fit the rad-score (LASSO logistic) and the fusion nomogram; write it as validated JSON (no pickle).

Steps on the TRAINING split only: drop near-constant features; standardize; drop highly correlated
features (|r| > 0.9, keeping the one with the stronger univariate AUC); cross-validated L1 logistic
regression (one-standard-error rule) selects features and gives the rad-score; an unpenalized logistic
regression combines the rad-score with age, sex, clinical T stage, MRI node status and depth of invasion
(the fusion nomogram). The fusion model is fitted on OUT-OF-FOLD rad-scores (each patient scored by a
rad-score fitted without them): fitted on the in-sample rad-score it gave the rad-score a weight that did
not hold on test patients (docs/nomogram.md). The same without the rad-score is the clinical-only model.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable

import numpy as np

from inference import __version__
from inference.nomogram import CLINICAL, SCHEMA_VERSION, encode_clinical, validate
from training.nomogram import stats

log = logging.getLogger(__name__)

CORRELATION_LIMIT = 0.9
RISK_GROUPS = [{"name": "low", "below": 0.2}, {"name": "intermediate", "below": 0.5},
               {"name": "high", "below": 1.0000001}]


def select_candidates(x: np.ndarray, y: np.ndarray, names: list[str]) -> list[int]:
    """Indices surviving the near-constant and correlation filters (ordered by univariate strength)."""
    sd = x.std(axis=0)
    finite = np.isfinite(x).all(axis=0)
    keep = [i for i in range(x.shape[1]) if finite[i] and sd[i] > 1e-8 * max(1.0, abs(x[:, i].mean()))
            and len(np.unique(x[:, i])) > 2]
    strength = {i: abs(stats.auc(y, x[:, i]) - 0.5) for i in keep}
    order = sorted(keep, key=lambda i: -strength[i])
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1)
    chosen: list[int] = []
    for i in order:
        if all(abs(float(np.mean(z[:, i] * z[:, j]))) <= CORRELATION_LIMIT for j in chosen):
            chosen.append(i)
    log.info("features: %d -> %d after constant filter -> %d after |r| <= %.1f", len(names), len(keep),
             len(chosen), CORRELATION_LIMIT)
    return chosen


def _lasso(z: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, float, float]:
    """Cross-validated L1 logistic regression with the one-standard-error rule.

    Among the 20 penalties, take the strongest whose mean cross-validated AUC is within one standard error
    of the best: with ~100 patients and hundreds of features the best-scoring penalty overfits.

    Returns:
        (coefficients, intercept, C)
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    folds = int(min(5, np.bincount(y).min()))
    cv = StratifiedKFold(n_splits=max(2, folds), shuffle=True, random_state=seed)
    search = LogisticRegressionCV(Cs=20, cv=cv, l1_ratios=(1.0,), solver="saga", scoring="roc_auc",
                                  max_iter=20000, random_state=seed, use_legacy_attributes=False).fit(z, y)
    scores = search.scores_[:, 0, :]  # (folds, Cs)
    mean, se = scores.mean(axis=0), scores.std(axis=0, ddof=1) / np.sqrt(scores.shape[0])
    best = int(np.argmax(mean))
    chosen = next(i for i in range(len(mean)) if mean[i] >= mean[best] - se[best])  # Cs_ ascend: strongest first
    c_value = float(search.Cs_[chosen])
    model = LogisticRegression(C=c_value, l1_ratio=1.0, solver="saga", max_iter=20000,
                               random_state=seed).fit(z, y)
    return np.ravel(model.coef_), float(np.ravel(model.intercept_)[0]), c_value


def fit_radscore(x: np.ndarray, y: np.ndarray, names: list[str], seed: int = 0) -> dict:
    """LASSO logistic rad-score on the filtered, standardized training features."""
    idx = select_candidates(x, y, names)
    mu, sd = x[:, idx].mean(axis=0), x[:, idx].std(axis=0)
    z = (x[:, idx] - mu) / sd
    coef, intercept, c_value = _lasso(z, y, seed)
    selected = [k for k in np.flatnonzero(np.abs(coef) > 1e-8)]
    if not selected:  # LASSO kept nothing: fall back to the strongest single feature, and say so
        log.warning("LASSO selected no feature; using the strongest univariate one")
        selected = [0]
        coef = np.zeros_like(coef)
        coef[0] = 1.0 if stats.auc(y, z[:, 0]) >= 0.5 else -1.0
    return {"features": [names[idx[k]] for k in selected], "means": [float(mu[k]) for k in selected],
            "sds": [float(sd[k]) for k in selected], "weights": [float(coef[k]) for k in selected],
            "intercept": intercept, "candidates": len(idx), "C": c_value}


def out_of_fold_radscore(x: np.ndarray, y: np.ndarray, names: list[str], seed: int = 0, folds: int = 5,
                         on_fold: Callable[[int], None] | None = None) -> np.ndarray:
    """Each training patient's rad-score from a rad-score fitted without them (filters and LASSO included).

    The fusion model is fitted on these, so the rad-score gets the weight it earns on patients it has not
    seen, not the weight its in-sample fit would claim. ``on_fold(k)`` is called as fold k (1-based) starts.
    """
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(len(y))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + 1)
    for k, (train, held) in enumerate(cv.split(x, y), start=1):
        if on_fold is not None:
            on_fold(k)
        rad = fit_radscore(x[train], y[train], names, seed)
        out[held] = radscore_values(rad, x[held], names)
    return out


def radscore_values(rad: dict, x: np.ndarray, names: list[str]) -> np.ndarray:
    cols = [names.index(f) for f in rad["features"]]
    z = (x[:, cols] - np.array(rad["means"])) / np.array(rad["sds"])
    return rad["intercept"] + z @ np.array(rad["weights"])


def clinical_matrix(rows: list[dict]) -> np.ndarray:
    encoded = [encode_clinical(r) for r in rows]
    return np.array([[e[k] for k in CLINICAL] for e in encoded], float)


def fit_logistic(x: np.ndarray, y: np.ndarray, variables: list[str]) -> dict:
    """Unpenalized logistic regression on standardized variables, with plotting axes from the data."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    model = LogisticRegression(C=np.inf, max_iter=10000).fit((x - mu) / sd, y)
    axes = {v: [float(np.floor(x[:, i].min())), float(np.ceil(x[:, i].max()))] for i, v in enumerate(variables)}
    return {"variables": variables, "means": [float(v) for v in mu], "sds": [float(v) for v in sd],
            "coefficients": [float(c) for c in model.coef_[0]], "intercept": float(model.intercept_[0]),
            "axes": axes}


def predict_logistic(model: dict, x: np.ndarray) -> np.ndarray:
    lp = model["intercept"] + ((x - np.array(model["means"])) / np.array(model["sds"])) @ np.array(
        model["coefficients"])
    return 1 / (1 + np.exp(-lp))


#: the folds of the out-of-fold rad-scores (``out_of_fold_radscore``)
OOF_FOLDS = 5
#: the steps ``fit_nomogram`` reports: the rad-score, each out-of-fold refit, the fusion and clinical models
FIT_STEPS = 1 + OOF_FOLDS + 1


def fit_nomogram(features: np.ndarray, names: list[str], clinical: list[dict], y: np.ndarray, *,
                 mask_source: str, seed: int = 0, progress: Callable[[int, int, str], None] | None = None
                 ) -> tuple[dict, dict]:
    """Fit on training patients.

    Args:
        features: (patients, features) radiomics table.
        names: its column names.
        clinical: each patient's clinical values.
        y: each patient's outcome (1: nodal metastasis).
        mask_source: ``auto`` or ``manual`` (recorded in the nomogram).
        seed: seed of the cross-validation folds.
        progress: ``progress(step, FIT_STEPS, what)`` as each step starts: the six LASSO fits take most of the
            minute (about 12 s each on the shipped cohort), and the command said nothing meanwhile.

    Returns:
        (fusion nomogram JSON dict, clinical-only model dict).
    """
    import sklearn

    say = progress or (lambda step, steps, what: None)
    say(1, FIT_STEPS, f"rad-score: cross-validated LASSO on {len(y)} patients")
    rad = fit_radscore(features, y, names, seed)
    radscore = radscore_values(rad, features, names)
    oof = out_of_fold_radscore(features, y, names, seed, folds=OOF_FOLDS, on_fold=lambda k: say(
        1 + k, FIT_STEPS, f"out-of-fold rad-scores: LASSO without fold {k} of {OOF_FOLDS}"))
    say(FIT_STEPS, FIT_STEPS, "fusion and clinical-only models")
    clin = clinical_matrix(clinical)
    fusion = fit_logistic(np.column_stack([oof, clin]), y, ["radscore", *CLINICAL])
    both = np.concatenate([radscore, oof])
    fusion["axes"]["radscore"] = [float(np.floor(both.min())), float(np.ceil(both.max()))]
    clinical_only = fit_logistic(clin, y, list(CLINICAL))
    p_fusion = predict_logistic(fusion, np.column_stack([radscore, clin]))
    p_clin = predict_logistic(clinical_only, clin)
    candidates, c_value = rad.pop("candidates"), rad.pop("C")
    nomogram = {
        "schema_version": SCHEMA_VERSION, "kind": "fusion", "created": _dt.date.today().isoformat(),
        "synthetic_training_data": True, "mask_source": mask_source, "radscore": rad, "model": fusion,
        "risk_groups": RISK_GROUPS, "points": {"max_points": 100},
        "training_metrics": {"n": int(len(y)), "prevalence": float(np.mean(y)), "auc_fusion": stats.auc(y, p_fusion),
                             "auc_clinical": stats.auc(y, p_clin), "auc_radscore": stats.auc(y, radscore),
                             "auc_radscore_out_of_fold": stats.auc(y, oof),
                             "youden_threshold": stats.youden_threshold(y, p_fusion),
                             "candidate_features": candidates, "lasso_C": c_value},
        "versions": {"otscc-edge": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__},
    }
    return validate(nomogram), clinical_only
