"""Per-series acquisition geometry and the rigid patient motion between series.

Physical space is LPS (mm): +x patient left, +y posterior, +z superior. The anatomy is defined in the
CE-T1 scanner frame; the patient moves rigidly before the T2 and T1 series, so those series see the
anatomy through a small rotation + translation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from inference.volume import Geometry

# Realistic reconstruction matrices; larger ones are rarer on clinical head-and-neck protocols.
MATRICES = (256, 320, 384, 448, 512)
MATRIX_WEIGHTS = (0.30, 0.25, 0.20, 0.10, 0.15)
FOV_RANGE_MM = (180.0, 240.0)
SPACING_RANGE_MM = (0.4, 0.9)
SLICE_RANGE = (20, 40)
THICKNESS_RANGE_MM = (3.0, 5.0)
MAX_SHIFT_MM = 3.0
MAX_ROTATION_DEG = 3.0


@dataclass(frozen=True)
class SeriesGeometry:
    """Grid of one axial series: reconstruction matrix plus the coarser acquisition matrix."""

    matrix: int
    fov_mm: float
    slices: int
    thickness_mm: float
    acq_matrix: int
    center_mm: tuple[float, float, float]

    @property
    def spacing_mm(self) -> float:
        return self.fov_mm / self.matrix

    def grid(self, acquisition: bool = False) -> Geometry:
        """Voxel grid (identity direction) of the reconstruction, or of the acquisition matrix."""
        n = self.acq_matrix if acquisition else self.matrix
        sp = self.fov_mm / n
        half = np.array([(n - 1) / 2 * sp, (n - 1) / 2 * sp, (self.slices - 1) / 2 * self.thickness_mm])
        origin = np.asarray(self.center_mm) - half
        return Geometry(
            size=(n, n, self.slices),
            spacing=(sp, sp, self.thickness_mm),
            origin=tuple(float(o) for o in origin),
        )


def draw_series_geometry(
    rng: np.random.Generator,
    center_mm: np.ndarray,
    size_scale: float = 1.0,
    fixed_grid: tuple[int, int] | None = None,
) -> SeriesGeometry:
    """Draw one series' matrix, FOV, slices and thickness within the documented ranges.

    Args:
        rng: Random source.
        center_mm: Volume center in the scanner frame.
        size_scale: Below 1 shrinks matrix and slice count (fast tests only; leaves the ranges).
        fixed_grid: ``(matrix, slices)`` to force (small committed samples); must be within range.
    """
    matrix = int(rng.choice(MATRICES, p=MATRIX_WEIGHTS))
    fov = float(rng.uniform(*FOV_RANGE_MM))
    # matrix * spacing = FOV: keep the derived spacing inside its range by nudging the FOV.
    fov = float(np.clip(fov, matrix * SPACING_RANGE_MM[0], matrix * SPACING_RANGE_MM[1]))
    thickness = float(np.round(rng.uniform(*THICKNESS_RANGE_MM), 1))
    # Coverage of ~70-140 mm around the oral cavity, expressed as a slice count in range.
    coverage = rng.uniform(70.0, 140.0)
    slices = int(np.clip(round(coverage / thickness), *SLICE_RANGE))
    # Reconstruction is usually interpolated from an acquisition of ~0.75-0.95 mm.
    acq = int(min(matrix, 2 * round(fov / rng.uniform(0.75, 0.95) / 2)))
    if fixed_grid is not None:
        matrix, slices = fixed_grid
        fov = float(np.clip(fov, matrix * SPACING_RANGE_MM[0], matrix * SPACING_RANGE_MM[1]))
        acq = int(min(matrix, 2 * round(fov / 0.85 / 2)))
    if size_scale < 1.0:
        matrix = max(32, int(matrix * size_scale) // 2 * 2)
        acq = max(32, int(acq * size_scale) // 2 * 2)
        slices = max(6, int(slices * size_scale))
        acq = min(acq, matrix)
    return SeriesGeometry(matrix, fov, slices, thickness, acq, tuple(float(c) for c in center_mm))


@dataclass(frozen=True)
class RigidMotion:
    """Maps a CE-T1 physical point to the physical point where the same anatomy sits in another series.

    ``T(p) = R (p - center) + center + translation``, with R from SimpleITK's Euler3DTransform
    (angles in degrees about x, y, z; ComputeZYX off).
    """

    angles_deg: tuple[float, float, float]
    translation_mm: tuple[float, float, float]
    center_mm: tuple[float, float, float]

    def to_sitk(self) -> sitk.Euler3DTransform:
        """The fixed(CE-T1)-to-moving transform, the direction a registration result should have."""
        rad = np.deg2rad(self.angles_deg)
        return sitk.Euler3DTransform(self.center_mm, *rad.tolist(), self.translation_mm)

    def moving_to_fixed_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """(A, b) with ``a = A p + b`` mapping a point of the moved series back into the anatomy frame."""
        tr = self.to_sitk()
        rot = np.asarray(tr.GetMatrix()).reshape(3, 3)
        c = np.asarray(self.center_mm)
        t = np.asarray(self.translation_mm)
        return rot.T, c - rot.T @ (c + t)

    def to_dict(self) -> dict:
        return {
            "maps": "CE-T1 physical point -> same anatomy in this series' physical space (fixed->moving)",
            "angles_deg_xyz": [round(a, 6) for a in self.angles_deg],
            "translation_mm_xyz": [round(t, 6) for t in self.translation_mm],
            "center_mm_xyz": [round(c, 6) for c in self.center_mm],
            "convention": "SimpleITK Euler3DTransform, ComputeZYX=False",
        }


IDENTITY_MOTION_ANGLES = (0.0, 0.0, 0.0)


def draw_motion(rng: np.random.Generator, center_mm: np.ndarray) -> RigidMotion:
    """Random rigid motion with rotation angle <= 3 degrees and shift <= 3 mm (uniform in the ball)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angles = axis * rng.uniform(0.5, MAX_ROTATION_DEG)
    # Small Euler angles along a unit axis keep the total rotation angle within the bound.
    angles *= min(1.0, MAX_ROTATION_DEG / max(np.linalg.norm(angles), 1e-9))
    shift = rng.normal(size=3)
    shift *= rng.uniform(0.5, MAX_SHIFT_MM) / np.linalg.norm(shift)
    return RigidMotion(
        tuple(float(a) for a in angles), tuple(float(s) for s in shift), tuple(float(c) for c in center_mm)
    )


class PointSampler:
    """Anatomy-frame coordinates of a series' acquisition grid, supersampled in z for partial volume.

    Sub-slices sit at evenly spaced offsets within each slice so averaging them integrates the slice
    profile. ``box`` turns an anatomy-frame bounding box into array slices so structures are only
    evaluated where they can exist.
    """

    def __init__(self, series: SeriesGeometry, motion: RigidMotion | None, z_sub: int = 2) -> None:
        geo = series.grid(acquisition=True)
        sp = np.asarray(geo.spacing)
        self.z_sub = z_sub
        n_x, n_y, n_z = geo.size
        self.xs = geo.origin[0] + sp[0] * np.arange(n_x)
        self.ys = geo.origin[1] + sp[1] * np.arange(n_y)
        offsets = ((np.arange(z_sub) + 0.5) / z_sub - 0.5) * sp[2]
        self.zs = (geo.origin[2] + sp[2] * np.arange(n_z)[:, None] + offsets[None, :]).ravel()
        if motion is None:
            self.A, self.b = np.eye(3), np.zeros(3)
        else:
            self.A, self.b = motion.moving_to_fixed_affine()
        self.shape = (self.zs.size, n_y, n_x)
        self.X, self.Y, self.Z = (self._axis_coords(r) for r in range(3))

    def _axis_coords(self, row: int) -> np.ndarray:
        a = self.A[row].astype(np.float32)
        out = np.empty(self.shape, dtype=np.float32)
        out[...] = (a[0] * self.xs.astype(np.float32))[None, None, :]
        out += (a[1] * self.ys.astype(np.float32))[None, :, None]
        out += (a[2] * self.zs.astype(np.float32) + np.float32(self.b[row]))[:, None, None]
        return out

    def box(self, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, slice] | None:
        """Array slices (z, y, x) covering the anatomy-frame box [lo, hi]; None if it misses the grid."""
        corners = np.array(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij")).reshape(3, -1).T
        # Inverse of a = A p + b; A is orthonormal.
        pts = (corners - self.b) @ self.A
        out = []
        for axis, coords in ((2, self.zs), (1, self.ys), (0, self.xs)):
            i0 = int(np.searchsorted(coords, pts[:, axis].min())) - 1
            i1 = int(np.searchsorted(coords, pts[:, axis].max())) + 1
            i0, i1 = max(i0, 0), min(i1, coords.size)
            if i1 <= i0:
                return None
            out.append(slice(i0, i1))
        return tuple(out)

    def at(self, sl: tuple[slice, slice, slice]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.X[sl], self.Y[sl], self.Z[sl]
