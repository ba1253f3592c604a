"""Write a synthetic series as a DICOM MR series (one file per slice, deterministic UIDs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from inference.volume import Volume
from training.synth.writers import atomic_write

SERIES_NUMBERS = {"t1": 2, "t2": 3, "cet1": 5}
# Stored = scanner value / slope: a non-unit slope makes readers prove they apply the rescale.
RESCALE_SLOPE = 0.5
STUDY_DATE = "20240115"
_IMPLEMENTATION_UID = "1.2.826.0.1.3680043.10.999.1"  # fixed so files are byte-identical across runs


def _uid(seed: int, *parts: object) -> str:
    """A valid UID derived only from the seed and names, so the same seed writes the same files."""
    return generate_uid(entropy_srcs=["otscc-edge-synthetic", str(seed), *map(str, parts)])


def _base_dataset(patient, seq: str, vol: Volume, seed: int) -> Dataset:
    meta, geo, clin = vol.meta, vol.geometry, patient.clinical
    ds = Dataset()
    ds.SOPClassUID = MRImageStorage
    ds.Modality = "MR"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.Manufacturer = "SYNTHETIC"
    ds.InstitutionName = "SYNTHETIC DATA - NOT A PATIENT"
    ds.MagneticFieldStrength = "1.5"
    ds.PatientName = "SYNTHETIC^PATIENT"
    ds.PatientID = patient.patient_id
    ds.PatientSex = clin.sex
    ds.PatientAge = f"{clin.age:03d}Y"
    ds.PatientBirthDate = ""
    ds.PatientPosition = "HFS"
    ds.BodyPartExamined = "HEADNECK"
    ds.StudyInstanceUID = _uid(seed, patient.patient_id, "study")
    ds.FrameOfReferenceUID = _uid(seed, patient.patient_id, "frame")
    ds.SeriesInstanceUID = _uid(seed, patient.patient_id, seq, "series")
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = STUDY_DATE
    ds.StudyTime = "090000"
    ds.SeriesTime = ds.ContentTime = f"09{SERIES_NUMBERS[seq] * 4:02d}00"
    ds.StudyDescription = "MRI ORAL CAVITY (SYNTHETIC)"
    ds.SeriesDescription = meta["description"]
    ds.ProtocolName = meta["protocol"]
    ds.SeriesNumber = SERIES_NUMBERS[seq]
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "SK"
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = meta["tr_ms"]
    ds.EchoTime = meta["te_ms"]
    ds.EchoTrainLength = 16 if seq == "t2" else 4
    if meta["fat_sat"]:
        ds.ScanOptions = "FS"
    if meta["contrast"]:
        ds.ContrastBolusAgent = meta["contrast"]
    ds.SliceThickness = round(geo.spacing[2], 4)
    ds.SpacingBetweenSlices = round(geo.spacing[2], 4)
    ds.PixelSpacing = [round(geo.spacing[1], 6), round(geo.spacing[0], 6)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.Rows, ds.Columns = geo.size[1], geo.size[0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = RESCALE_SLOPE
    ds.RescaleIntercept = 0
    ds.RescaleType = "US"
    return ds


def write_dicom_series(patient, seq: str, folder: Path, prefix: str = "IM", seed: int | None = None) -> None:
    """Write ``patient.volumes[seq]`` as one DICOM file per slice in ``folder``.

    Args:
        patient: A ``SyntheticPatient``.
        seq: "cet1", "t2" or "t1".
        folder: Target folder (may hold other series too; file names carry ``prefix``).
        prefix: File-name prefix.
        seed: UID seed; defaults to the patient's cohort seed.
    """
    vol = patient.volumes[seq]
    seed = patient.truth["seed"] if seed is None else seed
    base = _base_dataset(patient, seq, vol, seed)
    geo = vol.geometry
    stored = np.clip(np.rint(vol.array.astype(np.float32) / RESCALE_SLOPE), -32768, 32767).astype(np.int16)
    hi = float(np.percentile(vol.array, 99.5))
    base.WindowCenter, base.WindowWidth = round(hi / 2), max(1, round(hi))
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(geo.size[2]):
        ds = base.copy()
        pos = geo.index_to_physical(np.array([0.0, 0.0, float(k)]))
        ds.ImagePositionPatient = [round(float(p), 4) for p in pos]
        ds.SliceLocation = round(float(pos[2]), 4)
        ds.InstanceNumber = k + 1
        ds.SOPInstanceUID = _uid(seed, patient.patient_id, seq, "image", k)
        ds.PixelData = stored[k].tobytes()
        fm = FileMetaDataset()
        fm.MediaStorageSOPClassUID = ds.SOPClassUID
        fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        fm.TransferSyntaxUID = ExplicitVRLittleEndian
        fm.ImplementationClassUID = _IMPLEMENTATION_UID
        fm.ImplementationVersionName = "OTSCC_SYNTH"
        ds.file_meta = fm
        atomic_write(
            folder / f"{prefix}{k + 1:04d}.dcm",
            lambda tmp, ds=ds: ds.save_as(tmp, enforce_file_format=True),
        )
