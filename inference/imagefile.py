"""Safe reading of single-file images (NIfTI, NRRD, MetaImage).

The header is read first and checked (dimensionality, declared size against our voxel cap and against the
bytes on disk) before any voxel buffer is allocated, so a crafted header cannot make us allocate
terabytes. Pixel data is then checked for NaN/inf.
"""

from __future__ import annotations

import gzip
import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from inference.errors import (
    GeometryError,
    InvalidPixelDataError,
    UnreadableFileError,
    UnsupportedFormatError,
    VolumeTooLargeError,
)
from inference.volume import Volume

log = logging.getLogger(__name__)

#: Largest volume we accept (voxels). 512 x 512 x 400 fits; the float32 copy stays under ~420 MB.
MAX_VOXELS = 512 * 512 * 400

#: Extensions we read, longest first so ``.nii.gz`` wins over ``.gz``.
IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")

_IMAGE_IO = {".nii.gz": "NiftiImageIO", ".nii": "NiftiImageIO", ".nrrd": "NrrdImageIO", ".nhdr": "NrrdImageIO",
              ".mha": "MetaImageIO", ".mhd": "MetaImageIO"}
#: NIfTI-1 datatype codes of float voxels (which can hold NaN/inf) -> numpy type.
_NIFTI_FLOATS = {16: "f4", 64: "f8"}
#: Bytes per read when streaming a NIfTI file's voxels (bounded memory whatever the file size).
_SCAN_CHUNK = 1 << 22

_BYTES_PER_COMPONENT = {
    sitk.sitkUInt8: 1, sitk.sitkInt8: 1, sitk.sitkUInt16: 2, sitk.sitkInt16: 2,
    sitk.sitkUInt32: 4, sitk.sitkInt32: 4, sitk.sitkUInt64: 8, sitk.sitkInt64: 8,
    sitk.sitkFloat32: 4, sitk.sitkFloat64: 8,
}


def image_suffix(path: Path) -> str | None:
    """The recognised image suffix of ``path`` (lower case), or None."""
    name = path.name.lower()
    return next((s for s in IMAGE_SUFFIXES if name.endswith(s)), None)


def strip_suffix(path: Path) -> str:
    """File name without its image suffix."""
    suffix = image_suffix(path)
    return path.name[: -len(suffix)] if suffix else path.stem


def _read_header(path: Path) -> sitk.ImageFileReader:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    # The reader the extension promises, not whichever ITK reader accepts the bytes: a PNG or a DICOM
    # renamed "cet1.nii" is a wrong file, not an image to read.
    reader.SetImageIO(_IMAGE_IO[image_suffix(path)])
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise UnreadableFileError(
            f"{path.name}: not a readable image header ({_first_line(exc)}). "
            "Is the file truncated or in the wrong format?"
        ) from exc
    return reader


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    # ITK messages start with a long location line; the description is usually the last line.
    return (text[-1] if text else type(exc).__name__)[:200]


def _check_nifti_voxels(path: Path, expected: int) -> None:
    """Stream a NIfTI-1 file's voxel bytes once, in bounded chunks, before ITK reads it.

    Needed because ITK's NIfTI reader silently turns NaN/inf voxels into 0 (the check after reading
    cannot see them) and reads a truncated ``.nii.gz`` without error, zero-filling what is missing.
    """
    is_gzip = path.name.lower().endswith(".gz")
    try:
        with gzip.open(path, "rb") if is_gzip else path.open("rb") as fh:
            header = fh.read(348)
            order = "<" if header[:4] == struct.pack("<i", 348) else ">"
            vox_offset = struct.unpack_from(order + "f", header, 108)[0] if len(header) == 348 else -1.0
            if header[:4] != struct.pack(order + "i", 348) or not 348 <= vox_offset < 2**40:
                return  # not NIfTI-1 or odd offset; ITK has accepted the header, nothing more we can check
            float_type = _NIFTI_FLOATS.get(struct.unpack_from(order + "h", header, 70)[0])
            if not is_gzip and float_type is None:
                return  # plain integer file: its size was checked against the header already
            fh.seek(int(vox_offset))  # forward seek: a gzip stream is decompressed in bounded steps
            dtype = None if float_type is None else np.dtype(order + float_type)
            remaining, bad = expected, 0
            while remaining > 0:
                block = fh.read(min(_SCAN_CHUNK, remaining))
                if not block:
                    break
                remaining -= len(block)
                if dtype is not None:
                    usable = len(block) - len(block) % dtype.itemsize
                    bad += int(np.count_nonzero(~np.isfinite(np.frombuffer(block[:usable], dtype))))
    except EOFError:
        remaining, bad = 1, 0  # gzip stream cut short before the voxels its header declares
    except (OSError, zlib.error) as exc:
        raise UnreadableFileError(f"{path.name}: compressed data is corrupt ({exc}).") from exc
    if remaining > 0:
        raise VolumeTooLargeError(
            f"{path.name}: header declares {expected} bytes of voxels but the file holds fewer; the file is "
            "truncated or its header is wrong."
        )
    if bad:
        raise InvalidPixelDataError(
            f"{path.name}: {bad} of {expected // dtype.itemsize} voxels are NaN or infinite; re-export the series."
        )


def _check_declared_size(path: Path, reader: sitk.ImageFileReader, max_voxels: int) -> int:
    """Refuse unusable or oversized headers; return the voxel bytes the header declares."""
    size = reader.GetSize()
    dim = reader.GetDimension()
    if dim == 4 and size[3] > 1:
        raise GeometryError(f"{path.name}: 4D image ({size[3]} volumes of {size[:3]}); give one 3D volume.")
    # Any axis of length < 2, not just z: a corrupt NIfTI dim of 0 or -16 comes back from ITK as 1.
    if dim < 3 or min(size[:3]) < 2:
        raise GeometryError(
            f"{path.name}: 2D image {tuple(size)}; a 3D volume with at least 2 slices is needed."
        )
    if dim > 4:
        raise GeometryError(f"{path.name}: {dim}D image; give one 3D volume.")
    voxels = int(np.prod([int(s) for s in size[:3]], dtype=object))
    if voxels > max_voxels:
        raise VolumeTooLargeError(
            f"{path.name}: header declares {size[0]}x{size[1]}x{size[2]} = {voxels:.3g} voxels, more than "
            f"the {max_voxels:.3g} allowed; this is not a head-and-neck MRI volume."
        )
    ncomp = reader.GetNumberOfComponents()
    if ncomp != 1:
        raise GeometryError(f"{path.name}: {ncomp}-component (vector/RGB) image; give a scalar volume.")
    expected = voxels * _BYTES_PER_COMPONENT.get(reader.GetPixelID(), 8)
    name = path.name.lower()
    if name.endswith(".nii"):
        available = path.stat().st_size - 352
    else:
        available = None  # .nii.gz: streamed by _check_nifti_voxels; NRRD/MHA: ITK checks the read below
    if available is not None and available < expected:
        raise VolumeTooLargeError(
            f"{path.name}: header declares {expected} bytes of voxels but the file holds only "
            f"{max(available, 0)}; the file is truncated or its header is wrong."
        )
    return expected


def check_finite(volume_array: np.ndarray, name: str) -> None:
    """Refuse NaN/inf voxels (they poison normalization and radiomics)."""
    if np.issubdtype(volume_array.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(volume_array)))
        if bad:
            raise InvalidPixelDataError(
                f"{name}: {bad} of {volume_array.size} voxels are NaN or infinite; re-export the series."
            )


def read_image_file(path: Path, *, max_voxels: int = MAX_VOXELS, meta: dict | None = None) -> Volume:
    """Read a NIfTI/NRRD/MetaImage file into a float32 Volume, refusing unsafe or unusable files.

    Args:
        path: the image file.
        max_voxels: voxel cap checked on the header before allocation.
        meta: extra metadata to attach.

    Raises:
        UnsupportedFormatError, UnreadableFileError, VolumeTooLargeError, GeometryError,
        InvalidPixelDataError.
    """
    path = Path(path)
    if image_suffix(path) is None:
        raise UnsupportedFormatError(
            f"{path.name}: unsupported file type; use NIfTI (.nii/.nii.gz), NRRD (.nrrd/.nhdr), "
            "MetaImage (.mha/.mhd) or a DICOM folder."
        )
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{path.name}: empty file (0 bytes).")
    if path.name.lower().endswith(".gz"):
        _check_gzip_magic(path)
    reader = _read_header(path)
    expected = _check_declared_size(path, reader, max_voxels)
    if path.name.lower().endswith((".nii", ".nii.gz")):
        _check_nifti_voxels(path, expected)
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise UnreadableFileError(f"{path.name}: voxel data unreadable ({_first_line(exc)}).") from exc
    if image.GetDimension() == 4:  # a 4D header with a single volume
        size = list(image.GetSize())
        image = sitk.Extract(image, size[:3] + [0], [0, 0, 0, 0])
    array = sitk.GetArrayViewFromImage(image)
    check_finite(array, path.name)
    volume = Volume.from_image(image, meta={"source": path.name, "format": image_suffix(path), **(meta or {})})
    log.debug("read %s: size %s spacing %s", path.name, volume.geometry.size, volume.geometry.spacing)
    return volume


def _check_gzip_magic(path: Path) -> None:
    try:
        with gzip.open(path, "rb") as fh:
            fh.read(16)
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a valid gzip header over corrupt deflate data
        raise UnreadableFileError(f"{path.name}: not a valid gzip file ({exc}).") from exc
