"""Validation against the float model: figures, thresholds by precision, and failing variants not shipped."""

from __future__ import annotations

import numpy as np
import pytest

from export.validate import MIN_REFERENCE_DICE, THRESHOLDS, reference_warning, validate
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


class _Nothing(_Bright):
    """A float model that learned nothing: never predicts tumor."""

    def predict(self, batch):
        return np.zeros(batch.shape[:3], np.float32)


def test_a_float_model_that_finds_no_tumor_is_flagged_but_not_refused(export_cohort, tiny_model, outcome):
    """B3: a model with validation Dice 0 was exported with every variant "ok, agree 100%" and no warning."""
    import json

    ids = json.loads((tiny_model / "split.json").read_text())["test"][:1]
    reference, results = validate(_Nothing(), {"same-fp32": (_Nothing(), "fp32")}, export_cohort, ids,
                                  ModelGrid(64, 160.0))
    assert reference["dice_mean"] == 0.0 and results["same-fp32"]["passed"]
    assert f"mean Dice 0.0000 against the ground truth on the 1 patient validated (below {MIN_REFERENCE_DICE})" \
        in reference["warning"]
    assert outcome[0]["dice_mean"] < MIN_REFERENCE_DICE and outcome[0]["warning"]  # "bright pixels": 0.005
    assert reference_warning(0.7965, 41) is None  # the shipped model's float reference
