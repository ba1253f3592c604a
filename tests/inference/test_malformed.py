"""A corpus of malformed patient inputs: each must fail with one specific typed error and a useful message.

The corpus is one table (``CASES``). Every row builds its input under a fresh folder and names the entry
point (``load_patient`` on a folder, or ``read_image_file`` on a file), the ``inference.errors`` class and
a message substring. The same table is run once more in a separate process to bound peak memory and time
and to prove that nothing but an ``InputError`` escapes (no crash, no hang).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from inference import dicom
from inference.errors import (
    AmbiguousSequenceError,
    GeometryError,
    InputError,
    InvalidPixelDataError,
    MissingSequenceError,
    PatientNotFoundError,
    UnreadableFileError,
    UnsupportedFormatError,
    VolumeTooLargeError,
)
from inference.imagefile import read_image_file
from inference.io import load_patient
from tests.inference.dicom_factory import (
    cet1_spec,
    standard_specs,
    t1_spec,
    t2_spec,
    write_junk,
    write_study,
)
from tests.inference.fuzzing.dicoms import PIXEL_DATA, TagEdit, edit_bytes
from tests.inference.fuzzing.images import FieldEdit, LineEdit, NiftiCase, TextImageCase, build_nifti, build_text_image

REPO = Path(__file__).resolve().parents[2]
PYDICOM_FILES = Path(pydicom.__file__).resolve().parent / "data" / "test_files"
RSS_LIMIT_KIB = 1024 * 1024  # 1 GiB
CORPUS_TIMEOUT_S = 120


# --- builders ----------------------------------------------------------------------------------------

def nifti1(dims: tuple[int, ...], datatype: int = 4, bitpix: int = 16, spacing=(1.0, 1.0, 1.0)) -> bytes:
    """A hand-made 352-byte NIfTI-1 header (+ empty extension flag), so any dims can be declared."""
    header = bytearray(352)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, len(dims), *dims, *([1] * (7 - len(dims))))
    struct.pack_into("<hh", header, 70, datatype, bitpix)
    struct.pack_into("<8f", header, 76, 1.0, *spacing, *([1.0] * (7 - len(spacing))))
    struct.pack_into("<ff", header, 108, 352.0, 1.0)  # vox_offset, scl_slope
    header[344:348] = b"n+1\0"
    return bytes(header)


def write_image(path: Path, array: np.ndarray, spacing=(0.8, 0.8, 3.0)) -> Path:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing[: image.GetDimension()])
    sitk.WriteImage(image, str(path))
    return path


def small(value: float = 100.0, shape=(6, 20, 24)) -> np.ndarray:
    return (value + np.arange(int(np.prod(shape))).reshape(shape) % 17).astype(np.int16)


def nifti_patient(root: Path, skip: tuple[str, ...] = (), ext: str = ".nii.gz") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, role in enumerate(("cet1", "t2", "t1")):
        if role not in skip:
            write_image(root / f"{role}{ext}", small(100.0 * (i + 1)))
    return root


def dicom_study(root: Path, cet1: dict | None = None, extra: list | None = None) -> dict:
    specs = [t1_spec(), t2_spec(), cet1_spec(**(cet1 or {}))] + list(extra or [])
    return write_study(root, specs, naming="random", junk=2)


def rewrite_cet1(root: Path, change: Callable[[pydicom.Dataset], None]) -> Path:
    """Write the standard study, then edit every CE-T1 file's header."""
    for path in dicom_study(root)[7].files:
        ds = pydicom.dcmread(path)
        change(ds)
        ds.save_as(path)
    return root


def real_mr_series(root: Path, middle: str, resave: bool) -> Path:
    """Three real MR_small slices around one pydicom test file (e.g. MR_truncated.dcm) in one series."""
    root.mkdir(parents=True, exist_ok=True)
    source = PYDICOM_FILES / middle
    uid = pydicom.dcmread(source, stop_before_pixels=True).SeriesInstanceUID
    for k, z in enumerate((4.6406, 6.6406, 8.6406)):
        if k == 1 and not resave:
            shutil.copy(source, root / "IM1")  # byte copy: the element is cut short by end of file
            continue
        ds = pydicom.dcmread(source if k == 1 else PYDICOM_FILES / "MR_small.dcm")
        ds.SeriesInstanceUID, ds.SOPInstanceUID = uid, pydicom.uid.generate_uid()
        ds.ImagePositionPatient = [-83.9063, -91.2, z]
        ds.save_as(root / f"IM{k}")
    return root


def _cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _series_folder_reader(root: Path) -> Path:
    """A standard study whose CE-T1 has a file cut in half (inside its pixel data)."""
    _cut(dicom_study(root)[7].files[5], 0.5)
    return root


# --- the table ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One malformed input: ``build(folder)`` returns the path to open, ``kwargs`` go to the entry point."""

    name: str
    build: Callable[[Path], Path]
    error: type[InputError]
    match: str
    entry: str = "patient"  # "patient": load_patient(path, **kwargs); "image": read_image_file(path);
    # "series": the one DICOM series in the folder through dicom.scan_folder + dicom.read_series
    kwargs: dict = field(default_factory=dict)


def _f(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        (root / name).write_bytes(data)
        return root / name
    return build


def _nan_volume(ext: str, fill: float) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        array = np.full((5, 16, 16), 40.0, np.float32)
        array[2, 3:9, 4:7] = fill
        return write_image(root / f"cet1{ext}", array)
    return build


def _mask_mismatch(root: Path) -> Path:
    nifti_patient(root)
    write_image(root / "label.nii.gz", (small() > 105).astype(np.uint8), spacing=(0.8, 0.8, 5.0))
    return root


def _two_masks(root: Path) -> Path:
    nifti_patient(root)
    for name in ("mask.nii.gz", "seg.nii.gz"):
        write_image(root / name, np.zeros((6, 20, 24), np.uint8))
    return root


def _two_cet1_files(root: Path) -> Path:
    nifti_patient(root)
    write_image(root / "T1_Gd.nii.gz", small(300.0))
    return root


def _unnamed(root: Path) -> Path:
    for name in ("image_a.nii.gz", "scan2.nrrd"):
        write_image(root / name, small())
    return root


def _declare_60000(ds: pydicom.Dataset) -> None:
    ds.Rows = ds.Columns = 60000  # header only: the pixel data stays 64 x 64


def _over_many_files(root: Path) -> Path:
    for i in range(dicom.MAX_FILES + 1):
        (root / f"f{i:05d}").touch()
    return root


def _override_many_series(root: Path) -> Path:
    nifti_patient(root / "p", skip=("cet1",))
    dicom_study(root / "two")
    return root / "p"


def _gz_corrupt(root: Path) -> Path:
    data = gzip.compress(nifti1((16, 16, 4)) + bytes(16 * 16 * 4 * 2))
    broken = data[:10] + bytes(b ^ 0x5A for b in data[10:-8]) + data[-8:]  # valid gzip header, garbage deflate
    (root / "cet1.nii.gz").write_bytes(broken)
    return root / "cet1.nii.gz"


# --- reproducers of what the fuzzer found (tests/inference/test_fuzz.py), built with its codecs --------

def _study_with_cet1(*edits: TagEdit, keep: int | None = None, specs: list | None = None) -> Callable[[Path], Path]:
    """A study (by default the standard one) whose CE-T1 files get byte-level ``edits`` or are cut to ``keep``
    bytes: values pydicom would refuse to write (wrong length, unknown VR, a sequence where a string goes)."""
    def build(root: Path) -> Path:
        written = write_study(root, specs or [t1_spec(), t2_spec(), cet1_spec()], naming="random", junk=2)
        for path in written[7].files:
            data = edit_bytes(path.read_bytes(), edits)
            path.write_bytes(data[:keep] if keep is not None else data)
        return root
    return build


def _text(**fields) -> Callable[[Path], Path]:
    """A NRRD/MetaImage file (``TextImageCase``) under ``<root>/patient``, with an ``outside`` folder beside."""
    return lambda root: Path(build_text_image(TextImageCase(**fields), root)["path"])


def _nii(**fields) -> Callable[[Path], Path]:
    return lambda root: Path(build_nifti(NiftiCase(**fields), root)["path"])


def _meta(key: str, value: str) -> tuple[LineEdit, ...]:
    return (LineEdit("set", key, value),)


_T2_LESS = [t1_spec(), cet1_spec()]
_SQ = b"SQ"


CASES: list[Case] = [
    # paths and folders
    Case("nonexistent_path", lambda r: r / "no_such_patient", PatientNotFoundError, "no such file or folder"),
    Case("path_is_a_file", _f("cet1.nii.gz", b"x"), PatientNotFoundError, "a patient is a folder"),
    Case("empty_folder", lambda r: r, PatientNotFoundError, "no DICOM series or NIfTI"),
    Case("junk_only_folder", lambda r: (write_junk(r, random.Random(1), 6), r)[1],
         PatientNotFoundError, "no DICOM series or NIfTI"),
    Case("zero_byte_dicom_folder", lambda r: ([(r / f"IM{i:04d}").touch() for i in range(5)], r)[1],
         PatientNotFoundError, "no DICOM series or NIfTI"),
    Case("over_many_files", _over_many_files, VolumeTooLargeError, "more than 20000 files"),
    Case("unnamed_images_only", _unnamed, MissingSequenceError, "none is named by sequence"),
    # file formats
    Case("zero_byte_image", _f("cet1.nii.gz", b""), UnreadableFileError, "empty file (0 bytes)", entry="image"),
    Case("zero_byte_in_patient", lambda r: (nifti_patient(r, skip=("t2",)), (r / "t2.nii").touch(), r)[2],
         UnreadableFileError, "t2.nii: empty file"),
    Case("png_named_nii", lambda r: shutil.copy(write_image(r / "x.png", np.zeros((8, 8), np.uint8)), r / "cet1.nii"),
         UnreadableFileError, "not recognized as a NIFTI file", entry="image"),
    Case("text_named_nii", _f("t2.nii", b"patient notes: not an image\n" * 20), UnreadableFileError,
         "not a readable image header", entry="image"),
    Case("txt_override", lambda r: (nifti_patient(r / "p", skip=("cet1",)), (r / "cet1.txt").write_text("x"),
                                    r / "p")[2],
         UnsupportedFormatError, "cet1.txt: unsupported file type", kwargs={"cet1": "../cet1.txt"}),
    Case("txt_named_cet1_in_folder", lambda r: (nifti_patient(r, skip=("cet1",)), (r / "cet1.txt").write_text("x"),
                                                r)[2],
         MissingSequenceError, "no CE-T1 file"),
    Case("nifti_header_1e12_voxels", _f("cet1.nii", nifti1((10000, 10000, 10000))), VolumeTooLargeError,
         "1e+12 voxels", entry="image"),
    Case("nifti_header_larger_than_file", _f("cet1.nii", nifti1((64, 64, 20)) + bytes(1000)), VolumeTooLargeError,
         "file holds only 1000", entry="image"),
    Case("truncated_nii_gz", _f("cet1.nii.gz", gzip.compress(nifti1((64, 64, 20)) + bytes(range(256)) * 640)[:300]),
         VolumeTooLargeError, "truncated", entry="image"),
    Case("not_gzip_nii_gz", _f("cet1.nii.gz", nifti1((8, 8, 4)) + bytes(512)), UnreadableFileError,
         "not a valid gzip file", entry="image"),
    Case("corrupt_gzip_stream", _gz_corrupt, UnreadableFileError, "cet1.nii.gz", entry="image"),
    Case("nrrd_header_9e11_voxels", _f("t1.nrrd", b"NRRD0004\ntype: short\ndimension: 3\nsizes: 30000 30000 1000\n"
                                                  b"encoding: raw\nendian: little\n\n" + bytes(64)),
         VolumeTooLargeError, "9e+11 voxels", entry="image"),
    Case("truncated_nrrd", _f("t1.nrrd", b"NRRD0004\ntype: short\ndimension: 3\nsizes: 64 64 20\nencoding: raw\n"
                                         b"endian: little\n\n" + bytes(100)),
         VolumeTooLargeError, "but the file holds only 100 bytes", entry="image"),
    Case("truncated_mha", lambda r: (write_image(r / "t1.mha", small()), _cut(r / "t1.mha", 0.6), r / "t1.mha")[2],
         VolumeTooLargeError, "the file is truncated", entry="image"),
    # geometry and pixels of image files
    Case("nifti_4d", _f("cet1.nii", nifti1((8, 8, 4, 3)) + bytes(8 * 8 * 4 * 3 * 2)), GeometryError, "4D image",
         entry="image"),
    Case("nifti_5d", _f("cet1.nii", nifti1((4, 4, 4, 1, 2)) + bytes(4 * 4 * 4 * 2 * 2)), GeometryError, "5D image",
         entry="image"),
    Case("nifti_2d", _f("cet1.nii", nifti1((16, 16)) + bytes(16 * 16 * 2)), GeometryError, "2D image", entry="image"),
    Case("nifti_single_slice", _f("cet1.nii", nifti1((16, 16, 1)) + bytes(16 * 16 * 2)), GeometryError, "2D image",
         entry="image"),
    Case("nifti_zero_dim", _f("cet1.nii", nifti1((16, 0, 4)) + bytes(16 * 16 * 4 * 2)), GeometryError, "2D image",
         entry="image"),
    Case("rgb_nifti", _f("cet1.nii", nifti1((16, 16, 4), datatype=128, bitpix=24) + bytes(16 * 16 * 4 * 3)),
         GeometryError, "3-component (vector/RGB)", entry="image"),
    Case("nan_filled_nifti", _f("cet1.nii", nifti1((16, 16, 4), datatype=16, bitpix=32)
                                + np.full(1024, np.nan, "<f4").tobytes()),
         InvalidPixelDataError, "1024 of 1024 voxels are NaN", entry="image"),
    Case("inf_nifti_gz", _nan_volume(".nii.gz", np.inf), InvalidPixelDataError, "18 of 1280 voxels", entry="image"),
    Case("nan_nrrd", _nan_volume(".nrrd", np.nan), InvalidPixelDataError, "NaN or infinite", entry="image"),
    Case("inf_mha", _nan_volume(".mha", -np.inf), InvalidPixelDataError, "NaN or infinite", entry="image"),
    # role problems
    Case("mask_geometry_mismatch", _mask_mismatch, GeometryError, "does not match the CE-T1 grid"),
    Case("two_mask_files", _two_masks, AmbiguousSequenceError, "several mask files"),
    Case("missing_t2_file", lambda r: nifti_patient(r, skip=("t2",)), MissingSequenceError, "no T2 file"),
    Case("two_cet1_files", _two_cet1_files, AmbiguousSequenceError, "2 files could be CE-T1"),
    Case("override_missing_path", lambda r: nifti_patient(r, skip=("t1",)), PatientNotFoundError,
         "--t1 /nonexistent/t1.nii.gz: no such file", kwargs={"t1": "/nonexistent/t1.nii.gz"}),
    Case("override_folder_with_many_series", _override_many_series, AmbiguousSequenceError,
         "folder holds 3 DICOM series", kwargs={"cet1": "../two"}),
    Case("missing_t2_dicom", lambda r: (write_study(r, [t1_spec(), cet1_spec()]), r)[1], MissingSequenceError,
         "no T2 series found"),
    Case("two_cet1_dicom", lambda r: (dicom_study(r, extra=[cet1_spec(number=11, description="AX T1 POST")]), r)[1],
         AmbiguousSequenceError, "2 candidates for CE-T1"),
    Case("ct_series_only", lambda r: (write_study(r, [dataclasses.replace(s, modality="CT")
                                                      for s in standard_specs()]), r)[1],
         MissingSequenceError, "modality CT, not MR"),
    # DICOM geometry
    Case("dicom_4d_series", lambda r: (dicom_study(r, {"images_per_position": 2}), r)[1], GeometryError,
         "a 4D series"),
    Case("dicom_single_slice_series", lambda r: (dicom_study(r, {"n_slices": 1}), r)[1], MissingSequenceError,
         "a single image (not a 3D stack)"),
    Case("dicom_single_slice_chosen", lambda r: (dicom_study(r, {"n_slices": 1}), r)[1], GeometryError,
         "a single image; a 3D stack", kwargs={"cet1": "7"}),
    Case("dicom_missing_slices", lambda r: (dicom_study(r, {"missing": (5, 6)}), r)[1], GeometryError,
         "~2 missing slices"),
    Case("dicom_gantry_tilt", lambda r: (dicom_study(r, {"tilt_deg": 12.0}), r)[1], GeometryError,
         "12.0 degrees off their normal"),
    Case("dicom_zero_orientation", lambda r: rewrite_cet1(r, lambda ds: setattr(ds, "ImageOrientationPatient",
                                                                                 [0, 0, 0, 0, 0, 0])),
         GeometryError, "not two orthogonal unit vectors"),
    Case("dicom_short_orientation", lambda r: rewrite_cet1(r, lambda ds: setattr(ds, "ImageOrientationPatient",
                                                                                  [1, 0, 0])),
         MissingSequenceError, "no CE-T1 series found"),
    Case("dicom_multiframe", lambda r: rewrite_cet1(r, lambda ds: setattr(ds, "NumberOfFrames", 2)), GeometryError,
         "multi-frame (enhanced) DICOM"),
    Case("dicom_declares_60000x60000", lambda r: rewrite_cet1(r, _declare_60000),
         VolumeTooLargeError, "4.32e+10 voxels exceeds"),
    # DICOM pixel data
    Case("dicom_no_pixel_data", lambda r: rewrite_cet1(r, lambda ds: delattr(ds, "PixelData")), UnreadableFileError,
         "pixel data unreadable"),
    Case("dicom_file_cut_in_half", _series_folder_reader, UnreadableFileError, "pixel data unreadable"),
    Case("dicom_mr_truncated_copied", lambda r: real_mr_series(r / "s", "MR_truncated.dcm", resave=False),
         UnreadableFileError, "pixel data unreadable", entry="series"),
    Case("dicom_short_pixel_data", lambda r: real_mr_series(r / "s", "MR_truncated.dcm", resave=True),
         UnreadableFileError, "holds 8130 bytes of pixel data but its header needs 8192", entry="series"),
    # found by fuzzing: an empty override scanned the working folder (the process's, not the patient's)
    Case("override_empty_string", lambda r: nifti_patient(r, skip=("cet1",)), PatientNotFoundError,
         "--cet1: empty value", kwargs={"cet1": ""}),
    # found by fuzzing: DICOM headers (each crashed, hung or allocated hundreds of MB before its fix)
    Case("dicom_pixel_spacing_not_numbers", _study_with_cet1(TagEdit(0x00280030, "set", b"1.0.0\\1 ")),
         GeometryError, "PixelSpacing ['1.0.0', '1'] is not two positive numbers"),
    Case("dicom_image_type_as_sequence", _study_with_cet1(TagEdit(0x00080008, "vr", _SQ), specs=_T2_LESS),
         MissingSequenceError, "no T2 series found"),
    Case("dicom_columns_one_byte", _study_with_cet1(TagEdit(0x00280011, "set", b"\x10")),
         MissingSequenceError, "no CE-T1 series found"),
    Case("dicom_columns_missing", _study_with_cet1(TagEdit(0x00280011, "delete")),
         MissingSequenceError, "no CE-T1 series found"),
    Case("dicom_group_length_three_bytes", _study_with_cet1(TagEdit(0x00020000, "set", b"\xce\x00\x00")),
         MissingSequenceError, "no CE-T1 series found"),
    Case("dicom_unknown_vr_transfer_syntax", _study_with_cet1(TagEdit(0x00020010, "vr", b"U4")),
         MissingSequenceError, "no CE-T1 series found"),
    Case("dicom_cut_inside_file_meta", _study_with_cet1(keep=153), MissingSequenceError, "no CE-T1 series found"),
    Case("dicom_unknown_vr_in_file_meta", _study_with_cet1(TagEdit(0x00020002, "vr", b"XX")),
         UnreadableFileError, "element (0002,0002) has an unknown value representation 'XX'"),
    Case("dicom_unknown_vr_rescale", _study_with_cet1(TagEdit(0x00281052, "vr", b"XX")),
         UnreadableFileError, "element (0028,1052) has an unknown value representation 'XX'"),
    Case("dicom_element_swallows_pixel_data", _study_with_cet1(TagEdit(0x00281052, "length", amount=0)),
         UnreadableFileError, "holds no PixelData element"),
    Case("dicom_ybr_colour_pixels", _study_with_cet1(TagEdit(PIXEL_DATA, "vr", b"US"),
                                                     TagEdit(0x00280004, "set", b"YBR_FULL")),
         GeometryError, "(colour) pixels; an MR series is grayscale"),
    # found by fuzzing: NRRD and MetaImage headers
    Case("mha_ndims_negative", _text(fmt="mha", edits=_meta("NDims", "-1")), UnreadableFileError,
         "NDims '-1' is not a number of dimensions", entry="image"),  # segfault in ITK's MetaIO
    Case("mha_ndims_100", _text(fmt="mha", detached=True, edits=_meta("NDims", "100")), UnreadableFileError,
         "NDims '100'", entry="image"),  # heap corruption, abort
    Case("mha_ndims_huge", _text(fmt="mha", detached=True, edits=_meta("NDims", "99999999999")),
         UnreadableFileError, "NDims '99999999999'", entry="image"),  # hang
    Case("mhd_data_file_dev_stdin", _text(fmt="mha", detached=True, edits=_meta("ElementDataFile", "/dev/stdin")),
         UnreadableFileError, "points at voxel data outside its folder ('/dev/stdin')", entry="image"),  # hang
    Case("nhdr_data_file_outside_folder", _text(detached=True, edits=_meta("data file", "../outside/secret.raw")),
         UnreadableFileError, "outside its folder", entry="image"),  # read another folder's file
    Case("nhdr_data_file_fifo", _text(detached=True, edits=_meta("data file", "fifo.raw")), UnreadableFileError,
         "its data file 'fifo.raw' is not a regular file", entry="image"),
    Case("nrrd_data_file_list", _text(edits=_meta("data file", "LIST")), UnsupportedFormatError,
         "voxels split over several files", entry="image"),
    Case("nrrd_tiny_file_declares_big_volume", _text(payload="raw", edits=_meta("sizes", "512 512 400")),
         VolumeTooLargeError, "header declares 209715200 bytes of voxels (raw) but the file holds only 384",
         entry="image"),  # ITK allocated 200 MB first
    Case("nrrd_gzip_tiny_declares_big_volume", _text(payload="gzip", edits=(
        LineEdit("set", "sizes", "512 512 400"), LineEdit("set", "encoding", "gzip"))),
         VolumeTooLargeError, "(deflate) but the file holds only", entry="image"),
    Case("nrrd_doubles_over_byte_cap", _text(edits=(LineEdit("set", "sizes", "512 512 400"),
                                                    LineEdit("set", "type", "double"))),
         VolumeTooLargeError, "800 MiB of 64-bit float voxels", entry="image"),
    Case("mha_transform_matrix_1e308", _text(fmt="mha", edits=_meta("TransformMatrix", "1e308 0 0 0 1 0 0 0 1")),
         GeometryError, "are not orthonormal", entry="image"),
    Case("mha_double_beyond_float32", _text(fmt="mha", edits=_meta("ElementType", "MET_DOUBLE"),
                                            payload_edits=((7, 0x7F),)),  # the first voxel is about 5e303
         InvalidPixelDataError, "1 of 192 voxels are NaN or infinite", entry="image"),
    # found by fuzzing: ITK reads name.nii.gz's voxels from name.nii when that exists (and hangs on a FIFO)
    Case("nifti_gz_with_nii_beside", lambda r: (nifti_patient(r), write_image(r / "cet1.nii", small(900.0)),
                                                r / "cet1.nii.gz")[2],
         UnreadableFileError, "'cet1.nii' lies beside it", entry="image"),
    Case("nifti_gz_with_fifo_beside", lambda r: (nifti_patient(r), os.mkfifo(r / "cet1.nii"), r)[2],
         UnreadableFileError, "cet1.nii.gz: 'cet1.nii' lies beside it"),
    # found by fuzzing: NIfTI headers
    Case("nifti_gz_truncated_zero_vox_offset", _nii(suffix=".nii.gz", cut=500,
                                                    edits=(FieldEdit("vox_offset", 0, 0.0),)),
         VolumeTooLargeError, "truncated", entry="image"),  # ITK zero-filled the missing voxels
    Case("nifti_bad_magic_read_as_analyze", _nii(dtype="float64", edits=(FieldEdit("magic", 0, b"\x90\x82)\xf8"),)),
         UnreadableFileError, "NIfTI magic is", entry="image"),  # voxels read from byte 0
]


def run_case(case: Case, root: Path) -> object:
    """Build ``case`` under ``root`` and call its entry point (which should raise)."""
    root.mkdir(parents=True, exist_ok=True)
    target = case.build(root)
    if case.entry == "image":
        return read_image_file(target)
    if case.entry == "series":
        (series,), _ = dicom.scan_folder(target)
        return dicom.read_series(series)
    kwargs = {k: (str((target / v).resolve()) if str(v).startswith("..") else v) for k, v in case.kwargs.items()}
    return load_patient(target, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_input_raises_its_typed_error(tmp_path: Path, case: Case) -> None:
    with pytest.raises(case.error) as info:
        run_case(case, tmp_path / "case")
    assert case.match in str(info.value)
    assert type(info.value) is case.error  # the specific class, not a sibling or parent


def test_corpus_is_big_and_names_are_unique() -> None:
    assert len(CASES) >= 40  # issue 9: at least 40 malformed cases
    assert len({c.name for c in CASES}) == len(CASES)


def run_corpus() -> dict:
    """Run every case in this process; what each raised, plus peak RSS (KiB) and wall time."""
    outcome = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES):
            try:
                run_case(case, Path(tmp) / f"{i:02d}")
                outcome[case.name] = "no error"
            except InputError as exc:
                outcome[case.name] = type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - the point is to report any crash, whatever its type
                outcome[case.name] = f"CRASH {type(exc).__name__}: {exc}"
    return {"outcome": outcome, "max_rss_kib": _peak_rss_kib(),
            "seconds": round(time.perf_counter() - start, 2)}


def _peak_rss_kib() -> int:
    """This process image's peak RSS. ``ru_maxrss`` survives exec on Linux, so in a child forked from a large
    pytest process (TensorFlow loaded) it reports the parent's size; ``VmHWM`` is reset by exec."""
    try:
        for line in open("/proc/self/status").read().splitlines():  # noqa: SIM115
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.mark.slow
@pytest.mark.timeout(CORPUS_TIMEOUT_S + 30)
def test_corpus_in_one_process_is_bounded() -> None:
    code = "import json; from tests.inference.test_malformed import run_corpus; print(json.dumps(run_corpus()))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=CORPUS_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    expected = {c.name: c.error.__name__ for c in CASES}
    assert report["outcome"] == expected
    assert report["max_rss_kib"] < RSS_LIMIT_KIB, f"peak RSS {report['max_rss_kib'] / 1024:.0f} MiB"
    print(f"corpus: {len(CASES)} cases, peak RSS {report['max_rss_kib'] / 1024:.0f} MiB, {report['seconds']} s")
