"""The single definition of model input (training imports this module; nothing re-implements it).

Steps, versioned by ``PREPROCESS_VERSION``:

1. **Canonical orientation.** The CE-T1 voxel axes are permuted/flipped (never interpolated) so that the
   array reads ``[inferior->superior, anterior->posterior, right->left]`` (LPS, radiological display: the
   patient's right on the image's left, anterior at the top). NIfTI (RAS-stored) and DICOM inputs of the
   same anatomy thus give the same model input.
2. **Robust per-sequence intensity normalization.** Over the foreground (voxels above 10% of the 99th
   percentile, i.e. the head, not the air), the 0.5th and 99.5th percentiles are mapped to 0 and 1 and
   values clipped to [0, 1]. Percentiles rather than min/max or mean/SD because MRI has no absolute units,
   bias fields and a few very bright voxels (vessels, fat).
3. **In-plane resampling to the model grid.** Each axial slice is resampled (linear) to ``size x size``
   pixels covering a fixed field of view of ``fov_mm`` (default 256 pixels over 160 mm = 0.625 mm/pixel),
   centred on the in-plane centroid of the head foreground, which in head-and-neck MRI lies over the oral
   cavity / oropharynx. 160 mm spans the mandible, the whole tongue and the floor of mouth. Slices are
   never resampled in z: the model sees the acquired slices.
4. **Stacking** CE-T1, T2, T1 as channels 0, 1, 2 (all already on the CE-T1 grid after registration).

``from_model_stack`` is the exact inverse of steps 3 and 1: it maps a predicted ``(z, size, size)``
probability stack back onto the original CE-T1 grid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from inference.errors import GeometryError
from inference.imageops import center_of_mass, resample_inplane
from inference.volume import Geometry, Volume

PREPROCESS_VERSION = "1"
CHANNELS = ("cet1", "t2", "t1")


@dataclass(frozen=True)
class ModelGrid:
    """The model's in-plane grid."""

    size: int = 256
    fov_mm: float = 160.0

    @property
    def pixel_mm(self) -> float:
        return self.fov_mm / self.size


@dataclass(frozen=True)
class SlicePlan:
    """How one CE-T1 grid maps to the model grid (enough to invert exactly)."""

    perm: tuple[int, int, int]  # numpy axes of the original array, in canonical order
    flips: tuple[bool, bool, bool]  # flip applied after the permutation, per canonical axis
    source_shape: tuple[int, int, int]  # original array shape (z, y, x)
    canonical_spacing: tuple[float, float, float]  # mm along canonical (z, y, x)
    center_yx: tuple[float, float]  # canonical in-plane index of the crop centre
    grid: ModelGrid

    @property
    def canonical_shape(self) -> tuple[int, int, int]:
        return tuple(self.source_shape[a] for a in self.perm)

    def to_dict(self) -> dict:
        return {**asdict(self), "version": PREPROCESS_VERSION}


def canonical_axes(geometry: Geometry) -> tuple[tuple[int, int, int], tuple[bool, bool, bool], list[str]]:
    """Permutation and flips that bring a [z, y, x] array to LPS order [S, P, L] (nearest axes).

    Returns:
        (perm, flips, warnings)
    """
    direction = geometry.direction_matrix  # columns: physical direction of index axes x, y, z
    perm, flips, used, warnings = [], [], set(), []
    # canonical numpy axis 0 <-> physical z (S), 1 <-> physical y (P), 2 <-> physical x (L)
    for physical in (2, 1, 0):
        weights = [abs(direction[physical, index_axis]) if index_axis not in used else -1 for index_axis in range(3)]
        index_axis = int(np.argmax(weights))
        used.add(index_axis)
        perm.append(2 - index_axis)  # sitk index axis x,y,z -> numpy axis 2,1,0
        flips.append(bool(direction[physical, index_axis] < 0))
        if weights[index_axis] < 0.9:
            warnings.append(f"oblique acquisition ({np.degrees(np.arccos(weights[index_axis])):.0f} degrees off axis)")
    if perm[0] != 0:
        warnings.append("CE-T1 was not acquired axially: axial slices are reformatted, accuracy may drop")
    return tuple(perm), tuple(flips), warnings


def to_canonical(array: np.ndarray, perm, flips) -> np.ndarray:
    out = np.transpose(array, perm)
    axes = tuple(i for i, f in enumerate(flips) if f)
    return np.flip(out, axes) if axes else out


def from_canonical(array: np.ndarray, perm, flips) -> np.ndarray:
    axes = tuple(i for i, f in enumerate(flips) if f)
    out = np.flip(array, axes) if axes else array
    return np.transpose(out, np.argsort(perm))


def foreground(array: np.ndarray) -> np.ndarray:
    """Head (non-air) voxels: above 10% of the 99th percentile."""
    p99 = float(np.percentile(array, 99))
    return array > 0.1 * p99


def normalize_intensity(array: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> np.ndarray:
    """Map the foreground's [low_pct, high_pct] percentiles to [0, 1] and clip."""
    fg = foreground(array)
    values = array[fg] if np.count_nonzero(fg) > 100 else array.ravel()
    lo, hi = np.percentile(values, [low_pct, high_pct])
    if not np.isfinite(hi - lo) or hi - lo <= 1e-6:
        raise GeometryError("image has no intensity contrast (constant or empty); check the series.")
    return np.clip((array - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def plan_slices(reference: Volume, grid: ModelGrid = ModelGrid()) -> tuple[SlicePlan, list[str]]:
    """Decide orientation and crop centre for a CE-T1 volume."""
    perm, flips, warnings = canonical_axes(reference.geometry)
    spacing_zyx = reference.geometry.spacing[::-1]
    canonical_spacing = tuple(float(spacing_zyx[a]) for a in perm)
    canon = to_canonical(reference.array, perm, flips)
    fg = foreground(canon)
    if np.count_nonzero(fg) == 0:
        raise GeometryError("CE-T1 has no foreground (blank image).")
    _, cy, cx = center_of_mass(fg)
    plan = SlicePlan(perm, flips, tuple(reference.array.shape), canonical_spacing, (float(cy), float(cx)), grid)
    return plan, warnings


def _inplane_matrix(plan: SlicePlan) -> tuple[np.ndarray, np.ndarray]:
    """Affine (model index -> canonical index) for (z, y, x) coordinates."""
    grid = plan.grid
    sy, sx = plan.canonical_spacing[1], plan.canonical_spacing[2]
    scale = np.array([1.0, grid.pixel_mm / sy, grid.pixel_mm / sx])
    half = (grid.size - 1) / 2.0
    offset = np.array([0.0, plan.center_yx[0] - half * scale[1], plan.center_yx[1] - half * scale[2]])
    return scale, offset


def resample_to_model(canonical: np.ndarray, plan: SlicePlan) -> np.ndarray:
    """Canonical (z, y, x) array -> model grid, linear in-plane (slices are never mixed)."""
    scale, offset = _inplane_matrix(plan)
    return resample_inplane(canonical, scale[1:], offset[1:], (plan.grid.size, plan.grid.size),
                            out_dtype=canonical.dtype)


def to_model_stack(volumes: dict[str, Volume], grid: ModelGrid = ModelGrid(),
                   plan: SlicePlan | None = None) -> tuple[np.ndarray, SlicePlan, list[str]]:
    """Model input from registered volumes.

    Args:
        volumes: ``cet1``, ``t2``, ``t1`` Volumes on the same (CE-T1) grid.
        grid: the model grid.
        plan: reuse a plan (e.g. to map a mask exactly like its images).

    Returns:
        (stack of shape (z, size, size, 3) float32 in [0, 1], plan, warnings)
    """
    reference = volumes["cet1"]
    for role in CHANNELS:
        if volumes[role].array.shape != reference.array.shape:
            raise GeometryError(f"{role} is not on the CE-T1 grid; register before preprocessing.")
    warnings: list[str] = []
    if plan is None:
        plan, warnings = plan_slices(reference, grid)
    channels = []
    for role in CHANNELS:
        canon = to_canonical(normalize_intensity(volumes[role].array), plan.perm, plan.flips)
        channels.append(resample_to_model(np.ascontiguousarray(canon), plan))
    return np.stack(channels, axis=-1).astype(np.float32), plan, warnings


def mask_to_model(mask: np.ndarray, plan: SlicePlan) -> np.ndarray:
    """A CE-T1-grid mask on the model grid as fractions in [0, 1] (threshold at 0.5 for labels)."""
    canon = to_canonical(mask.astype(np.float32), plan.perm, plan.flips)
    return resample_to_model(np.ascontiguousarray(canon), plan)


def from_model_stack(stack: np.ndarray, plan: SlicePlan) -> np.ndarray:
    """Map a (z, size, size) probability stack back onto the original CE-T1 array grid (linear)."""
    if stack.shape != (plan.canonical_shape[0], plan.grid.size, plan.grid.size):
        raise GeometryError(f"prediction shape {stack.shape} does not match the plan "
                            f"({plan.canonical_shape[0]}, {plan.grid.size}, {plan.grid.size})")
    scale, offset = _inplane_matrix(plan)
    inverse_scale = 1.0 / scale
    inverse_offset = -offset * inverse_scale
    canon = resample_inplane(stack.astype(np.float32, copy=False), inverse_scale[1:], inverse_offset[1:],
                             plan.canonical_shape[1:])
    return np.ascontiguousarray(from_canonical(canon, plan.perm, plan.flips))
