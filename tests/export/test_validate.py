"""Validation against the float model: figures, thresholds by precision, and failing variants not shipped."""

from __future__ import annotations

import numpy as np
import pytest

from export.validate import THRESHOLDS, validate
from inference.backends.base import SegBackend
from inference.preprocess import ModelGrid


class _Bright(SegBackend):
    """'Segments' bright CE-T1 pixels; ``shift`` moves the output to imitate a broken variant."""

    name = "bright"

    def __init__(self, shift: int = 0, noise: float = 0.0):
        self.shift, self.noise, self.input_size, self.max_batch = shift, noise, 64, 4

    def predict(self, batch):
        prob = (batch[..., 0] > 0.75).astype(np.float32) * 0.9
        if self.noise:
            prob = np.clip(prob + np.random.default_rng(0).normal(0, self.noise, prob.shape), 0, 1)
        return np.roll(prob, self.shift, axis=2).astype(np.float32)


@pytest.fixture(scope="module")
def outcome(export_cohort, tiny_model):
    import json

    ids = json.loads((tiny_model / "split.json").read_text())["test"][:1]
    variants = {"same-fp32": (_Bright(), "fp32"), "tiny-noise-int8": (_Bright(noise=0.01), "int8"),
                "shifted-int8": (_Bright(shift=6), "int8")}
    return validate(_Bright(), variants, export_cohort, ids, ModelGrid(64, 160.0))


def test_identical_variant_passes_with_perfect_figures(outcome):
    reference, results = outcome
    same = results["same-fp32"]
    assert reference["patients"] == 1 and same["passed"] and same["failures"] == []
    assert same["dice_change"] == 0 and same["agreement_min"] == 1.0 and same["mask_dice_mean"] == 1.0
    assert same["thresholds"] == {"max_dice_change": 0.002, "min_agreement": 0.9999, "min_mask_dice": 0.99}


def test_small_noise_passes_int8_limits(outcome):
    assert outcome[1]["tiny-noise-int8"]["passed"], outcome[1]["tiny-noise-int8"]


def test_shifted_variant_fails_and_says_why(outcome):
    shifted = outcome[1]["shifted-int8"]
    assert not shifted["passed"]
    assert any("mask Dice" in f for f in shifted["failures"])
    assert shifted["mask_dice_mean"] < THRESHOLDS["int8"].min_mask_dice


def test_thresholds_are_stricter_for_float_variants():
    int8, fp16, fp32 = THRESHOLDS["int8"], THRESHOLDS["fp16"], THRESHOLDS["fp32"]
    assert int8.max_dice_change == 0.01 and int8.min_agreement == 0.99  # the limits
    assert fp32.max_dice_change <= fp16.max_dice_change < int8.max_dice_change
    assert fp32.min_agreement >= fp16.min_agreement > int8.min_agreement
    assert fp32.min_mask_dice >= fp16.min_mask_dice > int8.min_mask_dice
