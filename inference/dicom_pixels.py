"""Decode a DICOM series' pixels (SimpleITK / GDCM) into one float32 array, in MONOCHROME2 convention.

Split from ``dicom.py``, which finds series and checks their geometry: this module only turns ordered, checked
slices into pixels. GDCM handles the compressed transfer syntaxes.

MONOCHROME1 (an inverted grey scale: the highest value is black) is delivered in MONOCHROME2 convention, tissue
bright, as ``max + min - value`` over the whole series, so the values keep their range. GDCM already mirrors a
MONOCHROME1 image while decoding it, about a constant of its own (the stored maximum of an unsigned pixel, -1 of a
signed one, before rescaling) that gives negative values: an MR image of negative values had no "foreground" and
was refused as blank. ``monochrome1_mirror`` names that constant so the true values can be recovered first.
Signed MONOCHROME1 pixels stored in fewer bits than allocated are refused by name: GDCM cannot decode them.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.errors import BytesLengthException

from inference.errors import GeometryError, UnreadableFileError

if TYPE_CHECKING:
    from inference.dicom import _Slice

log = logging.getLogger(__name__)

#: Slices decoded per ITK call. GDCM returns rescaled pixels as float64: read at once, a 512 x 512 x 400 series
#: would need an 840 MB buffer beside our 420 MB float32 volume; 32 slices need 67 MB.
SLICES_PER_READ = 32

#: What pydicom raises while decoding a malformed value (wrong length for the VR, unknown VR, bad charset).
DECODE_ERRORS = (ValueError, TypeError, OSError, NotImplementedError, LookupError, OverflowError, struct.error,
                 BytesLengthException)


def _value(ds: pydicom.Dataset, keyword: str, default):
    """A header value, ``default`` when absent or malformed (its element is reported by ``dicom._pixel_problem``:
    these tags are not decoded on reading, so that an unknown VR in them stays visible there)."""
    try:
        value = ds.get(keyword)
        return default if value is None or value == "" else type(default)(value)
    except DECODE_ERRORS:
        return default


def monochrome1_mirror(ds: pydicom.Dataset) -> float | None:
    """For a MONOCHROME1 image, the physical value about which GDCM mirrors it while decoding; None otherwise.

    GDCM replaces a stored value ``s`` with ``c - s`` (``c``: ``2**BitsStored - 1`` when unsigned, ``-1`` when
    signed) and then rescales, so it returns ``slope * (c - s) + intercept``: the true value ``slope * s +
    intercept`` is this mirror value minus what GDCM returns.

    Args:
        ds: the image's header.

    Returns:
        ``slope * c + 2 * intercept``, or None when the image is not MONOCHROME1.
    """
    if _value(ds, "PhotometricInterpretation", "").strip().upper() != "MONOCHROME1":
        return None
    bits, signed = _value(ds, "BitsStored", 16), _value(ds, "PixelRepresentation", 0) == 1
    constant = -1 if signed else (1 << max(1, min(bits, 32))) - 1
    slope, intercept = _value(ds, "RescaleSlope", 1.0), _value(ds, "RescaleIntercept", 0.0)
    return slope * constant + 2.0 * intercept


def read_pixels(label: str, slices: Sequence[_Slice]) -> tuple[np.ndarray, tuple[float, float]]:
    """Decode ``slices`` into one float32 array [z, y, x], a few slices per ITK call; also ITK's (x, y) spacing.

    Args:
        label: the series' label, for messages.
        slices: the series' slices in order, geometry checked.

    Returns:
        (pixels in MONOCHROME2 convention, (x spacing, y spacing) in mm)

    Raises:
        UnreadableFileError: pixel data GDCM cannot decode, or not of the size the headers say.
        GeometryError: colour pixels, or MONOCHROME1 and MONOCHROME2 images mixed in the series.
    """
    rows, cols = slices[0].rows, slices[0].cols
    mirrors = [s.monochrome1_mirror for s in slices]
    inverted = sum(m is not None for m in mirrors)
    if 0 < inverted < len(slices):  # one grey scale for some images, the inverse for others: no sound volume
        raise GeometryError(f"{label}: {inverted} of {len(slices)} images are MONOCHROME1 (inverted grey scale), "
                            "the others MONOCHROME2; re-export the series with one PhotometricInterpretation.")
    if inverted:
        _check_monochrome1_decodable(label, slices[0].path)
    array = np.empty((len(slices), rows, cols), np.float32)
    spacing = (1.0, 1.0)
    for start in range(0, len(slices), SLICES_PER_READ):
        chunk = slices[start: start + SLICES_PER_READ]
        image = _decode(label, [str(s.path) for s in chunk])
        pixels = sitk.GetArrayViewFromImage(image)
        if pixels.size != len(chunk) * rows * cols:
            raise UnreadableFileError(
                f"{label}: images {start + 1}-{start + len(chunk)} decode to {pixels.shape} pixels, not "
                f"{rows} x {cols} each as their headers say; the files are corrupt. Re-export the series."
            )
        with np.errstate(over="ignore", invalid="ignore"):  # a rescaled value beyond float32 becomes inf: refused
            array[start: start + len(chunk)] = pixels.reshape(len(chunk), rows, cols)
        if start == 0:
            spacing = (float(image.GetSpacing()[0]), float(image.GetSpacing()[1]))
    if inverted:
        _to_monochrome2(array, np.asarray(mirrors, dtype=np.float64))
        log.info("%s: MONOCHROME1 (inverted grey scale) read in MONOCHROME2 convention", label)
    return array, spacing


def _check_monochrome1_decodable(label: str, path) -> None:
    """GDCM refuses signed MONOCHROME1 pixels stored in fewer bits than allocated (12 of 16) with an internal
    message read as "truncated or corrupt file?"; say what it is instead."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (pydicom.errors.InvalidDicomError, *DECODE_ERRORS):
        return  # the decoder reports it
    bits, allocated = _value(ds, "BitsStored", 16), _value(ds, "BitsAllocated", 16)
    if _value(ds, "PixelRepresentation", 0) == 1 and bits < allocated:
        raise UnreadableFileError(
            f"{label}: signed MONOCHROME1 (inverted grey scale) pixels stored in {bits} of {allocated} bits, which "
            "the DICOM decoder here cannot read. Re-export the series as MONOCHROME2, or with all bits stored.")


def _decode(label: str, paths: list[str]) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(paths)
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise UnreadableFileError(
            f"{label}: pixel data unreadable (truncated or corrupt file?): {str(exc).strip().splitlines()[-1][:200]}"
        ) from exc
    if image.GetNumberOfComponentsPerPixel() != 1:  # e.g. a YBR/RGB PhotometricInterpretation
        raise GeometryError(f"{label}: {image.GetNumberOfComponentsPerPixel()}-component (colour) pixels; an MR "
                            "series is grayscale. Choose the CE-T1/T2/T1 series.")
    return image


def _to_monochrome2(array: np.ndarray, mirrors: np.ndarray) -> None:
    """In place: GDCM's mirrored values -> the true MONOCHROME1 values -> ``max + min - value`` over the series."""
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite value is refused after reading (check_finite)
        np.subtract(mirrors.astype(np.float32)[:, None, None], array, out=array)
        np.subtract(array.max() + array.min(), array, out=array)  # no volume-sized temporary
