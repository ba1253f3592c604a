"""Safe reading of single-file images (NIfTI, NRRD, MetaImage).

The header is read first and checked (dimensionality, declared size against our voxel cap and against the
bytes on disk) before any voxel buffer is allocated, so a crafted header cannot make us allocate
terabytes. Pixel data is then checked for NaN/inf.
"""

from __future__ import annotations

import gzip
import logging
import struct
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


def _gzip_uncompressed_size(path: Path) -> int | None:
    """ISIZE trailer of a single-member gzip file (size mod 2**32), None when unreadable."""
    try:
        with path.open("rb") as fh:
            if fh.read(2) != b"\x1f\x8b":
                return None
            fh.seek(-4, 2)
            return struct.unpack("<I", fh.read(4))[0]
    except OSError:
        return None


def _check_declared_size(path: Path, reader: sitk.ImageFileReader, max_voxels: int) -> None:
    size = reader.GetSize()
    dim = reader.GetDimension()
    if dim == 4 and size[3] > 1:
        raise GeometryError(f"{path.name}: 4D image ({size[3]} volumes of {size[:3]}); give one 3D volume.")
    if dim < 3 or (dim >= 3 and size[2] < 2):
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
    elif name.endswith(".nii.gz"):
        isize = _gzip_uncompressed_size(path)
        available = None if isize is None else isize - 352
        if available is not None and expected + 352 >= 2**32:
            available = None  # ISIZE wraps at 4 GiB; nothing to compare then
    else:
        available = None  # NRRD/MHA: compressed or detached data; ITK checks the read below
    if available is not None and available < expected:
        raise VolumeTooLargeError(
            f"{path.name}: header declares {expected} bytes of voxels but the file holds only "
            f"{max(available, 0)}; the file is truncated or its header is wrong."
        )


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
    _check_declared_size(path, reader, max_voxels)
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
    except (OSError, EOFError) as exc:
        raise UnreadableFileError(f"{path.name}: not a valid gzip file ({exc}).") from exc
