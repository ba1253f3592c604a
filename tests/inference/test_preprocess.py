"""Model input definition: orientation, normalization, resampling and the exact inverse."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import GeometryError
from inference.preprocess import (
    ModelGrid,
    canonical_axes,
    from_model_stack,
    mask_to_model,
    normalize_intensity,
    plan_slices,
    to_model_stack,
)
from inference.volume import Geometry, Volume

LPS = (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)
RAS_STORED = (-1.0, 0, 0, 0, -1.0, 0, 0, 0, 1.0)  # how a NIfTI in RAS order looks in LPS terms


def _grid(shape_zyx=(24, 300, 340), spacing=(0.55, 0.6, 4.0), direction=LPS, origin=(-90.0, -100.0, -40.0)):
    return Geometry(size=shape_zyx[::-1], spacing=spacing, origin=origin, direction=direction)


def _physical_points(geometry: Geometry) -> np.ndarray:
    z, y, x = np.meshgrid(*[np.arange(n) for n in geometry.shape_zyx], indexing="ij")
    return geometry.index_to_physical(np.stack([x, y, z], axis=-1).astype(float))


def _ellipsoid(geometry: Geometry, center=(5.0, 10.0, 0.0), radii=(18.0, 12.0, 14.0)) -> np.ndarray:
    pts = _physical_points(geometry)
    r2 = sum(((pts[..., i] - center[i]) / radii[i]) ** 2 for i in range(3))
    return (r2 <= 1.0).astype(np.uint8)


def _head(geometry: Geometry, seed=0) -> np.ndarray:
    pts = _physical_points(geometry)
    head = ((pts[..., 0] / 70.0) ** 2 + ((pts[..., 1] - 5) / 85.0) ** 2) <= 1.0
    rng = np.random.default_rng(seed)
    return (head * (100 + 20 * np.sin(pts[..., 0] / 7.0)) + rng.normal(0, 2, head.shape)).astype(np.float32)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


@pytest.mark.parametrize("direction", [LPS, RAS_STORED], ids=["lps", "ras-stored"])
@pytest.mark.parametrize("spacing", [(0.45, 0.45, 3.0), (0.85, 0.85, 5.0), (0.55, 0.7, 4.0)])
def test_mask_round_trip_keeps_dice(direction, spacing):
    geometry = _grid(spacing=spacing, direction=direction,
                     origin=(-80.0, -90.0, -40.0) if direction == LPS else (80.0, 90.0, -40.0))
    head = Volume(_head(geometry), geometry)
    mask = _ellipsoid(geometry)
    assert mask.sum() > 500
    plan, _ = plan_slices(head, ModelGrid())
    back = from_model_stack(mask_to_model(mask, plan), plan) >= 0.5
    assert back.shape == mask.shape
    assert dice(back, mask) >= 0.98


def test_round_trip_fails_if_inverse_is_wrong():
    """Guard: the Dice check above can fail (a shifted inverse drops well below 0.98)."""
    geometry = _grid(spacing=(0.5, 0.5, 4.0))
    plan, _ = plan_slices(Volume(_head(geometry), geometry))
    mask = _ellipsoid(geometry)
    back = from_model_stack(mask_to_model(mask, plan), plan) >= 0.5
    assert dice(np.roll(back, 12, axis=2), mask) < 0.9


def test_same_anatomy_stored_two_ways_gives_same_model_input():
    lps = _grid(spacing=(0.6, 0.6, 4.0), direction=LPS, origin=(-90.0, -100.0, -40.0))
    # same voxel centres, stored with x and y reversed (RAS order)
    last = lps.index_to_physical(np.array([lps.size[0] - 1, lps.size[1] - 1, 0.0]))
    ras = Geometry(lps.size, lps.spacing, (float(last[0]), float(last[1]), -40.0), RAS_STORED)
    array_lps = _head(lps) + 50 * _ellipsoid(lps)
    array_ras = array_lps[:, ::-1, ::-1].copy()
    vols_lps = {r: Volume(array_lps, lps) for r in ("cet1", "t2", "t1")}
    vols_ras = {r: Volume(array_ras, ras) for r in ("cet1", "t2", "t1")}
    stack_lps, _, _ = to_model_stack(vols_lps, ModelGrid(size=64))
    stack_ras, _, _ = to_model_stack(vols_ras, ModelGrid(size=64))
    np.testing.assert_allclose(stack_lps, stack_ras, atol=1e-5)


def test_model_stack_shape_range_and_channel_order():
    geometry = _grid(shape_zyx=(6, 120, 140), spacing=(0.8, 0.8, 4.0))
    base = _head(geometry)
    vols = {"cet1": Volume(base, geometry), "t2": Volume(base * 0 + 1 + base, geometry),
            "t1": Volume(base[:, :, ::-1].copy(), geometry)}
    stack, plan, _ = to_model_stack(vols, ModelGrid(size=32, fov_mm=100))
    assert stack.shape == (6, 32, 32, 3) and stack.dtype == np.float32
    assert stack.min() >= 0.0 and stack.max() <= 1.0
    assert not np.allclose(stack[..., 0], stack[..., 2])  # T1 differs (mirrored), so channels are distinct
    assert plan.to_dict()["version"]


def test_normalization_is_robust_to_outliers():
    rng = np.random.default_rng(1)
    array = rng.normal(100, 10, (8, 40, 40)).astype(np.float32)
    spiky = array.copy()
    spiky[0, 0, :5] = 1e6  # a few hot voxels must not squash the rest
    a, b = normalize_intensity(array), normalize_intensity(spiky)
    assert abs(float(np.median(a)) - float(np.median(b))) < 0.02


def test_constant_image_is_refused():
    with pytest.raises(GeometryError, match="no intensity contrast"):
        normalize_intensity(np.full((4, 10, 10), 7.0, dtype=np.float32))


def test_unregistered_volumes_are_refused():
    g1, g2 = _grid(shape_zyx=(4, 50, 50)), _grid(shape_zyx=(5, 50, 50))
    vols = {"cet1": Volume(_head(g1), g1), "t2": Volume(_head(g2), g2), "t1": Volume(_head(g1), g1)}
    with pytest.raises(GeometryError, match="register"):
        to_model_stack(vols)


def test_coronal_acquisition_is_reoriented_with_a_warning():
    coronal = (1.0, 0, 0, 0, 0, 1.0, 0, -1.0, 0)  # index y runs along physical z
    geometry = Geometry((40, 30, 20), (1.0, 1.0, 4.0), (0.0, 0.0, 0.0), coronal)
    perm, flips, warnings = canonical_axes(geometry)
    assert perm[0] != 0 and any("not acquired axially" in w for w in warnings)
