"""Atomic, byte-deterministic writers for NIfTI volumes, tables and JSON."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import SimpleITK as sitk

from inference.atomic import temp_name
from inference.volume import Volume

CLINICAL_COLUMNS = ("patient_id", "age", "sex", "ct_stage", "cn_status", "doi_mm", "lnm")
TRUTH_COLUMNS = (
    "patient_id", "volume_ml", "doi_true_mm", "greatest_dim_true_mm", "size_measured_mm", "site", "side",
    "heterogeneity", "necrosis", "irregularity", "fat_sat_cet1", "risk_logit",
)
# Level 1 gzip: noisy MR barely compresses better at higher levels and is several times slower.
NIFTI_COMPRESSION_LEVEL = 1


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary name in the target folder, then rename it into place.

    The temporary keeps the target's suffixes so writers that pick a format by extension still work.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name.split('.')[0]}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_nifti(volume: Volume, path: Path) -> None:
    """Write a volume as .nii.gz with its geometry.

    SimpleITK writes the NIfTI header; we gzip it ourselves because SimpleITK's NIfTI writer ignores
    the compression level (about 3x slower than level 1) and ``mtime=0`` keeps the bytes reproducible.
    """
    image = volume.to_image()
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp_dir:
        raw_path = Path(tmp_dir) / "raw.nii"
        sitk.WriteImage(image, str(raw_path), False)
        raw = raw_path.read_bytes()
    write_bytes(path, gzip.compress(raw, compresslevel=NIFTI_COMPRESSION_LEVEL, mtime=0))


def write_json(path: Path, data: dict) -> None:
    write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def write_csv(path: Path, columns: Iterable[str], rows: Iterable[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes(path, buf.getvalue().encode())


def clinical_json(patient) -> dict:
    """Clinical values a user would type into the tool, flagged as synthetic."""
    row = patient.clinical.csv_row()
    return {"synthetic": True, **{k: row[k] for k in ("age", "sex", "ct_stage", "cn_status", "doi_mm")}}


def write_patient(patient, folder: Path, fmt: str = "nifti", preview: bool = False) -> None:
    """Write one patient's series, mask, truth.json (and optional preview.png) into ``folder``, whole or not at all.

    The files are written into a hidden staging folder (``inference.atomic.temp_name``, skipped by the cohort
    readers) that is renamed to ``folder`` once complete: Ctrl+C in the middle left a patient folder with CE-T1 and T2
    but no T1 or truth.json (or a mask but no truth.json), which ``otscc predict`` and training read as a patient.
    """
    if folder.exists():  # never replaced: what else a folder of that name holds is not ours to delete
        raise FileExistsError(f"{folder} already exists; a patient is written into a new folder only")
    staging = folder.parent / temp_name(folder.name)  # the outputs' temporary names (inference.atomic)
    staging.mkdir(parents=True)
    try:
        _write_patient_files(patient, staging, fmt, preview)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_patient_files(patient, folder: Path, fmt: str, preview: bool) -> None:
    if fmt == "dicom":
        from training.synth.dicom_writer import write_dicom_series

        for seq in patient.volumes:
            write_dicom_series(patient, seq, folder / seq)
    else:
        for seq, vol in patient.volumes.items():
            write_nifti(vol, folder / f"{seq}.nii.gz")
    write_nifti(patient.mask, folder / "mask.nii.gz")
    write_json(folder / "truth.json", patient.truth)
    if preview:
        from training.synth.preview import write_preview

        write_preview(patient, folder / "preview.png")


def write_tables(patients: list, out: Path) -> None:
    """clinical.csv (the model's inputs and outcome) and truth.csv (latent variables)."""
    write_csv(out / "clinical.csv", CLINICAL_COLUMNS, (p.clinical.csv_row() for p in patients))
    write_csv(out / "truth.csv", TRUTH_COLUMNS, (p.truth for p in patients))
