"""Resampling a volume onto another grid through a transform (the last step of co-registration).

A small pure function over ``Volume``: geometry travels with the pixels, so the result carries the reference
grid. Kept apart from ``inference.registration`` (which estimates the transform) so tools that only resample
(self-test, the registration benchmark) need not read the optimizer code.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from inference.volume import Geometry, Volume

_INTERPOLATORS = {
    "linear": sitk.sitkLinear,
    "nearest": sitk.sitkNearestNeighbor,
    "bspline": sitk.sitkBSpline,
}


def resample_to(
    moving: Volume,
    reference: Geometry,
    transform: sitk.Transform | None = None,
    *,
    interpolator: str = "linear",
    default_value: float = 0.0,
) -> Volume:
    """Pull ``moving`` onto the ``reference`` grid through ``transform`` (fixed -> moving points).

    Args:
        moving: Volume to resample.
        reference: Target grid.
        transform: Maps reference physical points to ``moving`` physical points; identity when None.
        interpolator: ``linear`` (images), ``bspline`` (smoother images) or ``nearest`` (masks/labels;
            keeps the input dtype).
        default_value: Value for reference voxels that fall outside ``moving``.

    Returns:
        A Volume on ``reference`` with ``moving``'s metadata (float32 unless ``nearest``).

    Raises:
        ValueError: Unknown interpolator.
    """
    if interpolator not in _INTERPOLATORS:
        raise ValueError(f"unknown interpolator {interpolator!r}; use one of {sorted(_INTERPOLATORS)}")
    if transform is None and moving.geometry.same_space(reference):
        return moving
    array = moving.array
    as_bool = array.dtype == bool
    image = moving.with_array(array.astype(np.uint8) if as_bool else array).to_image()
    if interpolator != "nearest":
        image = sitk.Cast(image, sitk.sitkFloat32)
    out = sitk.Resample(
        image,
        reference.size,
        transform if transform is not None else sitk.Transform(3, sitk.sitkIdentity),
        _INTERPOLATORS[interpolator],
        reference.origin,
        reference.spacing,
        reference.direction,
        default_value,
        image.GetPixelID(),
    )
    result = sitk.GetArrayFromImage(out)
    return Volume(array=result.astype(bool) if as_bool else result, geometry=reference, meta=dict(moving.meta))
