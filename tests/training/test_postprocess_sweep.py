"""The post-processing sweep's hysteresis rule grows the runtime's mask only through touching components."""

from __future__ import annotations

import numpy as np
import pytest

from training.seg.postprocess_sweep import hysteresis, sweep


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
