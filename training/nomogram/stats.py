"""Evaluation statistics for binary risk models (each checked against an independent computation in tests).

* ROC AUC (Mann-Whitney), bootstrap percentile 95% CI (patient resampling, fixed seed).
* Youden-optimal threshold (chosen on the training set, applied unchanged elsewhere), sensitivity and
  specificity at a threshold.
* Calibration intercept and slope: logistic regression of the outcome on logit(p) (slope 1, intercept 0
  is perfect); Brier score; binned calibration curve.
* Decision-curve net benefit: TP/n - FP/n * t/(1-t) at threshold probability t.
* DeLong test for two correlated AUCs on the same patients (DeLong, DeLong & Clarke-Pearson 1988),
  with placement values computed by midranks.
"""

from __future__ import annotations

import math

import numpy as np


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic (ties count one half)."""
    y, p = np.asarray(y).astype(bool), np.asarray(p, float)
    pos, neg = p[y], p[~y]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = _midranks(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _midranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j < len(x) and sorted_x[j] == sorted_x[i]:
            j += 1
        ranks[order[i:j]] = 0.5 * (i + j - 1) + 1
        i = j
    return ranks


def bootstrap_auc_ci(y, p, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the AUC (resamples without both classes are redrawn)."""
    y, p = np.asarray(y).astype(bool), np.asarray(p, float)
    rng = np.random.default_rng(seed)
    values = []
    while len(values) < n_boot:
        idx = rng.integers(0, len(y), len(y))
        if y[idx].all() or not y[idx].any():
            continue
        values.append(auc(y[idx], p[idx]))
    lo, hi = np.percentile(values, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(lo), float(hi)


def youden_threshold(y, p) -> float:
    """Threshold maximizing sensitivity + specificity - 1 (predict positive when p >= threshold).

    The cut lies halfway between the optimal probability and the next lower one (half of it for the lowest),
    not on a patient's probability: the same probability recomputed elsewhere (from the nomogram JSON, on
    another CPU) may differ in its last digit, which flipped that patient's class and the Youden index.
    """
    y, p = np.asarray(y).astype(bool), np.asarray(p, float)
    best_t, best_j = 0.5, -1.0
    values = np.unique(p)
    for i, t in enumerate(values):
        sens, spec = sens_spec(y, p, t)
        if sens + spec - 1 > best_j:
            best_t, best_j = float((values[i - 1] + t) / 2 if i else t / 2), sens + spec - 1
    return best_t


def sens_spec(y, p, threshold: float) -> tuple[float, float]:
    y, pred = np.asarray(y).astype(bool), np.asarray(p, float) >= threshold
    sens = float((pred & y).sum() / max(1, y.sum()))
    spec = float((~pred & ~y).sum() / max(1, (~y).sum()))
    return sens, spec


def brier(y, p) -> float:
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def calibration_intercept_slope(y, p) -> tuple[float, float]:
    """Logistic recalibration ``logit P(y) = a + b logit(p)`` fitted by Newton-Raphson (unpenalized)."""
    y = np.asarray(y, float)
    # clip only what has no finite logit (0 and 1): an unpenalized model gives p = 1 - 1e-11 to some patients
    # and a coarser clip would move the fit away from the maximum likelihood
    eps = np.finfo(float).eps
    lp = _logit(np.clip(np.asarray(p, float), eps, 1 - eps))
    x = np.column_stack([np.ones_like(lp), lp])
    beta = np.zeros(2)
    for _ in range(100):
        mu = 1 / (1 + np.exp(-x @ beta))
        w = mu * (1 - mu)
        hessian = x.T @ (x * w[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, x.T @ (y - mu))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def calibration_curve(y, p, bins: int = 5) -> list[dict]:
    """Mean predicted vs observed rate in quantile bins; empty bins are left out.

    Bins are ``[e0, e1], (e1, e2], ...`` over the quantile edges (a value on an inner edge joins the lower
    bin), the convention of ``sklearn.calibration.calibration_curve(strategy="quantile")``, so the two agree.
    """
    y, p = np.asarray(y, float), np.asarray(p, float)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    which = np.searchsorted(edges[1:-1], p, side="left")
    out = []
    for k in range(max(1, len(edges) - 1)):  # all-equal predictions: one bin
        sel = which == k
        if sel.any():
            out.append({"predicted": float(p[sel].mean()), "observed": float(y[sel].mean()), "n": int(sel.sum())})
    return out


def net_benefit(y, p, thresholds) -> list[dict]:
    """Decision curve: model, treat-all and treat-none net benefit at each threshold probability."""
    y, p = np.asarray(y).astype(bool), np.asarray(p, float)
    n, prevalence = len(y), float(np.mean(y))
    rows = []
    for t in thresholds:
        pred = p >= t
        odds = t / (1 - t)
        model = (pred & y).sum() / n - (pred & ~y).sum() / n * odds
        rows.append({"threshold": float(t), "model": float(model),
                     "treat_all": prevalence - (1 - prevalence) * odds, "treat_none": 0.0})
    return rows


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _placements(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong structural components V10 (per positive) and V01 (per negative)."""
    pos, neg = p[y], p[~y]
    m, n = len(pos), len(neg)
    all_ranks = _midranks(np.concatenate([pos, neg]))
    pos_ranks, neg_ranks = _midranks(pos), _midranks(neg)
    v10 = (all_ranks[:m] - pos_ranks) / n
    v01 = 1.0 - (all_ranks[m:] - neg_ranks) / m
    return v10, v01


def delong_test(y, p1, p2) -> dict:
    """Two-sided DeLong test of AUC(p1) == AUC(p2) on the same patients."""
    y = np.asarray(y).astype(bool)
    comps = [_placements(y, np.asarray(p, float)) for p in (p1, p2)]
    aucs = np.array([c[0].mean() for c in comps])
    v10 = np.vstack([c[0] for c in comps])
    v01 = np.vstack([c[1] for c in comps])
    cov = np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1]
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    z = float((aucs[0] - aucs[1]) / math.sqrt(var)) if var > 0 else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return {"auc1": float(aucs[0]), "auc2": float(aucs[1]), "z": z, "p_value": p_value, "variance": float(var)}
