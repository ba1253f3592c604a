"""DICOM folder intake: find every series under a folder, check its geometry, read it as a Volume.

Any file names, nested folders and non-DICOM files are accepted; headers are parsed with pydicom
(pixels deferred), series grouped by SeriesInstanceUID, slices ordered along the slice normal, and
geometry checked before any pixel buffer is allocated. Pixels are decoded by SimpleITK (GDCM), which
handles the compressed transfer syntaxes (``dicom_pixels.py``). Patient identifiers are never copied into
``Volume.meta``.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.valuerep import VR

from inference.dicom_pixels import DECODE_ERRORS, monochrome1_mirror, read_pixels
from inference.dicom_stack import order_slices
from inference.errors import (
    GeometryError,
    UnreadableFileError,
    VolumeTooLargeError,
)
from inference.folders import LINK_REASONS, link_note, walk_files
from inference.imagefile import MAX_VOXELS, check_finite, check_geometry
from inference.roles import SeriesInfo
from inference.volume import Geometry, Volume
from inference.wording import plural

log = logging.getLogger(__name__)

MAX_FILES = 20000

# Header tags kept in Volume.meta: acquisition facts only, nothing that identifies the patient.
_META_TAGS = (
    "Modality", "Manufacturer", "MagneticFieldStrength", "SeriesDescription", "ProtocolName",
    "SequenceName", "ScanningSequence", "SequenceVariant", "ScanOptions", "RepetitionTime", "EchoTime",
    "InversionTime", "FlipAngle", "SliceThickness", "SeriesNumber",
)


@dataclass
class _Slice:
    path: Path
    position: np.ndarray
    orientation: np.ndarray
    rows: int
    cols: int
    image_type: tuple[str, ...]
    frames: int
    pixel_bytes: int | None = None  # PixelData length when stored uncompressed (defined length)
    needed_bytes: int = 0  # what Rows x Columns x frames x samples x BitsAllocated needs
    problem: str | None = None  # why the pixel data cannot be read, seen from the header alone
    samples: int = 1  # SamplesPerPixel
    sop_uid: str = ""  # SOPInstanceUID: the same image stored twice has the same one
    monochrome1_mirror: float | None = None  # MONOCHROME1 only: see dicom_pixels.monochrome1_mirror
    pixel_spacing: tuple[float | None, ...] = ()  # PixelSpacing (row, column) in mm: one value for the series


@dataclass
class DicomSeries:
    """One series found under a folder, with headers parsed and slices ordered."""

    uid: str
    header: pydicom.Dataset  # first slice's header, pixels not read
    slices: list[_Slice] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def number(self) -> str:
        value = self.header.get("SeriesNumber", "")
        return "" if value is None else str(value)

    @property
    def description(self) -> str:
        return str(self.header.get("SeriesDescription", "") or "")

    @property
    def label(self) -> str:
        # Number and size only: the description is free text (a PS3.15 "remove" attribute) and labels
        # reach messages, warnings, result.json and logs. Screens that need it read ``description``.
        return f"series #{self.number or '?'} ({len(self.slices)} images)"

    def info(self) -> SeriesInfo:
        """Role-assignment view of this series."""
        h = self.header
        return SeriesInfo(
            key=self.uid,
            label=self.label,
            description=self.description,
            protocol=str(h.get("ProtocolName", "") or ""),
            sequence_name=str(h.get("SequenceName", "") or ""),
            image_type=_strings(h.get("ImageType")),
            modality=str(h.get("Modality", "") or ""),
            repetition_time=_float(h.get("RepetitionTime")),
            echo_time=_float(h.get("EchoTime")),
            contrast_agent=str(h.get("ContrastBolusAgent")) if h.get("ContrastBolusAgent") else None,
            n_images=len(self.slices),
        )

    def summary(self) -> dict:
        """Non-identifying description for listings (role dialogs, inspect output)."""
        h = self.header
        spacing = [_float(v) for v in _strings(h.get("PixelSpacing"))] or [0.0, 0.0]
        return {
            "series_uid": self.uid,
            "series_number": _int(self.number, None),  # a number in JSON; null when absent or not an integer
            "description": self.description,
            "images": len(self.slices),
            "rows": _int(h.get("Rows")),
            "columns": _int(h.get("Columns")),
            "pixel_spacing_mm": spacing,
            "slice_thickness_mm": _float(h.get("SliceThickness")),
        }


def _float(value) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _int(value, default: int | None = 0) -> int | None:
    """An integer tag value; ``default`` when absent or malformed (e.g. a US tag holding two values)."""
    try:
        return default if value is None or value == "" else int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _strings(value) -> tuple[str, ...]:
    """A multi-valued text tag as a tuple (a single value comes back from pydicom as a plain string)."""
    if value is None or value == "":
        return ()
    if isinstance(value, (str, bytes)):
        return (str(value),)
    try:
        return tuple(str(v) for v in value)
    except TypeError:
        return (str(value),)


def pseudonym(study_uid: str) -> str:
    """Stable pseudonymous patient id from a StudyInstanceUID (never the PatientID or name)."""
    digest = hashlib.sha256(f"otscc-edge:{study_uid}".encode()).hexdigest()
    return f"anon-{digest[:10]}"


def _iter_files(root: Path, skipped: Counter[str]):
    for count, path in enumerate(walk_files(root, skipped), 1):  # series folders may be links
        if count > MAX_FILES:
            raise VolumeTooLargeError(f"{root}: more than {MAX_FILES} files; point at one patient's study.")
        yield path


#: The two-letter value representations of the standard (pydicom also lists combinations like "US or SS").
_VRS = frozenset(vr.value for vr in VR if len(vr.value) == 2)
#: Every tag read from a header here; decoded once on reading so that a malformed one cannot fail later.
_USED_TAGS = (
    "SeriesInstanceUID", "StudyInstanceUID", "ImagePositionPatient", "ImageOrientationPatient", "Rows", "Columns",
    "ImageType", "NumberOfFrames", "SamplesPerPixel", "BitsAllocated", "PixelSpacing", "ContrastBolusAgent",
) + _META_TAGS


def _drop_undecodable(ds: pydicom.Dataset) -> pydicom.Dataset:
    """Delete the used tags whose value cannot be decoded (or is a sequence, from a corrupt VR): they count as
    absent from then on."""
    for keyword in _USED_TAGS:
        try:
            if isinstance(ds.get(keyword), pydicom.Sequence):
                raise TypeError("a sequence where a value belongs")
        except DECODE_ERRORS as exc:
            log.debug("undecodable %s ignored (%s)", keyword, type(exc).__name__)
            del ds[keyword]
    return ds


def _read_header(path: Path) -> pydicom.Dataset | None:
    """Header of a DICOM file, None for non-DICOM files."""
    try:
        if path.stat().st_size < 132:
            return None
        # defer_size instead of stop_before_pixels: the PixelData length becomes visible (to catch short
        # pixel data, which GDCM zero-fills silently) without reading its value.
        return _drop_undecodable(pydicom.dcmread(path, defer_size=4096))
    except (InvalidDicomError, EOFError, KeyError, AttributeError, IndexError, zlib.error, *DECODE_ERRORS) as exc:
        log.debug("skipped a non-DICOM or unreadable file (%s)", type(exc).__name__)  # names may be UIDs
        return None


def _pixel_problem(ds: pydicom.Dataset, path: Path) -> str | None:
    """Why a file's pixel data cannot be read, seen from its header (None: nothing seen).

    Caught here because GDCM, given such a file, allocates whatever length a corrupt element declares (an
    unknown VR makes it read four text bytes as a length: 700 MB for a UID). An element whose declared length
    runs past the end of the file swallows the PixelData after it.
    """
    for dataset in (getattr(ds, "file_meta", None) or pydicom.Dataset(), ds):
        for tag in list(dataset.keys()):
            element = dataset.get_item(tag, keep_deferred=True)  # raw: no decoding of its value
            if isinstance(element, RawDataElement) and element.VR is not None and element.VR not in _VRS:
                return f"element {element.tag} has an unknown value representation {str(element.VR)[:8]!r}"
    if 0x7FE00010 not in ds:
        return "it holds no PixelData element"
    item = ds.get_item(0x7FE00010, keep_deferred=True)
    length, start = getattr(item, "length", None), getattr(item, "value_tell", None)
    deflated = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "")) == "1.2.840.10008.1.2.1.99"
    if length is not None and length != 0xFFFFFFFF and start is not None and not deflated:  # inflated offsets
        missing = start + length - path.stat().st_size
        if missing > 0:
            return f"the file ends {missing} bytes before the end of its pixel data (truncated)"
    return None


def _native_pixel_bytes(ds: pydicom.Dataset) -> int | None:
    """Length of an uncompressed PixelData element, None when absent or encapsulated (compressed)."""
    if 0x7FE00010 not in ds:
        return None
    length = ds.get_item(0x7FE00010, keep_deferred=True).length
    return None if length == 0xFFFFFFFF else int(length)


#: files a study folder holds beside its images (text, tables, documents): passed over without a note
NOT_IMAGES = frozenset({".json", ".txt", ".csv", ".tsv", ".md", ".pdf", ".html", ".xml", ".yaml", ".yml", ".log"})


def scan_folder(root: Path) -> tuple[list[DicomSeries], list[str]]:
    """Find DICOM image series under ``root``.

    Returns:
        (series, notes): series ordered by series number, and notes about skipped files.
    """
    groups: dict[str, DicomSeries] = {}
    skipped: Counter[str] = Counter()
    for path in _iter_files(Path(root), skipped):
        if path.suffix.lower() in NOT_IMAGES:  # clinical.json, a README: not worth a warning on every open
            continue
        ds = _read_header(path)
        if ds is None:
            skipped["non-DICOM or unreadable"] += 1
            continue
        uid = str(ds.get("SeriesInstanceUID", "") or "")
        pos, ori = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
        if not uid or pos is None or ori is None or "Rows" not in ds or "Columns" not in ds:
            enhanced = "PerFrameFunctionalGroupsSequence" in ds  # its geometry lives in the functional groups
            skipped["multi-frame (enhanced) DICOM, not supported yet: export the series as classic single-frame "
                    "images" if enhanced else "DICOM without image geometry (e.g. DICOMDIR, report)"] += 1
            continue
        try:
            item = _Slice(
                path=path,
                position=np.array([float(v) for v in pos]),
                orientation=np.array([float(v) for v in ori]),
                rows=int(ds.Rows),
                cols=int(ds.Columns),
                image_type=tuple(t.upper() for t in _strings(ds.get("ImageType"))),
                frames=int(ds.get("NumberOfFrames", 1) or 1),
                pixel_bytes=_native_pixel_bytes(ds),
                problem=_pixel_problem(ds, path),
                samples=int(ds.get("SamplesPerPixel", 1) or 1),
                sop_uid=str(ds.get("SOPInstanceUID", "") or ""),
                monochrome1_mirror=monochrome1_mirror(ds),
                pixel_spacing=tuple(_float(v) for v in _strings(ds.get("PixelSpacing"))),
                needed_bytes=int(ds.Rows) * int(ds.Columns) * int(ds.get("NumberOfFrames", 1) or 1)
                * int(ds.get("SamplesPerPixel", 1) or 1) * ((int(ds.get("BitsAllocated", 16) or 16) + 7) // 8),
            )
            if item.position.shape != (3,) or item.orientation.shape != (6,):
                raise ValueError(f"{len(pos)} position / {len(ori)} orientation values")
        except (TypeError, ValueError, OverflowError) as exc:
            skipped[f"malformed geometry tags ({exc})"] += 1
            continue
        groups.setdefault(uid, DicomSeries(uid=uid, header=ds)).slices.append(item)
    notes = [link_note(why, n) if why in LINK_REASONS else f"{plural(n, 'file')} skipped: {why}"
             for why, n in skipped.items()]
    series = sorted(groups.values(), key=lambda s: (_float(s.number) or 0.0, s.uid))
    return series, notes


def read_series(series: DicomSeries, *, max_voxels: int = MAX_VOXELS) -> Volume:
    """Read one series into a float32 Volume after geometry checks (no pixel read before them)."""
    slices, spacing_z = order_slices(series)
    voxels = slices[0].rows * slices[0].cols * len(slices)
    if voxels > max_voxels:
        raise VolumeTooLargeError(f"{series.label}: {voxels:.3g} voxels exceeds the {max_voxels:.3g} allowed.")
    broken = next((s for s in slices if s.problem), None)
    if broken is not None:
        raise UnreadableFileError(
            f"{series.label}: pixel data unreadable in image {slices.index(broken) + 1}: {broken.problem}. "
            "The file is truncated or corrupt; re-export the series."
        )
    colour = next((s for s in slices if s.samples != 1), None)
    if colour is not None:
        raise GeometryError(f"{series.label}: {colour.samples} samples per pixel (colour images); an MR series "
                            "is grayscale. Choose the CE-T1/T2/T1 series.")
    pixel_spacing = [_float(v) for v in _strings(series.header.get("PixelSpacing"))]
    if len(pixel_spacing) != 2 or not all(v is not None and np.isfinite(v) and v > 0 for v in pixel_spacing):
        raise GeometryError(
            f"{series.label}: PixelSpacing {list(_strings(series.header.get('PixelSpacing')))[:4]} is not two "
            "positive numbers (mm), so the voxel size is unknown; re-export the series."
        )
    short = next((s for s in slices if s.pixel_bytes is not None and s.pixel_bytes < s.needed_bytes), None)
    if short is not None:
        raise UnreadableFileError(
            f"{series.label}: image {slices.index(short) + 1} holds {short.pixel_bytes} bytes of pixel data but "
            f"its header needs {short.needed_bytes}; the file is truncated or corrupt. Re-export the series."
        )
    array, (spacing_x, spacing_y) = read_pixels(series.label, slices)
    # Our own slice spacing/order is authoritative (ITK uses the first two slices only).
    geometry = Geometry((slices[0].cols, slices[0].rows, len(slices)), (spacing_x, spacing_y, spacing_z),
                        tuple(float(v) for v in slices[0].position), _direction(slices[0]))
    check_geometry(geometry, series.label)
    check_finite(array, series.label)
    meta = {tag: _plain(series.header.get(tag)) for tag in _META_TAGS if series.header.get(tag) is not None}
    meta.update(source=series.label, format="dicom", series_uid=series.uid,
                contrast_agent_tag=bool(series.header.get("ContrastBolusAgent")))
    return Volume(array=array, geometry=geometry, meta=meta)


def _direction(item: _Slice) -> tuple[float, ...]:
    row, col = item.orientation[:3], item.orientation[3:]
    normal = np.cross(row, col)
    return tuple(float(v) for v in np.column_stack([row, col, normal]).ravel())


def _plain(value):
    if isinstance(value, pydicom.multival.MultiValue):
        return [_plain(v) for v in value]
    if isinstance(value, (int, float, str)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def study_uids(series: list[DicomSeries]) -> set[str]:
    return {str(s.header.get("StudyInstanceUID", "")) for s in series}


def group_by_study(series: list[DicomSeries]) -> dict[str, list[DicomSeries]]:
    groups: dict[str, list[DicomSeries]] = defaultdict(list)
    for s in series:
        groups[str(s.header.get("StudyInstanceUID", ""))].append(s)
    return groups
