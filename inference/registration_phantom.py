"""A synthetic head-and-neck phantom for testing and benchmarking rigid co-registration.

The anatomy is analytic (ellipsoids and cylinders in physical mm), so any sequence can be rendered on
any grid through any rigid transform without interpolation error. Each "sequence" maps the tissue
classes to its own intensities (CE-T1, T1 and T2 contrasts differ, as in the clinic), which makes the
problem genuinely cross-contrast. Thick slices are rendered by averaging sub-slices (partial volume),
and a scanner-fixed bias field plus Gaussian noise are added on the grid, not on the anatomy.

Nothing here is used at runtime: tests and ``inference.registration_bench`` import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from inference.volume import Geometry, Volume

# Tissue classes; painting order follows this list, so later shapes overwrite earlier ones.
_CLASSES = ("air", "fat", "muscle", "tongue", "gland", "bone", "marrow", "airway", "vessel", "tumor")

# Relative intensities per sequence, roughly following MR contrast: fat bright on T1 and CE-T1,
# fluid/tumour bright on T2, vessels enhanced on CE-T1 but flow voids on T2.
_CONTRAST = {
    "cet1": (0.0, 0.85, 0.35, 0.45, 0.60, 0.05, 0.70, 0.02, 1.00, 0.80),
    "t1": (0.0, 0.95, 0.35, 0.40, 0.50, 0.05, 0.80, 0.02, 0.30, 0.35),
    "t2": (0.0, 0.70, 0.20, 0.30, 0.55, 0.03, 0.45, 0.02, 0.05, 0.90),
}

# (class, centre xyz mm, semi-axes xyz mm); the head spans more than a typical 30-slice slab in z.
_ELLIPSOIDS = (
    ("fat", (0.0, 0.0, 0.0), (78.0, 98.0, 110.0)),
    ("muscle", (0.0, 0.0, 0.0), (68.0, 88.0, 104.0)),
    ("gland", (-52.0, 12.0, 18.0), (14.0, 20.0, 26.0)),
    ("gland", (50.0, 14.0, 16.0), (13.0, 21.0, 24.0)),
    ("tongue", (0.0, -30.0, -8.0), (28.0, 36.0, 24.0)),
    ("bone", (0.0, 52.0, 0.0), (16.0, 14.0, 200.0)),
    ("marrow", (0.0, 52.0, 0.0), (10.0, 9.0, 200.0)),
    ("airway", (0.0, 18.0, 0.0), (9.0, 7.0, 200.0)),
    ("vessel", (-27.0, 26.0, 0.0), (4.5, 4.5, 200.0)),
    ("vessel", (29.0, 24.0, 0.0), (4.0, 4.0, 200.0)),
    ("tumor", (14.0, -38.0, -12.0), (11.0, 9.0, 13.0)),
)


@dataclass(frozen=True)
class RigidMotion:
    """A known rigid motion: Euler angles (deg, about x, y, z) and translation (mm) about ``center``.

    Like SimpleITK's transforms it maps FIXED physical points to MOVING physical points.
    """

    rotation_deg: tuple[float, float, float]
    translation_mm: tuple[float, float, float]
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def to_sitk(self) -> sitk.Euler3DTransform:
        tx = sitk.Euler3DTransform()
        tx.SetCenter(self.center)
        tx.SetRotation(*np.deg2rad(self.rotation_deg))
        tx.SetTranslation(self.translation_mm)
        return tx


def _mandible_mask(p: np.ndarray) -> np.ndarray:
    """A U-shaped bony rim in front of the tongue: gives the phantom sharp, asymmetric edges."""
    x, y, z = p[..., 0], p[..., 1] + 20.0, p[..., 2] + 20.0
    outer = (x / 46.0) ** 2 + (y / 62.0) ** 2 <= 1.0
    inner = (x / 38.0) ** 2 + (y / 54.0) ** 2 <= 1.0
    return outer & ~inner & (y < 0.0) & (np.abs(z) < 14.0)


def _texture(p: np.ndarray) -> np.ndarray:
    """Smooth tissue texture attached to the anatomy (it moves with it), +-10 %."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return 1.0 + 0.05 * np.sin(x / 7.0 + 0.3 * y / 5.0) + 0.05 * np.cos(y / 9.0 - z / 11.0)


def render_intensity(points: np.ndarray, sequence: str) -> np.ndarray:
    """Noise-free phantom intensity (arbitrary units, ~0-1000) at physical ``points`` (..., 3)."""
    contrast = np.asarray(_CONTRAST[sequence])
    label = np.zeros(points.shape[:-1], dtype=np.int8)
    for name, centre, axes in _ELLIPSOIDS:
        rel = (points - np.asarray(centre)) / np.asarray(axes)
        label[np.einsum("...i,...i->...", rel, rel) <= 1.0] = _CLASSES.index(name)
    label[_mandible_mask(points)] = _CLASSES.index("bone")
    return 1000.0 * contrast[label] * _texture(points)


def render_volume(
    geometry: Geometry,
    sequence: str,
    motion: RigidMotion | None = None,
    *,
    noise: float = 0.03,
    subslices: int = 3,
    seed: int = 0,
) -> Volume:
    """Render one sequence on ``geometry``; with ``motion``, the anatomy appears moved by it.

    Each voxel of this (moving) grid at physical point ``q`` shows the anatomy at ``motion^-1(q)``, so
    registering a motion-free fixed image to this one should recover ``motion`` itself.

    Args:
        geometry: Grid to render on.
        sequence: One of ``cet1``, ``t1``, ``t2``.
        motion: Known rigid motion (fixed -> moving points); None for none.
        noise: Gaussian noise sigma as a fraction of the brightest tissue.
        subslices: Sub-samples averaged across each slice thickness (partial volume).
        seed: Noise seed.

    Returns:
        The rendered Volume (float32).
    """
    inverse = motion.to_sitk().GetInverse() if motion is not None else None
    nx, ny, nz = geometry.size
    jj, ii = np.meshgrid(np.arange(ny, dtype=float), np.arange(nx, dtype=float), indexing="ij")
    out = np.empty(geometry.shape_zyx, dtype=np.float32)
    offsets = (np.arange(subslices) + 0.5) / subslices - 0.5
    for k in range(nz):
        acc = np.zeros((ny, nx))
        for dk in offsets:
            idx = np.stack([ii, jj, np.full_like(ii, k + dk)], axis=-1)
            pts = geometry.index_to_physical(idx)
            if inverse is not None:
                pts = _apply_affine(inverse, pts)
            acc += render_intensity(pts, sequence)
        out[k] = acc / subslices
    rng = np.random.default_rng(seed)
    bias = _bias_field(geometry)
    out = out * bias + rng.normal(0.0, noise * 1000.0, out.shape)
    return Volume(array=np.abs(out).astype(np.float32), geometry=geometry, meta={"sequence": sequence})


def _bias_field(geometry: Geometry) -> np.ndarray:
    """A gentle scanner-fixed multiplicative shading (+-8 %) across the field of view."""
    z, y, x = (np.linspace(-1.0, 1.0, n) for n in geometry.shape_zyx)
    return (1.0 + 0.08 * x[None, None, :] - 0.05 * y[None, :, None] ** 2 + 0.03 * z[:, None, None]).astype(np.float32)


def _apply_affine(tx: sitk.Transform, points: np.ndarray) -> np.ndarray:
    """Apply an affine-family SimpleITK transform to many points at once (vectorised)."""
    matrix, offset = affine_parts(tx)
    return points @ matrix.T + offset


def affine_parts(tx: sitk.Transform) -> tuple[np.ndarray, np.ndarray]:
    """Matrix ``A`` and offset ``b`` with ``tx(p) = A p + b`` for a rigid/affine SimpleITK transform."""
    origin = np.asarray(tx.TransformPoint((0.0, 0.0, 0.0)))
    matrix = np.column_stack([np.asarray(tx.TransformPoint(tuple(e))) - origin for e in np.eye(3)])
    return matrix, origin


def transform_residual(estimate: sitk.Transform, truth: sitk.Transform, points: np.ndarray) -> tuple[float, float]:
    """How far an estimated transform is from the true one.

    Args:
        estimate: Estimated fixed -> moving transform.
        truth: True fixed -> moving transform.
        points: Physical points (N, 3) where the error matters (e.g. the head region).

    Returns:
        (max displacement error over ``points`` in mm, residual rotation angle in degrees).
    """
    a_est, b_est = affine_parts(estimate)
    a_true, b_true = affine_parts(truth)
    diff = points @ (a_est - a_true).T + (b_est - b_true)
    residual = a_est @ a_true.T
    cos_angle = np.clip((np.trace(residual) - 1.0) / 2.0, -1.0, 1.0)
    return float(np.linalg.norm(diff, axis=1).max()), float(np.degrees(np.arccos(cos_angle)))


def head_points(geometry: Geometry, step_mm: float = 10.0) -> np.ndarray:
    """Physical points of ``geometry`` on a coarse lattice that fall inside the phantom head."""
    nx, ny, nz = geometry.size
    steps = [max(1, int(round(step_mm / s))) for s in geometry.spacing]
    grid = np.stack(
        np.meshgrid(*(np.arange(0, n, st) for n, st in zip((nx, ny, nz), steps, strict=True)), indexing="ij"),
        axis=-1,
    ).reshape(-1, 3)
    pts = geometry.index_to_physical(grid.astype(float))
    centre, axes = np.asarray(_ELLIPSOIDS[0][1]), np.asarray(_ELLIPSOIDS[0][2])
    inside = np.sum(((pts - centre) / axes) ** 2, axis=1) <= 1.0
    return pts[inside]


def centred_geometry(
    size: tuple[int, int, int],
    spacing: tuple[float, float, float],
    shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Geometry:
    """An axial identity-direction grid centred on the phantom (plus ``shift_mm``)."""
    origin = tuple(-0.5 * (n - 1) * s + d for n, s, d in zip(size, spacing, shift_mm, strict=True))
    return Geometry(size=size, spacing=spacing, origin=origin)
