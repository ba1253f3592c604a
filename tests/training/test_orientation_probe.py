"""The orientation probe tells a model that reads appearance from one that learned where tumors sit."""

from __future__ import annotations

import numpy as np
import pytest

from training.seg.orientation_probe import ORIENTATIONS, orient, probe


def _case():
    images = np.zeros((4, 32, 32, 3), np.float32)
    mask = np.zeros((4, 32, 32), np.uint8)
    images[1:3, 4:10, 20:28] = 0.9  # a bright tumor near the top right, on two slices
    mask[1:3, 4:10, 20:28] = 1
    return images, mask


def test_appearance_reader_scores_the_same_in_every_orientation():
    images, mask = _case()
    dice = probe(lambda x: x[..., 0], images, mask)
    assert list(dice) == [label for label, _, _ in ORIENTATIONS]
    assert all(v == pytest.approx(1.0) for v in dice.values())


def test_position_prior_shows_up_as_orientation_dependence():
    images, mask = _case()

    def top_half_only(x):  # finds bright tumors, but only where it expects them
        out = x[..., 0].copy()
        out[:, 16:] = 0
        return out

    dice = probe(top_half_only, images, mask)
    assert dice["as is"] == pytest.approx(1.0) and dice["flip lr"] == pytest.approx(1.0)
    assert dice["flip ud"] == 0 and dice["rot 180"] == 0


def test_orient_keeps_image_and_mask_together():
    images, mask = _case()
    for _, turns, flip in ORIENTATIONS:
        turned_image, turned_mask = orient(images, turns, flip), orient(mask, turns, flip)
        assert ((turned_image[..., 0] > 0.5) == (turned_mask > 0)).all()
