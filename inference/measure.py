"""Tumor measurements from a mask: volume, largest diameter and an estimated depth of invasion (DOI).

DOI (AJCC 8th edition) is the depth of the deepest tumor point below the mucosal surface. The mucosa is
not segmented, so the estimate is the tumor's *thickness*: its extent along its shortest principal axis
(PCA of the voxel centres in millimetres), which for a tumor growing into the tongue from its surface is
the depth it reaches. On the synthetic phantoms the tumor straddles the mucosa, so DOI is a fraction of the
thickness: ``DOI = DOI_SLOPE * thickness + DOI_OFFSET_MM``, fitted on the training split of the synthetic
cohort with ground-truth masks (95 patients; held-out test, 41 patients: MAE 1.26 mm, r 0.80; command in
docs/nomogram.md). That calibration is a property of the phantoms, not of real tongues: the estimate is
labelled "estimated" wherever it is used, and a clinician's measured DOI always overrides it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from inference.imageops import hull_candidates, max_pairwise_distance
from inference.volume import Volume

#: DOI = slope * thickness + offset (synthetic cohort training split, see module docstring)
DOI_SLOPE = 0.3476
DOI_OFFSET_MM = 1.4275
#: mean absolute error of that estimate on the 41 held-out test patients (ground-truth masks; docs/nomogram.md)
DOI_MAE_MM = 1.26


@dataclass(frozen=True)
class TumorMeasures:
    volume_ml: float
    largest_diameter_mm: float
    thickness_mm: float
    doi_estimate_mm: float
    slices: int  # CE-T1 slices the tumor lies on (result.json tumor.slices; backend.slices: all those segmented)

    def to_dict(self) -> dict:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _points_mm(mask: Volume, zyx: np.ndarray) -> np.ndarray:
    """Physical (x, y, z) mm coordinates of the voxel centres at (z, y, x) indices ``zyx``."""
    return mask.geometry.index_to_physical(zyx[:, ::-1].astype(float))


def _extent(points: np.ndarray, axis: np.ndarray, voxel_mm: float) -> float:
    proj = points @ axis
    return float(proj.max() - proj.min()) + voxel_mm  # centre-to-centre range plus one voxel


def measure_mask(mask: Volume) -> TumorMeasures:
    """Volume (ml), largest 3D diameter (mm) and estimated DOI (mm) of a binary mask; zeros when empty."""
    count = int(np.count_nonzero(mask.array))
    if count == 0:
        return TumorMeasures(0.0, 0.0, 0.0, 0.0, 0)
    zyx = np.argwhere(mask.array > 0)
    points = _points_mm(mask, zyx)
    spacing = np.asarray(mask.geometry.spacing, float)
    volume = count * mask.geometry.voxel_volume_ml
    slices = int(np.count_nonzero((mask.array > 0).any(axis=(1, 2))))
    if count < 4:
        size = float(spacing.max())
        return TumorMeasures(volume, size, size, DOI_SLOPE * size + DOI_OFFSET_MM, slices)
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    thin = vt[-1]
    # the voxel size along the thin axis (how far one voxel reaches in that direction)
    direction = mask.geometry.direction_matrix
    voxel_along = float(np.abs((direction.T @ thin) * spacing).max())
    thickness = _extent(points, thin, voxel_along)
    # the farthest pair are convex hull vertices: search only voxels that can be one (exact, any shape)
    hull = _points_mm(mask, hull_candidates(zyx))
    diameter = max_pairwise_distance(hull) + float(spacing[:2].mean())
    return TumorMeasures(volume, diameter, thickness, DOI_SLOPE * thickness + DOI_OFFSET_MM, slices)
