"""Write realistic multi-series MR DICOM studies for intake tests (a helper module, not tests).

Every file is a complete Part-10 file (preamble, file meta, Explicit VR Little Endian) with the tags a
scanner export carries: UIDs, frame of reference, series number/description, protocol, TR/TE, optional
contrast agent, image type, patient geometry, rescale and int16 pixels. Patient identifiers are filled
with fake but realistic-looking values so tests can check that they never leak out of the intake.

Options reproduce what real exports look like: random, nested or SOPInstanceUID file names, non-DICOM
junk, missing slices, gantry tilt, localizers mixed into a series, 4D series (several images per position),
and any extra header attributes (``extra_tags``: e.g. every PS3.15 basic-profile identifier).
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, MRImageStorage, generate_uid

#: Fake identifiers written into every file; tests assert they never reach Volume.meta or reports.
FAKE_PATIENT_NAME = "Doe^Jane^Q"
FAKE_PATIENT_ID = "MRN-0047119"
FAKE_BIRTH_DATE = "19580312"
IDENTITY_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass
class SeriesSpec:
    """One series to write. Geometry is in LPS millimetres, like the DICOM tags themselves."""

    description: str
    number: int
    tr: float | None = 500.0
    te: float | None = 12.0
    protocol: str | None = None  # defaults to the description
    contrast_agent: str | None = None
    scan_options: str = ""
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "M", "ND")
    rows: int = 64
    cols: int = 64
    n_slices: int = 12
    pixel_spacing: tuple[float, float] = (0.8, 0.9)  # (row spacing, column spacing)
    slice_gap: float = 3.0  # distance between slice centres along the normal
    thickness: float | None = None  # defaults to slice_gap
    origin: tuple[float, float, float] = (-25.0, -30.0, 10.0)
    orientation: tuple[float, ...] = IDENTITY_ORIENTATION
    tilt_deg: float = 0.0  # gantry tilt: positions slide along the column direction
    missing: tuple[int, ...] = ()  # slice indices not written
    images_per_position: int = 1  # > 1 makes a 4D series (echoes/phases)
    localizers_mixed_in: int = 0  # extra images with another orientation in the same series
    phantom: str = "t1"  # which intensity pattern to draw
    slope: float = 1.0
    intercept: float = 0.0
    modality: str = "MR"


@dataclass
class WrittenSeries:
    """What was written for one series (for assertions)."""

    spec: SeriesSpec
    series_uid: str
    files: list[Path] = field(default_factory=list)
    positions: list[tuple[float, float, float]] = field(default_factory=list)  # per written slice, in order
    stored: np.ndarray | None = None  # int16 pixels [z, y, x] of the written slices, in slice order

    @property
    def values(self) -> np.ndarray:
        """Physical values (stored * slope + intercept) of the written slices."""
        return self.stored.astype(np.float64) * self.spec.slope + self.spec.intercept


def phantom(kind: str, n_slices: int, rows: int, cols: int) -> np.ndarray:
    """A smooth int16 head-like phantom [z, y, x] whose contrast depends on ``kind``.

    The slice index is folded into the intensity so a reader that reorders slices is caught.
    """
    z, y, x = np.meshgrid(
        np.linspace(-1, 1, n_slices), np.linspace(-1, 1, rows), np.linspace(-1, 1, cols), indexing="ij"
    )
    head = (x**2 + y**2 + 0.5 * z**2) < 0.8
    lesion = ((x - 0.25) ** 2 + (y + 0.1) ** 2 + z**2) < 0.08
    tissue, tumour = {"cet1": (400, 1400), "t2": (300, 1800), "t1": (600, 500)}.get(kind, (500, 900))
    image = np.where(head, tissue, 20) + np.where(lesion, tumour - tissue, 0)
    image = image + 30 * x + 7 * np.arange(n_slices)[:, None, None]
    return np.round(image).astype(np.int16)


def _file_meta(sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def _dataset(path: Path, spec: SeriesSpec, study: dict, series_uid: str, sop_uid: str | None = None) -> FileDataset:
    sop_uid = sop_uid or generate_uid()
    ds = FileDataset(str(path), {}, file_meta=_file_meta(sop_uid), preamble=b"\0" * 128)
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study["study_uid"]
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = study["frame_uid"]
    ds.PatientName = study["patient_name"]
    ds.PatientID = study["patient_id"]
    ds.PatientBirthDate = FAKE_BIRTH_DATE
    ds.PatientSex = "F"
    ds.StudyDate = ds.SeriesDate = "20240115"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC8812"
    ds.StudyID = "1"
    ds.Modality = spec.modality
    ds.Manufacturer = "FakeVendor"
    ds.MagneticFieldStrength = 3.0
    ds.SeriesNumber = spec.number
    ds.SeriesDescription = spec.description
    ds.ProtocolName = spec.protocol if spec.protocol is not None else spec.description
    if spec.tr is not None:
        ds.RepetitionTime = spec.tr
    if spec.te is not None:
        ds.EchoTime = spec.te
    if spec.contrast_agent is not None:
        ds.ContrastBolusAgent = spec.contrast_agent
    ds.ScanOptions = spec.scan_options
    ds.ImageType = list(spec.image_type)
    ds.PixelSpacing = list(spec.pixel_spacing)
    ds.SliceThickness = spec.thickness if spec.thickness is not None else spec.slice_gap
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = spec.slope
    ds.RescaleIntercept = spec.intercept
    for keyword, value in study.get("extra_tags", {}).items():  # may override the defaults above
        setattr(ds, keyword, value)
    return ds


def _slice_positions(spec: SeriesSpec) -> list[np.ndarray]:
    row, col = np.asarray(spec.orientation[:3]), np.asarray(spec.orientation[3:])
    normal = np.cross(row, col)
    shear = np.tan(np.radians(spec.tilt_deg)) * spec.slice_gap
    origin = np.asarray(spec.origin, dtype=float)
    return [origin + k * spec.slice_gap * normal + k * shear * col for k in range(spec.n_slices)]


def _write_image(path: Path, ds: FileDataset, pixels: np.ndarray, position, orientation, number: int) -> None:
    ds.Rows, ds.Columns = pixels.shape
    ds.ImagePositionPatient = [round(float(v), 4) for v in position]
    ds.ImageOrientationPatient = [float(v) for v in orientation]
    ds.InstanceNumber = number
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<i2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


class _Namer:
    """File names: ``sequential`` (IM0001.dcm), ``random`` (hex, no extension), ``nested`` (random in
    per-series subfolders two levels deep, like some PACS exports) or ``sop`` (<SOPInstanceUID>.dcm, as
    many PACS exports name them)."""

    def __init__(self, root: Path, style: str, rng: random.Random) -> None:
        self.root, self.style, self.rng, self.count = root, style, rng, 0

    def __call__(self, series_number: int, sop_uid: str = "") -> Path:
        self.count += 1
        if self.style == "sop":
            return self.root / f"{sop_uid}.dcm"
        if self.style == "sequential":
            return self.root / f"IM{self.count:04d}.dcm"
        name = "".join(self.rng.choice("0123456789ABCDEF") for _ in range(12))
        if self.style == "random":
            return self.root / name
        if self.style == "nested":
            return self.root / f"S{series_number:04d}" / f"DIR{self.rng.randint(0, 1)}" / name
        raise ValueError(f"unknown naming style {self.style!r}")


def write_series(
    spec: SeriesSpec,
    namer: _Namer,
    study: dict,
) -> WrittenSeries:
    """Write one series; see ``write_study`` for the usual entry point."""
    series_uid = generate_uid()
    written = WrittenSeries(spec=spec, series_uid=series_uid)
    volume = phantom(spec.phantom, spec.n_slices, spec.rows, spec.cols)
    kept = []
    number = 0
    for k, position in enumerate(_slice_positions(spec)):
        if k in spec.missing:
            continue
        for echo in range(spec.images_per_position):
            number += 1
            sop_uid = generate_uid()
            path = namer(spec.number, sop_uid)
            ds = _dataset(path, spec, study, series_uid, sop_uid)
            if spec.images_per_position > 1:
                ds.EchoNumbers = echo + 1
            pixels = volume[k] // (echo + 1)
            _write_image(path, ds, pixels, position, spec.orientation, number)
            written.files.append(path)
        written.positions.append(tuple(float(v) for v in np.round(position, 4)))
        kept.append(volume[k])
    written.stored = np.stack(kept)
    for extra in range(spec.localizers_mixed_in):
        number += 1
        sop_uid = generate_uid()
        path = namer(spec.number, sop_uid)
        ds = _dataset(path, spec, study, series_uid, sop_uid)
        # A sagittal image with the same size: only orientation betrays it (ImageType LOCALIZER is not set).
        _write_image(path, ds, volume[0], (0.0, -30.0 + extra, 60.0), (0.0, 1.0, 0.0, 0.0, 0.0, -1.0), number)
        written.files.append(path)
    return written


def write_junk(root: Path, rng: random.Random, count: int = 4) -> list[Path]:
    """Non-DICOM files a real export carries (viewer files, notes, thumbnails, a DICOMDIR-like stub)."""
    junk = [
        ("README.TXT", b"Exported by FakePACS 3.2\r\n"),
        ("VIEWER/autorun.inf", b"[autorun]\r\nopen=viewer.exe\r\n"),
        ("thumb.jpg", b"\xff\xd8\xff\xe0" + bytes(rng.randrange(256) for _ in range(300))),
        (".DS_Store", b"\x00\x00\x00\x01Bud1" + b"\x00" * 200),
        ("notes.xml", b"<?xml version='1.0'?><export count='3'/>"),
        ("empty.dcm", b""),
    ]
    paths = []
    for name, data in junk[: max(count, 0)]:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def write_study(
    root: Path,
    specs: Sequence[SeriesSpec],
    *,
    naming: str = "sequential",
    junk: int = 0,
    seed: int = 0,
    study_uid: str | None = None,
    patient_name: str = FAKE_PATIENT_NAME,
    patient_id: str = FAKE_PATIENT_ID,
    frame_uid: str | None = None,
    extra_tags: Mapping[str, object] | None = None,
) -> dict[int, WrittenSeries]:
    """Write every series of ``specs`` under ``root``.

    Args:
        root: folder to write into (created).
        specs: the series.
        naming: ``sequential``, ``random``, ``nested`` or ``sop`` (see ``_Namer``).
        junk: how many non-DICOM files to mix in (0-6).
        seed: seed for names and junk bytes, so failures reproduce.
        study_uid, patient_name, patient_id: study identity (random UID when None).
        frame_uid: FrameOfReferenceUID shared by the series (random when None).
        extra_tags: header attributes by pydicom keyword written into every file after the defaults
            (so they may replace them), e.g. ``{"InstitutionName": "..."}``.

    Returns:
        The written series keyed by series number.
    """
    root = Path(root)
    os.makedirs(root, exist_ok=True)
    rng = random.Random(seed)
    study = {
        "study_uid": study_uid or generate_uid(),
        "frame_uid": frame_uid or generate_uid(),
        "patient_name": patient_name,
        "patient_id": patient_id,
        "extra_tags": dict(extra_tags or {}),
    }
    namer = _Namer(root, naming, rng)
    written = {spec.number: write_series(spec, namer, study) for spec in specs}
    write_junk(root, rng, junk)
    return written


def cet1_spec(**changes) -> SeriesSpec:
    """A post-contrast fat-saturated T1 series (Siemens-like wording)."""
    base = dict(description="T1 TSE AX +C FS", number=7, tr=550.0, te=11.0, contrast_agent="Gadovist 7.5ml",
                scan_options="FS", phantom="cet1")
    return SeriesSpec(**{**base, **changes})


def t2_spec(**changes) -> SeriesSpec:
    base = dict(description="AX T2 FSE", number=4, tr=4200.0, te=95.0, phantom="t2", slope=1.5, intercept=-10.0)
    return SeriesSpec(**{**base, **changes})


def t1_spec(**changes) -> SeriesSpec:
    base = dict(description="Ax T1 PRE", number=3, tr=520.0, te=10.0, phantom="t1")
    return SeriesSpec(**{**base, **changes})


def localizer_spec(**changes) -> SeriesSpec:
    base = dict(description="3-plane loc", number=1, tr=8.6, te=4.0, n_slices=3, image_type=(
        "ORIGINAL", "PRIMARY", "LOCALIZER"), phantom="loc")
    return SeriesSpec(**{**base, **changes})


def dwi_specs() -> list[SeriesSpec]:
    """A DWI trace series and its ADC map (both must be ignored by role assignment)."""
    return [
        SeriesSpec(description="DWI b1000", number=5, tr=5200.0, te=78.0, phantom="dwi"),
        SeriesSpec(description="ADC", number=6, tr=5200.0, te=78.0, phantom="adc",
                   image_type=("DERIVED", "PRIMARY", "ADC", "ADC")),
    ]


def standard_specs() -> list[SeriesSpec]:
    """CE-T1, T2 and T1 with distinct geometry per series (the T2 is thicker and shifted)."""
    return [
        t1_spec(),
        t2_spec(n_slices=10, slice_gap=4.0, origin=(-24.0, -28.0, 8.0), pixel_spacing=(0.9, 0.9)),
        cet1_spec(),
    ]
