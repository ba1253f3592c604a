"""Nomogram evaluation statistics against scikit-learn and a worked DeLong example."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, confusion_matrix, recall_score, roc_auc_score, roc_curve

from training.nomogram import stats


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = rng.random(120) < 0.4
    p = 1 / (1 + np.exp(-(rng.normal(0, 1, 120) + 1.5 * y - 0.6)))
    return y, np.round(p, 2)  # rounding creates ties


def test_auc_and_brier_match_sklearn(data):
    y, p = data
    assert stats.auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert stats.brier(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_youden_matches_roc_curve(data):
    y, p = data
    fpr, tpr, thr = roc_curve(y, p)
    best = thr[np.argmax(tpr - fpr)]
    sens, spec = stats.sens_spec(y, p, stats.youden_threshold(y, p))
    assert sens + spec - 1 == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    assert stats.sens_spec(y, p, best) == (sens, spec)


def test_youden_cut_survives_last_digit_changes(data):
    """The same probabilities recomputed elsewhere (JSON coefficients, another CPU) keep every class."""
    y, p = data
    t = stats.youden_threshold(y, p)
    assert not np.isin(t, p)  # between two patients, not on one
    for nudged in (np.nextafter(p, 0), np.nextafter(p, 1)):
        assert stats.sens_spec(y, nudged, t) == stats.sens_spec(y, p, t)
    assert stats.youden_threshold([True, True, False], [0.2, 0.4, 0.1]) == pytest.approx(0.15)
    assert stats.youden_threshold([True, False], [0.2, 0.4]) == pytest.approx(0.1)  # all positive: below the lowest


def test_calibration_matches_unpenalized_sklearn(data):
    y, p = data
    lp = np.log(p / (1 - p)).reshape(-1, 1)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(lp, y)
    a, b = stats.calibration_intercept_slope(y, p)
    assert a == pytest.approx(ref.intercept_[0], abs=1e-5) and b == pytest.approx(ref.coef_[0, 0], abs=1e-5)
    # a perfectly calibrated model: slope ~1, intercept ~0 on a large sample
    rng = np.random.default_rng(1)
    q = rng.uniform(0.05, 0.95, 20000)
    a, b = stats.calibration_intercept_slope(rng.random(20000) < q, q)
    assert abs(a) < 0.1 and abs(b - 1) < 0.1


def test_bootstrap_ci_brackets_auc(data):
    y, p = data
    lo, hi = stats.bootstrap_auc_ci(y, p, n_boot=300, seed=3)
    assert lo < stats.auc(y, p) < hi and hi - lo < 0.3
    assert stats.bootstrap_auc_ci(y, p, n_boot=300, seed=3) == (lo, hi)


def test_net_benefit_worked_example():
    y = np.array([1, 1, 0, 0, 0])
    p = np.array([0.9, 0.3, 0.6, 0.1, 0.2])
    row = stats.net_benefit(y, p, [0.5])[0]
    # at t = 0.5: TP = 1, FP = 1 -> 1/5 - 1/5 * 1 = 0; treat all: 0.4 - 0.6 = -0.2
    assert row["model"] == pytest.approx(0.0) and row["treat_all"] == pytest.approx(-0.2)


def test_delong_worked_example():
    """3 positives, 4 negatives, computed by hand from the Heaviside kernel psi(x, y)."""
    y = np.array([1, 1, 1, 0, 0, 0, 0], bool)
    p1 = np.array([0.9, 0.7, 0.4, 0.5, 0.3, 0.2, 0.4])
    p2 = np.array([0.6, 0.8, 0.3, 0.7, 0.1, 0.35, 0.2])

    def psi(a, b):
        return 1.0 if a > b else 0.5 if a == b else 0.0

    def components(p):
        pos, neg = p[y], p[~y]
        v10 = np.array([np.mean([psi(a, b) for b in neg]) for a in pos])
        v01 = np.array([np.mean([psi(a, b) for a in pos]) for b in neg])
        return v10, v01

    (a10, a01), (b10, b01) = components(p1), components(p2)
    # by hand: p1 positives beat negatives 4/4, 4/4, (2 + 0.5)/4 -> AUC1 = (1 + 1 + 0.625) / 3
    assert a10.mean() == pytest.approx((1 + 1 + 0.625) / 3)
    s10 = np.cov(np.vstack([a10, b10]))
    s01 = np.cov(np.vstack([a01, b01]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / 3 + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / 4
    z = (a10.mean() - b10.mean()) / math.sqrt(var)
    result = stats.delong_test(y, p1, p2)
    assert result["auc1"] == pytest.approx(a10.mean()) and result["auc2"] == pytest.approx(b10.mean())
    assert result["variance"] == pytest.approx(var) and result["z"] == pytest.approx(z)
    assert result["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    # the same example worked through on paper: structural components (fractions of the other class beaten,
    # ties one half), then the variance of the paired differences of the components
    assert a10 == pytest.approx([1, 1, 2.5 / 4]) and b10 == pytest.approx([3 / 4, 1, 2 / 4])
    assert a01 == pytest.approx([2 / 3, 1, 1, 2.5 / 3]) and b01 == pytest.approx([1 / 3, 1, 2 / 3, 1])
    # d10 = (1/4, 0, 1/8): s^2 = 1/64, / 3 positives; d01 = (1/3, 0, 1/3, -1/6): s^2 = 1/16, / 4 negatives
    assert result["variance"] == pytest.approx(1 / 192 + 1 / 64) == 1 / 48
    assert result["auc1"] == pytest.approx(0.875) and result["auc2"] == pytest.approx(0.75)
    assert result["z"] == pytest.approx(math.sqrt(3) / 2)  # 0.125 / sqrt(1/48)
    assert result["p_value"] == pytest.approx(2 * norm.sf(math.sqrt(3) / 2))  # ~0.386


def test_delong_same_model_is_not_significant(data):
    y, p = data
    assert stats.delong_test(y, p, p)["p_value"] == 1.0
    noisy = p + np.random.default_rng(5).normal(0, 0.5, len(p))
    assert stats.delong_test(y, p, noisy)["p_value"] < 0.05


def test_sens_spec_match_sklearn_recall(data):
    y, p = data
    for t in (0.2, 0.35, 0.5, float(np.median(p))):  # the median is one of the (tied) predictions
        pred = p >= t
        sens, spec = stats.sens_spec(y, p, t)
        assert sens == pytest.approx(recall_score(y, pred), abs=1e-12)
        assert spec == pytest.approx(recall_score(~y, ~pred), abs=1e-12)


def test_calibration_curve_matches_sklearn_quantile_bins(data):
    y, p = data  # rounded to 0.01: many predictions fall exactly on quantile edges
    for bins in (3, 5, 10):
        ours = stats.calibration_curve(y, p, bins=bins)
        observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
        assert [r["observed"] for r in ours] == pytest.approx(list(observed), abs=1e-12)
        assert [r["predicted"] for r in ours] == pytest.approx(list(predicted), abs=1e-12)
        assert sum(r["n"] for r in ours) == len(y)
    assert stats.calibration_curve(y, np.full(len(y), 0.3)) == [
        {"predicted": pytest.approx(0.3), "observed": pytest.approx(float(np.mean(y))), "n": len(y)}]


def test_net_benefit_matches_confusion_matrix(data):
    y, p = data
    thresholds = [0.1, 0.25, 0.4, 0.6]
    rows = stats.net_benefit(y, p, thresholds)
    for t, row in zip(thresholds, rows, strict=True):
        tn, fp, fn, tp = confusion_matrix(y, p >= t, labels=[False, True]).ravel()
        n = tn + fp + fn + tp
        assert row["model"] == pytest.approx(tp / n - fp / n * t / (1 - t), abs=1e-12)
        assert row["treat_all"] == pytest.approx((tp + fn) / n - (tn + fp) / n * t / (1 - t), abs=1e-12)
        assert row["treat_none"] == 0.0


def test_bootstrap_ci_equals_an_independent_resampling_with_sklearn(data):
    """Same resampling scheme (numpy Generator, redraw one-class samples), AUCs from scikit-learn."""
    y, p = data
    rng = np.random.default_rng(11)
    values = []
    while len(values) < 400:
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) < 2:
            continue
        values.append(roc_auc_score(y[idx], p[idx]))
    expected = np.percentile(values, [2.5, 97.5])
    assert stats.bootstrap_auc_ci(y, p, n_boot=400, seed=11) == pytest.approx(tuple(expected), abs=1e-12)


def test_calibration_with_extreme_predictions_matches_sklearn():
    """Unpenalized models give some patients p = 1 - 1e-10: the logit must not be clipped coarsely."""
    rng = np.random.default_rng(3)
    lp = rng.normal(0, 8, 80)  # predictions spread to within 1e-10 of 0 and 1
    y = rng.random(80) < 1 / (1 + np.exp(-0.3 * lp))
    p = 1 / (1 + np.exp(-lp))
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(np.log(p / (1 - p)).reshape(-1, 1), y)
    a, b = stats.calibration_intercept_slope(y, p)
    assert a == pytest.approx(ref.intercept_[0], abs=1e-5) and b == pytest.approx(ref.coef_[0, 0], abs=1e-5)
