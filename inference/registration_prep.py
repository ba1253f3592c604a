"""Image preparation and quality figures for rigid registration (see ``inference.registration``).

Pyramids by block averaging, the fixed head mask, overlap checks and the entropy correlation
coefficient reported to users, and the rounding that makes results reproducible. Small pure functions
on SimpleITK images and numpy arrays.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from inference.errors import RegistrationError
from inference.volume import Geometry, Volume

if TYPE_CHECKING:
    from inference.registration import RegistrationSettings


def check_usable(volume: Volume, role: str) -> None:
    """Refuse images the metric cannot work with, naming the sequence and what is wrong."""
    array = volume.array
    if not np.all(np.isfinite(array)):
        raise RegistrationError(f"{role} image contains NaN/inf voxels; fix or re-export the series")
    if float(np.ptp(array)) <= 0.0:
        raise RegistrationError(
            f"{role} image is blank (every voxel is {float(array.flat[0]):g}); check that the right series was selected"
        )


def shrink(image: sitk.Image, spacing_mm: float) -> sitk.Image:
    """Block-average ``image`` to about ``spacing_mm`` per axis (never finer than it is already).

    Averaging whole blocks is both the cheapest downsampling and its own anti-aliasing filter.
    """
    factors = [max(1, int(round(spacing_mm / s))) for s in image.GetSpacing()]
    return image if factors == [1, 1, 1] else sitk.BinShrink(image, factors)


def head_mask(fixed: sitk.Image, settings: RegistrationSettings) -> sitk.Image:
    """Largest bright component of the fixed image, dilated by the margin (uint8 mask on its grid)."""
    array = sitk.GetArrayViewFromImage(fixed)
    threshold = settings.mask_fraction * float(np.percentile(array, 99.0))
    mask = sitk.BinaryThreshold(fixed, lowerThreshold=threshold, upperThreshold=1e30)
    components = sitk.RelabelComponent(sitk.ConnectedComponent(mask), sortByObjectSize=True)
    mask = sitk.Cast(components == 1, sitk.sitkUInt8)
    radius = [int(np.ceil(settings.mask_margin_mm / s)) for s in fixed.GetSpacing()]
    return sitk.BinaryDilate(mask, radius)


def crop_to_mask(image: sitk.Image, mask: sitk.Image) -> tuple[sitk.Image, sitk.Image]:
    """Crop image and mask to the mask's bounding box, so sampling is not wasted on air."""
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(mask)
    if not stats.HasLabel(1):
        raise RegistrationError("fixed (reference) image has no foreground to register on")
    box = stats.GetBoundingBox(1)
    index, size = list(box[:3]), list(box[3:])
    return sitk.RegionOfInterest(image, size, index), sitk.RegionOfInterest(mask, size, index)


def entropy_correlation(fixed: np.ndarray, moving: np.ndarray, bins: int = 32) -> float:
    """Entropy correlation coefficient ``2 * MI / (H(f) + H(m))`` of paired samples (0-1).

    Intensities are clipped to their 0.5-99.5 percentiles first so a few hot voxels do not squeeze
    the tissue into one bin.
    """
    if fixed.size < bins:
        return 0.0
    edges = [np.percentile(a, (0.5, 99.5)) for a in (fixed, moving)]
    if any(hi <= lo for lo, hi in edges):
        return 0.0
    joint, _, _ = np.histogram2d(fixed, moving, bins=bins, range=[tuple(e) for e in edges])
    p = joint / joint.sum()

    def entropy(q: np.ndarray) -> float:
        q = q[q > 0]
        return float(-(q * np.log(q)).sum())

    h_f, h_m, h_fm = entropy(p.sum(axis=1)), entropy(p.sum(axis=0)), entropy(p.ravel())
    return 0.0 if h_f + h_m <= 0 else float(2.0 * (h_f + h_m - h_fm) / (h_f + h_m))


def ecc_in_mask(fixed: sitk.Image, mask: sitk.Image, moving: sitk.Image, tx: sitk.Transform, bins: int) -> float:
    """ECC of fixed and transformed moving inside the mask, where the moving image has data."""
    warped = sitk.Resample(moving, fixed, tx, sitk.sitkLinear, float("nan"), sitk.sitkFloat32)
    f = sitk.GetArrayViewFromImage(fixed).ravel()
    m = sitk.GetArrayViewFromImage(warped).ravel()
    keep = (sitk.GetArrayViewFromImage(mask).ravel() > 0) & np.isfinite(m)
    return entropy_correlation(f[keep], m[keep], bins)


def overlap_fraction(fixed: sitk.Image, mask: sitk.Image, moving: sitk.Image, tx: sitk.Transform) -> float:
    """Fraction of the fixed head mask that maps inside the moving image's field of view."""
    ones = sitk.Image(moving.GetSize(), sitk.sitkUInt8) + 1
    ones.CopyInformation(moving)
    inside = sitk.Resample(ones, fixed, tx, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    m = sitk.GetArrayViewFromImage(mask) > 0
    return float((sitk.GetArrayViewFromImage(inside)[m] > 0).mean()) if m.any() else 0.0


#: Grid the final rigid parameters are rounded to: 1e-6 rad (1e-4 mm at 100 mm from the centre) and 1e-4 mm.
SNAP_ANGLE_RAD = 1e-6
SNAP_TRANSLATION_MM = 1e-4


def snap_transform(tx: sitk.Euler3DTransform) -> sitk.Euler3DTransform:
    """Round the rigid parameters to a fixed grid far below a voxel, so repeated runs give identical ones.

    ITK's optimizer is not bit-reproducible: multithreaded metric reductions, and even a second call in
    the same process with one thread, change the last digits (measured on the sample patient: 1e-12 rad
    with one thread, up to 1e-7 mm with two). Resampling with those parameters changes a few float32
    intensities in their last bits, and the int8 segmentation model turned that into masks differing by up
    to 5% of their voxels between runs. Rounding to 1e-6 rad / 1e-4 mm (1e-4 mm of motion at most,
    1/5000 of a voxel) makes such jitter land on the same grid point except when a value sits within the
    jitter of a rounding boundary (about 1e-6 of runs with one thread).
    """
    angles, translation = np.array(tx.GetParameters()[:3]), np.array(tx.GetParameters()[3:])
    snapped = sitk.Euler3DTransform(tx)
    snapped.SetParameters(tuple(np.round(angles / SNAP_ANGLE_RAD) * SNAP_ANGLE_RAD)
                          + tuple(np.round(translation / SNAP_TRANSLATION_MM) * SNAP_TRANSLATION_MM))
    return snapped


@contextlib.contextmanager
def itk_threads(threads: int):
    """ITK's global default thread count set to ``threads`` for the duration (restored after).

    The method's own ``SetNumberOfThreads`` does not reach every filter and metric it runs: with it alone,
    1 process in 10 registered the sample patient's T2 1e-3 mm differently (beyond what rounding absorbs);
    with the global default at one thread, 16 of 16 processes agreed.
    """
    old = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(old)


#: how many points ``field_coverage`` checks at most (a subsample: the fraction, not the exact edge)
COVERAGE_POINTS = 5000


def field_coverage(fixed: Volume, moving: Geometry, transform: sitk.Transform | None,
                   settings: RegistrationSettings | None = None, *, region: np.ndarray | None = None) -> float:
    """Fraction of a region of the fixed image that lies inside the ``moving`` grid's field of view through
    ``transform`` (fixed -> moving points; identity when None); resampling fills the rest with zeros.

    ``region``: a boolean array on the fixed grid (e.g. the tumor mask); default the head region (undilated, found
    at the registration's finest level)."""
    from dataclasses import replace

    if region is None:
        image = shrink(sitk.Cast(fixed.to_image(), sitk.sitkFloat32), settings.level_spacings_mm[-1])
        # a copy: a view of the temporary mask image would outlive it (a segfault, seen once in four runs)
        region = sitk.GetArrayFromImage(head_mask(image, replace(settings, mask_margin_mm=0.0))) > 0
        grid = Geometry.from_image(image)
    else:
        grid = fixed.geometry
    zyx = np.argwhere(region)
    if not len(zyx):
        return 0.0
    zyx = zyx[:: max(1, len(zyx) // COVERAGE_POINTS)]
    points = np.asarray(grid.origin) + (zyx[:, ::-1] * np.asarray(grid.spacing)) @ grid.direction_matrix.T
    if transform is not None:
        points = np.array([transform.TransformPoint(p) for p in points.tolist()])
    index = (points - np.asarray(moving.origin)) @ np.linalg.inv(moving.direction_matrix).T / np.asarray(moving.spacing)
    inside = np.all((index >= -0.5) & (index <= np.asarray(moving.size) - 0.5), axis=1)
    return float(inside.mean())
