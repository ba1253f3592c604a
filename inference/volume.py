"""Volumes that carry their geometry (nnU-Net style: array + spacing/origin/direction travel together).

Conventions (SimpleITK's): ``array`` is indexed ``[z, y, x]``; ``Geometry`` stores size, spacing and origin
in ``(x, y, z)`` order and ``direction`` as a row-major 3x3 tuple, in LPS physical space (mm).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import SimpleITK as sitk


@dataclass(frozen=True)
class Geometry:
    """Where a voxel grid sits in physical space."""

    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)

    @classmethod
    def from_image(cls, image: sitk.Image) -> Geometry:
        """Geometry of a 3D SimpleITK image."""
        return cls(
            size=tuple(int(s) for s in image.GetSize()),
            spacing=tuple(float(s) for s in image.GetSpacing()),
            origin=tuple(float(o) for o in image.GetOrigin()),
            direction=tuple(float(d) for d in image.GetDirection()),
        )

    def apply_to(self, image: sitk.Image) -> sitk.Image:
        """Stamp this geometry's spacing/origin/direction on ``image`` (in place) and return it."""
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        return (self.size[2], self.size[1], self.size[0])

    @property
    def direction_matrix(self) -> np.ndarray:
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def voxel_volume_ml(self) -> float:
        return float(np.prod(self.spacing)) / 1000.0

    def index_to_physical(self, index_xyz: np.ndarray) -> np.ndarray:
        """Map continuous (x, y, z) indices, shape (..., 3), to physical points in mm."""
        scaled = np.asarray(index_xyz, dtype=float) * np.asarray(self.spacing)
        return scaled @ self.direction_matrix.T + np.asarray(self.origin)

    def same_space(self, other: Geometry, tol_mm: float = 1e-3) -> bool:
        """True when both grids coincide voxel for voxel (within ``tol_mm``)."""
        return (
            self.size == other.size
            and np.allclose(self.spacing, other.spacing, atol=1e-4)
            and np.allclose(self.origin, other.origin, atol=tol_mm)
            and np.allclose(self.direction, other.direction, atol=1e-4)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "size_xyz": list(self.size),
            "spacing_mm_xyz": [round(s, 5) for s in self.spacing],
            "origin_mm_xyz": [round(o, 4) for o in self.origin],
            "direction": [round(d, 6) for d in self.direction],
        }


@dataclass
class Volume:
    """A 3D image with its geometry and non-identifying acquisition metadata."""

    array: np.ndarray
    geometry: Geometry
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"Volume array must be 3D, got shape {self.array.shape}")
        if tuple(self.array.shape) != self.geometry.shape_zyx:
            raise ValueError(
                f"array shape {self.array.shape} does not match geometry size (z,y,x) {self.geometry.shape_zyx}"
            )

    @classmethod
    def from_image(cls, image: sitk.Image, meta: dict[str, Any] | None = None, dtype=np.float32) -> Volume:
        if dtype is None:
            array = sitk.GetArrayFromImage(image)
        else:
            # One copy, straight into ``dtype`` (not a native-type copy first: a 512 x 512 x 400 int16 volume
            # then peaks at 630 MB, not 840). A value beyond float32 becomes inf; the readers refuse those.
            with np.errstate(over="ignore", invalid="ignore"):
                array = sitk.GetArrayViewFromImage(image).astype(dtype)
        return cls(array=array, geometry=Geometry.from_image(image), meta=dict(meta or {}))

    def to_image(self) -> sitk.Image:
        return self.geometry.apply_to(sitk.GetImageFromArray(self.array))

    def with_array(self, array: np.ndarray, **meta: Any) -> Volume:
        """Same geometry, new voxels (e.g. a mask on this grid)."""
        return replace(self, array=array, meta={**self.meta, **meta})
