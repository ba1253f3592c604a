"""Fitting the rad-score and fusion nomogram on a synthetic feature table with known signal."""

from __future__ import annotations

import numpy as np
import pytest

from inference.nomogram import Nomogram
from training.nomogram import stats
from training.nomogram.fit import fit_nomogram, select_candidates


def table(n=160, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(0, 1, n)
    doi = np.clip(rng.gamma(3, 2.5, n), 0.5, 30)
    latent = 1.2 * signal + 0.25 * (doi - 7) + rng.normal(0, 0.8, n)
    y = (latent > np.quantile(latent, 0.6)).astype(int)
    names = ["cet1_signal", "cet1_signal_copy", "t2_noise1", "t2_noise2", "cet1_constant"]
    x = np.column_stack([signal * 10 + 50, signal * 10 + 50 + rng.normal(0, 0.5, n), rng.normal(0, 1, n),
                         rng.normal(0, 1, n), np.full(n, 3.0)])
    clinical = [{"age": float(rng.normal(50, 12)), "sex": "M" if rng.random() < 0.74 else "F",
                 "ct_stage": "T3" if d > 10 else "T2" if d > 5 else "T1", "cn_status": int(rng.random() < 0.3),
                 "doi_mm": float(d)} for d in doi]
    return x, names, clinical, y


def test_filters_drop_constant_and_correlated_features():
    x, names, _, y = table()
    kept = [names[i] for i in select_candidates(x, y, names)]
    assert "cet1_constant" not in kept
    assert ("cet1_signal" in kept) != ("cet1_signal_copy" in kept)  # exactly one of the r ~ 1 pair


def test_fit_finds_signal_and_writes_a_valid_nomogram():
    x, names, clinical, y = table()
    nomogram, clinical_only = fit_nomogram(x, names, clinical, y, mask_source="manual", seed=1)
    assert any(f.startswith("cet1_signal") for f in nomogram["radscore"]["features"])
    assert nomogram["training_metrics"]["auc_fusion"] > nomogram["training_metrics"]["auc_clinical"]
    scorer = Nomogram(nomogram)  # JSON round trip through the runtime's validator
    features = dict(zip(names, x[0], strict=True))
    result = scorer.score(features, clinical[0])
    assert 0 < result.probability < 1
    # the runtime score equals the fitting code's own prediction on the same patient
    probs = [scorer.score(dict(zip(names, row, strict=True)), c).probability for row, c in zip(x, clinical,
                                                                                                 strict=True)]
    assert stats.auc(y, probs) == pytest.approx(nomogram["training_metrics"]["auc_fusion"], abs=1e-9)
    assert "radscore" not in clinical_only["variables"]


def test_fit_without_signal_is_not_better_than_chance_on_new_data():
    x, names, clinical, y = table(seed=2)
    rng = np.random.default_rng(9)
    shuffled = rng.permutation(y)
    nomogram, _ = fit_nomogram(x, names, clinical, shuffled, mask_source="manual")
    xt, _, clin_t, yt = table(seed=3)
    scorer = Nomogram(nomogram)
    probs = [scorer.score(dict(zip(names, row, strict=True)), c).probability for row, c in zip(xt, clin_t,
                                                                                                 strict=True)]
    assert stats.auc(yt, probs) < 0.75  # nothing learned from shuffled labels carries over
