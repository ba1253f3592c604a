"""Safe reading of single-file images (NIfTI, NRRD, MetaImage).

The header is read first and checked (dimensionality, declared size against our voxel cap and against the
bytes on disk) before any voxel buffer is allocated, so a crafted header cannot make us allocate
terabytes. Pixel data is then checked for NaN/inf.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import struct
import zlib
from dataclasses import dataclass
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
from inference.volume import Geometry, Volume

log = logging.getLogger(__name__)

#: Largest volume we accept (voxels). 512 x 512 x 400 fits; the float32 copy stays under ~420 MB.
MAX_VOXELS = 512 * 512 * 400
#: Most voxel bytes a header may declare (ITK's buffer before our float32 copy), so a volume within the voxel
#: cap but of 64-bit voxels cannot take reading past 1 GiB: 512 x 512 x 400 of 16/32-bit voxels fits.
MAX_VOXEL_BYTES = MAX_VOXELS * 4
#: Plausible voxel spacing (mm): a header outside this range is corrupt, not an MRI volume.
MIN_SPACING_MM, MAX_SPACING_MM = 1e-3, 1e3

#: Extensions we read, longest first so ``.nii.gz`` wins over ``.gz``.
IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")

_IMAGE_IO = {".nii.gz": "NiftiImageIO", ".nii": "NiftiImageIO", ".nrrd": "NrrdImageIO", ".nhdr": "NrrdImageIO",
              ".mha": "MetaImageIO", ".mhd": "MetaImageIO"}
#: NIfTI-1 datatype codes of float voxels (which can hold NaN/inf) -> numpy type.
_NIFTI_FLOATS = {16: "f4", 64: "f8"}
#: Bytes per read when streaming a NIfTI file's voxels (bounded memory whatever the file size).
_SCAN_CHUNK = 1 << 22
#: A NRRD/MetaImage header longer than this is not one (real headers are well under 4 KiB).
_MAX_HEADER_BYTES = 1 << 16

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
    # ITK messages start with a long location line; the description is usually the last line. The address of the
    # ITK object in it ("NiftiImageIO(0x55f4df3b0d70)") means nothing to a reader.
    return re.sub(r"\(0x[0-9a-fA-F]+\)", "", text[-1] if text else type(exc).__name__)[:200]


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
            if len(header) < 348 or header[:4] != struct.pack(order + "i", 348):
                return  # not NIfTI-1; ITK has accepted the header, nothing more we can check
            if header[344:348] != b"n+1\0":
                # ITK reads a NIfTI-1 header without this magic as ANALYZE 7.5: voxels from another offset.
                raise UnreadableFileError(
                    f"{path.name}: NIfTI magic is {bytes(header[344:348])!r}, not 'n+1' (a single-file NIfTI-1); "
                    "the header is corrupt or the file is not NIfTI. Re-export the image as NIfTI."
                )
            vox_offset = struct.unpack_from(order + "f", header, 108)[0]
            # ITK reads the voxels at byte 348 when vox_offset is below it, NaN or huge: check the same bytes
            # (skipping the check would let a truncated .nii.gz through, zero-filled by ITK).
            vox_offset = vox_offset if 348 <= vox_offset < 2**31 else 348
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
    if expected > MAX_VOXEL_BYTES:
        raise VolumeTooLargeError(
            f"{path.name}: header declares {expected / 2**20:.0f} MiB of "
            f"{sitk.GetPixelIDValueAsString(reader.GetPixelID())} voxels, more than the "
            f"{MAX_VOXEL_BYTES / 2**20:.0f} MiB allowed; save the volume as 16-bit integers or 32-bit floats."
        )
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


@dataclass(frozen=True)
class _TextHeader:
    """What the checks need from a NRRD or MetaImage header, parsed without ITK."""

    fields: dict[str, str]  # keys lower-cased without spaces ("datafile", "ndims", "dimsize", ...)
    data_files: tuple[str, ...]  # every data-file reference (NRRD "data file", MetaImage ElementDataFile)
    length: int  # bytes up to the end of the header: the voxels of an attached file follow


def _text_header(path: Path) -> _TextHeader:
    with path.open("rb") as fh:
        head = fh.read(_MAX_HEADER_BYTES + 1)
    nrrd = image_suffix(path) in (".nrrd", ".nhdr")
    fields: dict[str, str] = {}
    data_files: list[str] = []
    length = 0
    for number, line in enumerate(head.splitlines(keepends=True)):
        length += len(line)
        text = line.decode("latin-1").strip()
        if nrrd and not text:
            break
        if nrrd and (number == 0 or text.startswith("#")):
            continue  # the magic line, comments
        key, sep, value = text.partition(":" if nrrd else "=")
        key = re.sub(r"\s+", "", key).lower()
        if sep:
            fields[key] = value.strip()
        if sep and key in ("datafile", "elementdatafile"):
            data_files.append(value.strip())
            if not nrrd:
                break  # MetaImage: the header ends with ElementDataFile
    else:
        if len(head) > _MAX_HEADER_BYTES:
            raise UnreadableFileError(
                f"{path.name}: no end of header within the first {_MAX_HEADER_BYTES // 1024} KiB; the file is "
                "not a valid NRRD/MetaImage file."
            )
    return _TextHeader(fields, tuple(data_files), length)


def _data_file(path: Path, value: str) -> Path | None:
    """The file a header's data-file reference names: None for MetaImage ``LOCAL`` (voxels in the header file).

    Raises:
        UnsupportedFormatError: voxels split over a list or a numbered pattern of files.
        UnreadableFileError: a file outside the header's folder (an absolute path, ``../``, a device such as
            /dev/stdin that ITK would block on), a FIFO or folder, or no such file.
    """
    if value.upper() == "LOCAL" and image_suffix(path) in (".mha", ".mhd"):
        return None
    tokens = value.split()
    if (tokens and tokens[0].upper() == "LIST") or ("%" in value and len(tokens) >= 4):
        raise UnsupportedFormatError(
            f"{path.name}: voxels split over several files ('{value[:80]}'); save the volume as a single file "
            "(.nrrd, .nii.gz or .mha)."
        )
    folder = path.parent.resolve()
    try:
        target = (folder / value).resolve()
        inside, regular, exists = target.is_relative_to(folder), target.is_file(), target.exists()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a name too long, a symlink loop (3.11)
        target, inside, regular, exists = folder, True, False, False
    if not inside:
        raise UnreadableFileError(
            f"{path.name}: its header points at voxel data outside its folder ('{value[:120]}'); only a data file "
            "in the same folder as the header is read. Move the data file next to the header."
        )
    if not regular:
        what = "is not a regular file" if exists else "does not exist"
        raise UnreadableFileError(
            f"{path.name}: its data file '{value[:120]}' {what}; keep the header and its data file together."
        )
    return target


def _check_meta_fields(path: Path, fields: dict[str, str]) -> None:
    """Refuse the MetaImage header values that crash or hang ITK's MetaIO (NDims -1 or 100, huge NDims)."""
    ndims = fields.get("ndims", "")
    if not (ndims.isdigit() and 1 <= int(ndims) <= 10):
        raise UnreadableFileError(
            f"{path.name}: NDims '{ndims[:40]}' is not a number of dimensions (1-10); the header is corrupt."
        )
    sizes = fields.get("dimsize", "").split()
    if len(sizes) < int(ndims) or not all(s.isdigit() and int(s) < 2**31 for s in sizes[: int(ndims)]):
        raise UnreadableFileError(
            f"{path.name}: DimSize '{fields.get('dimsize', '')[:60]}' does not give {ndims} sizes; the header is "
            "corrupt."
        )


def _check_text_header(path: Path) -> _TextHeader:
    """Checks of a NRRD/MetaImage header that must come before ITK reads it."""
    header = _text_header(path)
    for value in header.data_files:
        _data_file(path, value)
    if image_suffix(path) in (".mha", ".mhd"):
        _check_meta_fields(path, header.fields)
    return header


def _stored_encoding(path: Path, fields: dict[str, str]) -> str:
    if image_suffix(path) in (".mha", ".mhd"):
        if fields.get("compresseddata", "").lower() == "true":
            return "deflate"
        return "text" if fields.get("binarydata", "").lower() == "false" else "raw"
    encoding = fields.get("encoding", "raw").lower()
    return {"gzip": "deflate", "gz": "deflate", "txt": "text", "ascii": "text"}.get(encoding, encoding)


def _check_stored_size(path: Path, header: _TextHeader, expected: int, voxels: int) -> None:
    """Refuse a NRRD/MetaImage file too small to hold the voxels its header declares, before ITK allocates them.

    Raw data must all be there; text needs a digit and a separator per voxel; deflate (gzip, zlib) cannot
    compress better than about 1032:1. Other encodings (bzip2) are left to ITK.
    """
    source = _data_file(path, header.data_files[-1]) if header.data_files else None
    stored = source.stat().st_size if source is not None else path.stat().st_size - header.length
    encoding = _stored_encoding(path, header.fields)
    needed = {"raw": expected, "hex": 2 * expected, "text": 2 * voxels - 1, "deflate": expected // 1032}
    needed = needed.get(encoding, 0)
    if stored < needed:
        raise VolumeTooLargeError(
            f"{path.name}: header declares {expected} bytes of voxels ({encoding}) but the file holds only "
            f"{max(stored, 0)} bytes of data; the file is truncated or its header is wrong."
        )


def check_geometry(geometry: Geometry, name: str) -> None:
    """Refuse a grid later steps cannot use: spacing not a plausible positive size, origin not finite, or
    direction cosines that are not a rotation (NaN, zero, sheared or scaled, as a corrupt header can give)."""
    spacing = np.asarray(geometry.spacing, dtype=float)
    if not (np.isfinite(spacing).all() and (spacing >= MIN_SPACING_MM).all() and (spacing <= MAX_SPACING_MM).all()):
        raise GeometryError(
            f"{name}: voxel spacing {tuple(float(f'{v:.4g}') for v in spacing)} mm is not usable (each must lie "
            f"between {MIN_SPACING_MM:g} and {MAX_SPACING_MM:g} mm); the header is corrupt."
        )
    origin = np.asarray(geometry.origin, dtype=float)
    if not (np.isfinite(origin).all() and np.abs(origin).max() <= 1e7):
        raise GeometryError(f"{name}: origin {tuple(float(f'{v:.4g}') for v in origin)} mm is not usable; "
                            "the header is corrupt.")
    matrix = np.asarray(geometry.direction, dtype=float).reshape(3, 3)
    unit = np.isfinite(matrix).all() and np.abs(matrix).max() <= 1.001  # before squaring: no overflow
    if not (unit and np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-3)):
        raise GeometryError(
            f"{name}: direction cosines {tuple(float(f'{v:.4g}') for v in matrix.ravel())} are not orthonormal "
            "(sheared, scaled or corrupt orientation); re-export the image."
        )


def check_finite(volume_array: np.ndarray, name: str) -> None:
    """Refuse NaN/inf voxels (they poison normalization and radiomics)."""
    if np.issubdtype(volume_array.dtype, np.floating):
        flat = volume_array.reshape(-1)  # counted in chunks: no volume-sized boolean temporaries
        bad = sum(int(np.count_nonzero(~np.isfinite(flat[i: i + _SCAN_CHUNK])))
                  for i in range(0, flat.size, _SCAN_CHUNK))
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
    if path.name.lower().endswith(".nii.gz"):
        _check_nifti_sibling(path)
    if path.name.lower().endswith((".nii", ".nii.gz")):
        _check_nifti_kind(path)
    text_header = _check_text_header(path) if image_suffix(path) in (".nrrd", ".nhdr", ".mha", ".mhd") else None
    reader = _read_header(path)
    expected = _check_declared_size(path, reader, max_voxels)
    if text_header is not None:
        _check_stored_size(path, text_header, expected, int(np.prod(reader.GetSize()[:3], dtype=np.int64)))
    if path.name.lower().endswith((".nii", ".nii.gz")):
        _check_nifti_voxels(path, expected)
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise UnreadableFileError(f"{path.name}: voxel data unreadable ({_first_line(exc)}).") from exc
    if image.GetDimension() == 4:  # a 4D header with a single volume
        size = list(image.GetSize())
        image = sitk.Extract(image, size[:3] + [0], [0, 0, 0, 0])
    volume = Volume.from_image(image, meta={"source": path.name, "format": image_suffix(path), **(meta or {})})
    del image  # the ITK buffer: the checks below then run beside the float32 copy only
    # After the float32 conversion: a 64-bit voxel beyond the float32 range has become infinite.
    check_finite(volume.array, path.name)
    check_geometry(volume.geometry, path.name)
    log.debug("read %s: size %s spacing %s", path.name, volume.geometry.size, volume.geometry.spacing)
    return volume


def _check_nifti_sibling(path: Path) -> None:
    """Refuse ``name.nii.gz`` when ``name.nii`` lies beside it: ITK's NIfTI library takes the voxels from that
    file instead (it looks for ``.nii`` before ``.nii.gz``), silently, and blocks if it is a FIFO."""
    base = path.name[: -len(".nii.gz")]
    for sibling in (f"{base}.nii", f"{base}.NII"):
        if os.path.lexists(path.with_name(sibling)):
            raise UnreadableFileError(
                f"{path.name}: '{sibling}' lies beside it and ITK's NIfTI reader would take the voxels from that "
                "file instead; rename or remove one of the two."
            )


def _check_nifti_kind(path: Path) -> None:
    """Refuse the NIfTI files ITK's reader takes for corrupt ones, saying what they are: a gzip file named ``.nii``
    (ITK decompresses by name only) and NIfTI-2 (540-byte header; ITK here reads NIfTI-1 only).

    Raises:
        UnsupportedFormatError: either of the two.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:  # a folder named .nii, no permission, an I/O error: a typed error, not a traceback
        raise UnreadableFileError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    if head[:2] == b"\x1f\x8b" and not path.name.lower().endswith(".gz"):
        raise UnsupportedFormatError(
            f"{path.name}: gzip-compressed, but named '.nii' (an uncompressed NIfTI); rename it to "
            f"'{path.name[:-len('.nii')]}.nii.gz'."
        )
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:  # its gzip header was checked (_check_gzip_magic)
            try:
                head = fh.read(4)
            except (OSError, EOFError, zlib.error):
                return  # corrupt data: said by the checks that read the voxels
    if head in (struct.pack("<i", 540), struct.pack(">i", 540)):
        raise UnsupportedFormatError(
            f"{path.name}: a NIfTI-2 file; NIfTI-1 is read. Save the image as NIfTI-1 (e.g. nibabel's Nifti1Image, "
            "or any converter's default NIfTI), or as NRRD (.nrrd)."
        )


def _check_gzip_magic(path: Path) -> None:
    try:
        with gzip.open(path, "rb") as fh:
            fh.read(16)
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a valid gzip header over corrupt deflate data
        raise UnreadableFileError(f"{path.name}: not a valid gzip file ({exc}).") from exc
