"""The slices of one DICOM series as a 3D stack: localizers and copies dropped, slices ordered along their normal,
and the stack checked (pixel size, 4D, missing slices, tilt) before the pixels are decoded (those of an image
repeated at one position are compared, to tell a copied file from a 4D series).

Split from ``dicom.py``, which finds the series under a folder and reads them.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from inference.dicom_pixels import DECODE_ERRORS
from inference.errors import GeometryError
from inference.wording import plural

if TYPE_CHECKING:
    from inference.dicom import DicomSeries, _Slice

log = logging.getLogger(__name__)

#: Relative deviation of a slice gap from the median gap above which slices count as missing.
GAP_TOLERANCE = 0.1
#: Angle (degrees) between the slice normal and the stacking direction above which we refuse (tilt/shear).
MAX_TILT_DEG = 1.0


def _drop_localizers(series: DicomSeries) -> list[_Slice]:
    """Remove images whose orientation/size differs from the majority (localizers mixed into a series)."""
    def signature(s: _Slice) -> tuple:
        return (tuple(np.round(s.orientation, 3)), s.rows, s.cols)

    counts = Counter(signature(s) for s in series.slices)
    main, _ = counts.most_common(1)[0]
    kept = [s for s in series.slices if signature(s) == main and "LOCALIZER" not in s.image_type]
    dropped = len(series.slices) - len(kept)
    if dropped:
        series.warnings.append(
            f"{series.label}: {plural(dropped, 'image')} with another orientation/size or ImageType LOCALIZER "
            f"{'was' if dropped == 1 else 'were'} mixed into the series and ignored"
        )
    return kept


def _drop_copies(series: DicomSeries, slices: list[_Slice]) -> list[_Slice]:
    """Keep one file per SOPInstanceUID (the same image copied twice, e.g. ``IM1.dcm`` and ``IM1 (1).dcm``).

    Raises:
        GeometryError: two files share a SOPInstanceUID but not a position: the headers contradict each other.
    """
    first: dict[str, tuple[int, _Slice]] = {}
    kept = []
    for number, s in enumerate(sorted(slices, key=lambda s: str(s.path)), 1):
        if not s.sop_uid or s.sop_uid not in first:
            if s.sop_uid:
                first[s.sop_uid] = (number, s)
            kept.append(s)
        elif not np.allclose(first[s.sop_uid][1].position, s.position, atol=1e-3):
            # numbered, not named: DICOM file names are often SOPInstanceUIDs (docs/privacy.md)
            raise GeometryError(
                f"{series.label}: images {first[s.sop_uid][0]} and {number} (in file-name order) are the same "
                "image (same SOPInstanceUID) at different positions; the headers contradict each other.")
    copies = len(slices) - len(kept)
    if copies:
        one = copies == 1
        series.warnings.append(f"{series.label}: {copies} {'file is a copy' if one else 'files are copies'} of "
                               f"another file of the series (same SOPInstanceUID) and {'was' if one else 'were'} "
                               "ignored")
    return kept


def _pixel_digest(item: _Slice) -> str | None:
    """Hash of an image's stored pixels with what turns them into values; None when the file cannot be read."""
    try:
        ds = pydicom.dcmread(item.path)
        digest = hashlib.sha256(bytes(ds.PixelData))
        for keyword in ("RescaleSlope", "RescaleIntercept", "PhotometricInterpretation", "BitsStored",
                        "PixelRepresentation", "TransferSyntaxUID"):
            value = ds.file_meta.get(keyword) if keyword == "TransferSyntaxUID" else ds.get(keyword)
            digest.update(f"|{keyword}={value}".encode())
    except (InvalidDicomError, EOFError, KeyError, AttributeError, zlib.error, *DECODE_ERRORS) as exc:
        log.debug("pixels of a repeated slice not compared (%s)", type(exc).__name__)
        return None
    return digest.hexdigest()


def _drop_repeated_slices(series: DicomSeries, slices: list[_Slice], normal: np.ndarray) -> list[_Slice]:
    """Keep one image of each position where every image is the same image stored again (identical position and
    pixels, under another SOPInstanceUID: a copied file re-exported or renamed); ``slices`` is sorted along
    ``normal``.

    Positions with images that differ are left for the 4D check, which refuses them. So is a series where most
    positions repeat (an echo/phase series): its pixels are not read to find that out.
    """
    groups: dict[float, list[_Slice]] = {}
    for s in slices:
        groups.setdefault(round(float(s.position @ normal), 3), []).append(s)
    repeated = [g for g in groups.values() if len(g) > 1]
    if not repeated or 2 * len(repeated) > len(groups):
        return slices
    copies: set[int] = set()
    for group in repeated:
        same_place = all(np.allclose(s.position, group[0].position, atol=1e-3) for s in group)
        digests = {_pixel_digest(s) for s in group} if same_place else {None}
        if len(digests) != 1 or None in digests:
            return slices  # a position with different images: the 4D check says so
        copies.update(id(s) for s in group[1:])
    one = len(copies) == 1
    series.warnings.append(f"{series.label}: {plural(len(copies), 'image')} {'repeats' if one else 'repeat'} another "
                           "image of the series (same position and pixels, another SOPInstanceUID: a copied file?) "
                           f"and {'was' if one else 'were'} ignored")
    return [s for s in slices if id(s) not in copies]


def _check_pixel_spacing(series: DicomSeries, slices: list[_Slice]) -> None:
    """Refuse a series whose images have different PixelSpacing: its first image's stood for all of them, so the
    others' pixels were placed at the wrong size.

    Raises:
        GeometryError: naming the series and each spacing with its number of images.
    """
    def key(s: _Slice) -> tuple:
        return tuple(None if v is None else round(v, 4) for v in s.pixel_spacing)

    def same(a: tuple, b: tuple) -> bool:  # a tolerance, not rounding: 0.46875 and 0.468749 round apart
        return len(a) == len(b) and all(x == y or (x is not None and y is not None and abs(x - y) <= 1e-4 * max(
            abs(x), abs(y))) for x, y in zip(a, b, strict=True))

    counts = Counter(key(s) for s in slices)
    common = tuple(counts.most_common(1)[0][0]) if counts else ()
    first = next((s.pixel_spacing for s in slices if key(s) == common), ())
    if any(not same(tuple(s.pixel_spacing), tuple(first)) for s in slices):
        found = "; ".join(f"{'/'.join('?' if v is None else f'{v:g}' for v in spacing) or 'none'} mm in "
                          f"{plural(n, 'image')}" for spacing, n in counts.most_common())
        raise GeometryError(
            f"{series.label}: its images have different PixelSpacing ({found}); one series has one pixel size, so "
            "these are images of several acquisitions or a corrupt export. Re-export the series, or choose another."
        )


def order_slices(series: DicomSeries) -> tuple[list[_Slice], float]:
    """Sort slices along the normal and check spacing, tilt and 4D stacking.

    Returns:
        (slices in order, slice spacing in mm)

    Raises:
        GeometryError: 2D-only, 4D, missing slices, tilted stacks or pixel sizes that differ between slices.
    """
    slices = _drop_copies(series, _drop_localizers(series))
    _check_pixel_spacing(series, slices)
    if any("MOSAIC" in s.image_type for s in slices):
        # Siemens MOSAIC: each image is a tile of many slices (usually diffusion/fMRI), not one slice.
        raise GeometryError(f"{series.label}: Siemens MOSAIC images (tiles of many slices) are not an "
                            "anatomical 3D series; choose the CE-T1/T2/T1 series instead.")
    if any(s.frames > 1 for s in slices):
        raise GeometryError(f"{series.label}: multi-frame (enhanced) DICOM is not supported yet; "
                            "export the series as classic single-frame images.")
    if len(slices) < 2:
        raise GeometryError(f"{series.label}: a single image; a 3D stack of at least 2 slices is needed.")
    row, col = slices[0].orientation[:3], slices[0].orientation[3:]
    normal = np.cross(row, col)
    if abs(float(np.linalg.norm(normal)) - 1.0) > 0.05:
        # Zero or parallel direction cosines would otherwise put every slice at one position ("4D").
        raise GeometryError(
            f"{series.label}: ImageOrientationPatient {[round(float(v), 4) for v in slices[0].orientation]} is "
            "not two orthogonal unit vectors; the header is corrupt."
        )
    slices.sort(key=lambda s: (float(s.position @ normal), str(s.path)))
    slices = _drop_repeated_slices(series, slices, normal)
    dist = np.array([float(s.position @ normal) for s in slices])
    distinct = np.unique(np.round(dist, 3))
    if len(distinct) < len(dist):
        per = len(dist) / len(distinct)
        raise GeometryError(
            f"{series.label}: {len(dist)} images at {len(distinct)} positions (~{per:.0f} per position): "
            "a 4D series (echoes/phases/b-values); export one volume."
        )
    gaps = np.diff(dist)
    median = float(np.median(gaps))
    if median <= 0:
        raise GeometryError(f"{series.label}: slices do not advance along the normal.")
    deviation = np.abs(gaps - median) / median
    if deviation.max() > GAP_TOLERANCE:
        worst = int(np.argmax(deviation))
        missing = int(round(gaps[worst] / median)) - 1
        detail = f"~{plural(missing, 'missing slice')}" if missing >= 1 else "irregular gaps"
        raise GeometryError(
            f"{series.label}: non-uniform slice spacing (gap {gaps[worst]:.2f} mm vs median {median:.2f} mm "
            f"between images {worst} and {worst + 1}: {detail}); the series is incomplete."
        )
    stack = slices[-1].position - slices[0].position
    cos = abs(float(stack @ normal)) / max(float(np.linalg.norm(stack)), 1e-9)
    tilt = float(np.degrees(np.arccos(min(1.0, cos))))
    if tilt > MAX_TILT_DEG:
        raise GeometryError(
            f"{series.label}: slices are stacked {tilt:.1f} degrees off their normal (gantry tilt/shear); "
            "reformat to an orthogonal stack first."
        )
    if tilt > 0.1:
        series.warnings.append(f"{series.label}: {tilt:.2f} degree stack tilt ignored")
    return slices, median
