"""The post-processing sweep's hysteresis rule grows the runtime's mask only through touching components."""

from __future__ import annotations

import numpy as np
import pytest

from training.seg.postprocess_sweep import by_component_score, hysteresis, sweep


def _probs():
    prob = np.zeros((5, 20, 20), np.float32)
    prob[1:4, 5:10, 5:10] = 0.9   # the confident core
    prob[1:4, 10:12, 5:10] = 0.35  # a faint rim touching it
    prob[4, 5:10, 5:10] = 0.35     # a faint end slice touching it
    prob[2, 15:18, 15:18] = 0.35   # a faint blob far away
    truth = np.zeros(prob.shape, bool)
    truth[1:4, 5:12, 5:10] = True
    truth[4, 5:10, 5:10] = True
    return prob, truth


def test_hysteresis_adds_touching_faint_voxels_only():
    prob, truth = _probs()
    mask = hysteresis(prob, voxel_ml=0.001, low=0.3)
    assert mask[1:4, 10:12, 5:10].all() and mask[4, 5:10, 5:10].all()  # rim and end slice joined
    assert not mask[2, 15:18, 15:18].any()                              # the far blob stays out
    assert np.array_equal(mask, truth)
    assert not hysteresis(np.zeros_like(prob), 0.001, 0.3).any()


def test_sweep_counts_wins_and_losses_against_the_runtime_rule():
    prob, truth = _probs()
    table = sweep([(prob, truth, 0.001)])
    runtime = table["runtime (threshold 0.5)"]["dice_mean"]
    assert runtime < 1.0
    assert table["hysteresis 0.3-0.5"]["dice_mean"] == pytest.approx(1.0)
    assert table["hysteresis 0.3-0.5"]["better"] == 1 and table["hysteresis 0.3-0.5"]["worse"] == 0
    assert table["threshold 0.55"]["better"] == 0


def test_component_rules_can_prefer_a_smaller_but_more_confident_component():
    prob = np.zeros((4, 20, 20), np.float32)
    prob[1:3, 2:6, 2:6] = 0.99    # the tumor: 32 voxels, confident
    prob[1:3, 10:16, 10:16] = 0.55  # a larger, barely-above-threshold false positive: 72 voxels
    truth = prob > 0.9
    assert not by_component_score(prob, 1e-6, "mean probability")[prob == 0.55].any()
    assert np.array_equal(by_component_score(prob, 1e-6, "mean probability"), truth)
    assert np.array_equal(by_component_score(prob, 1e-6, "peak probability"), truth)
    assert by_component_score(prob, 1e-6, "probability mass").sum() == 72  # 72 * 0.55 > 32 * 0.99
    assert by_component_score(prob, 1e-6, "all").sum() == 104
    assert by_component_score(prob, 1.0, "mean probability").sum() == 104  # both over the keep-size: both kept
    assert not by_component_score(np.zeros_like(prob), 1e-6, "all").any()
    table = sweep([(prob, truth, 1e-6)])
    assert table["component: mean probability"]["dice_mean"] == pytest.approx(1.0)
    assert table["runtime (threshold 0.5)"]["dice_mean"] == pytest.approx(0.0)
