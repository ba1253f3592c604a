"""Segmentation runtime: post-processing rules and the stack -> CE-T1 grid path with a stub backend."""

from __future__ import annotations

import numpy as np

from inference.backends.base import SegBackend
from inference.preprocess import mask_to_model
from inference.segment import KEEP_COMPONENT_ML, postprocess, segment
from inference.volume import Geometry, Volume


def test_largest_component_kept_small_ones_dropped_large_ones_kept():
    prob = np.zeros((10, 60, 60), np.float32)
    prob[2:6, 5:25, 5:25] = 0.9  # 1600 voxels: largest
    prob[2:4, 40:43, 40:43] = 0.9  # 18 voxels: speck
    prob[6:9, 40:55, 40:55] = 0.8  # 675 voxels: a second focus
    voxel_ml = 0.001  # 1 mm^3 voxels -> 1.6 ml, 0.018 ml, 0.675 ml
    mask, kept, removed = postprocess(prob, voxel_ml)
    assert kept == 2 and removed == 1
    assert mask[3, 10, 10] == 1 and mask[7, 45, 45] == 1 and mask[3, 41, 41] == 0
    assert KEEP_COMPONENT_ML <= 0.675  # the rule above depends on this stated threshold


def test_holes_are_filled_and_empty_stays_empty():
    prob = np.zeros((5, 30, 30), np.float32)
    prob[1:4, 5:25, 5:25] = 0.9
    prob[1:4, 12:18, 12:18] = 0.1  # necrotic centre predicted low
    mask, _, _ = postprocess(prob, 0.001)
    assert mask[2, 15, 15] == 1
    empty, kept, removed = postprocess(np.zeros((3, 8, 8), np.float32), 0.001)
    assert empty.sum() == 0 and kept == 0 and removed == 0


class _OracleBackend(SegBackend):
    """Returns a known model-grid mask, so the test checks geometry handling only."""

    name = "oracle"

    def __init__(self, stack_mask):
        self.stack_mask, self.input_size, self.max_batch, self.calls = stack_mask, stack_mask.shape[1], 4, 0

    def predict(self, batch):
        start = self.calls * self.max_batch
        self.calls += 1
        return self.stack_mask[start:start + batch.shape[0]]


def test_segment_maps_back_to_cet1_grid():
    geometry = Geometry((200, 180, 12), (0.7, 0.7, 4.0), (-70.0, -60.0, -20.0))
    z, y, x = np.meshgrid(*[np.arange(n) for n in geometry.shape_zyx], indexing="ij")
    head = (((x - 100) / 90.0) ** 2 + ((y - 90) / 80.0) ** 2 <= 1).astype(np.float32) * 100
    truth = ((((x - 120) * 0.7 / 12) ** 2 + ((y - 80) * 0.7 / 10) ** 2 + ((z - 6) * 4 / 10) ** 2) <= 1)
    vols = {r: Volume(head + 50 * truth, geometry) for r in ("cet1", "t2", "t1")}
    from inference.preprocess import ModelGrid, plan_slices

    plan, _ = plan_slices(vols["cet1"], ModelGrid(128, 160.0))
    backend = _OracleBackend(mask_to_model(truth.astype(np.uint8), plan))
    progress = []
    result = segment(vols, backend, progress=progress.append)
    assert result.mask.array.shape == truth.shape and result.mask.geometry == geometry
    inter = np.logical_and(result.mask.array > 0, truth).sum()
    assert 2 * inter / (result.mask.array.sum() + truth.sum()) > 0.97
    assert abs(result.volume_ml - truth.sum() * geometry.voxel_volume_ml) < 0.1 * truth.sum() * 0.00196
    assert progress[-1] == 1.0 and result.found_tumor
