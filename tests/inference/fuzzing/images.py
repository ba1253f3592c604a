"""Malformed single-file images made by mutating valid ones: NIfTI-1 (.nii/.nii.gz), NRRD (.nrrd/.nhdr)
and MetaImage (.mha/.mhd).

Each case is a frozen dataclass whose repr is a reproducer (``python -m tests.inference.fuzzing --replay``).
``build_*`` writes the case into ``<root>/patient`` (plus ``<root>/outside``, files a header may point at
but that the reader must not use) and returns the request for the worker.
"""

from __future__ import annotations

import bz2
import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from tests.inference.fuzzing.worker import OUTSIDE_BYTE

#: Largest payload the "auto" mode writes (bytes): bigger declared sizes keep the seed's payload.
AUTO_PAYLOAD_MAX = 1 << 20
SHAPES = ((8, 6, 4), (5, 4, 3), (16, 12, 2))
DTYPES = ("int16", "uint8", "float32", "float64")


def seed_voxels(dtype: str, shape: tuple[int, int, int], big_endian: bool = False) -> bytes:
    """Voxel bytes of a small valid volume (x fastest), a gentle ramp that never looks like the outside mark."""
    values = (np.arange(int(np.prod(shape))) % 251 + 3).astype(dtype)
    return values.astype(np.dtype(dtype).newbyteorder(">" if big_endian else "<")).tobytes()


def outside_folder(root: Path, size: int) -> Path:
    """``<root>/outside/secret.raw``: marked bytes a header may reference but must not be read."""
    outside = root / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.raw").write_bytes(bytes([OUTSIDE_BYTE]) * max(size, 64))
    return outside


# --- NIfTI-1 -----------------------------------------------------------------------------------------

_NIFTI_DATATYPE = {"uint8": (2, 8), "int16": (4, 16), "float32": (16, 32), "float64": (64, 64)}
#: header fields: name -> (offset, struct code of one value, number of values)
NIFTI_FIELDS = {
    "sizeof_hdr": (0, "i", 1), "dim_info": (39, "B", 1), "dim": (40, "h", 8), "intent_code": (68, "h", 1),
    "datatype": (70, "h", 1), "bitpix": (72, "h", 1), "slice_start": (74, "h", 1), "pixdim": (76, "f", 8),
    "vox_offset": (108, "f", 1), "scl_slope": (112, "f", 1), "scl_inter": (116, "f", 1),
    "slice_code": (122, "B", 1), "xyzt_units": (123, "B", 1), "qform_code": (252, "h", 1),
    "sform_code": (254, "h", 1), "quatern": (256, "f", 3), "qoffset": (268, "f", 3), "srow_x": (280, "f", 4),
    "srow_y": (296, "f", 4), "srow_z": (312, "f", 4), "magic": (344, "4s", 1), "extension": (348, "B", 4),
}
_INTERESTING = {
    "i": [348, 0, -1, 1, 540, 349, 347, 0x5C010000, 2**31 - 1, -(2**31)],
    "h": [0, 1, 2, 3, 4, 5, 7, 8, 9, -1, -16, 16, 32, 64, 128, 255, 256, 511, 768, 1024, 1536, 2048, 2304,
          32767, -32768],
    "B": [0, 1, 2, 3, 8, 10, 16, 255],
    "f": [0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 348.0, 351.0, 352.0, 353.0, 1e-30, 1e30, 3.4e38, -3.4e38, 2.0**31,
          float("nan"), float("inf"), float("-inf")],
    "4s": [b"n+1\0", b"ni1\0", b"n+2\0", b"\0\0\0\0", b"n+1 ", b"N+1\0"],
}


@dataclass(frozen=True)
class FieldEdit:
    """Set one value of a header field (``index`` selects within multi-value fields)."""

    field: str
    index: int
    value: int | float | bytes


@dataclass(frozen=True)
class NiftiCase:
    dtype: str = "int16"
    shape: tuple[int, int, int] = (8, 6, 4)
    big_endian: bool = False
    gz: bool | None = None  # gzip the file; None: as the suffix says
    suffix: str = ".nii"
    edits: tuple[FieldEdit, ...] = ()
    payload: str = "seed"  # "seed": the seed's voxels; "auto": as many bytes as the edited header declares
    nan_voxels: int = 0  # float seeds: this many NaN voxels
    byte_edits: tuple[tuple[int, int], ...] = ()  # (offset, new byte) in the uncompressed file
    cut: int | None = None  # keep only this many bytes of the uncompressed file
    stream_edits: tuple[tuple[int, int], ...] = ()  # (offset, xor) in the gzip stream
    stream_cut: int | None = None


def nifti_header(dtype: str, shape: tuple[int, int, int], order: str) -> bytearray:
    """A complete, realistic NIfTI-1 header (qform and sform both set) plus the 4-byte extension flag."""
    header = bytearray(352)
    code, bitpix = _NIFTI_DATATYPE[dtype]
    spacing, origin = (0.8, 0.9, 3.0), (-10.0, -20.0, 5.0)
    struct.pack_into(order + "i", header, 0, 348)
    struct.pack_into(order + "8h", header, 40, 3, *shape, 1, 1, 1, 1)
    struct.pack_into(order + "hh", header, 70, code, bitpix)
    struct.pack_into(order + "8f", header, 76, 1.0, *spacing, 1.0, 1.0, 1.0, 1.0)
    struct.pack_into(order + "fff", header, 108, 352.0, 1.0, 0.0)
    header[123] = 2  # mm
    struct.pack_into(order + "hh", header, 252, 1, 1)
    struct.pack_into(order + "6f", header, 256, 0.0, 0.0, 0.0, *origin)
    for row in range(3):
        values = [spacing[row] if col == row else 0.0 for col in range(3)] + [origin[row]]
        struct.pack_into(order + "4f", header, 280 + 16 * row, *values)
    header[344:348] = b"n+1\0"
    return header


def _apply_field(header: bytearray, edit: FieldEdit, order: str) -> None:
    offset, code, count = NIFTI_FIELDS[edit.field]
    size = struct.calcsize(code)
    struct.pack_into(order + code, header, offset + size * (edit.index % count), edit.value)


def _declared_bytes(header: bytes, order: str) -> int | None:
    dims = struct.unpack_from(order + "8h", header, 40)
    bitpix = struct.unpack_from(order + "h", header, 72)[0]
    n = max(1, min(dims[0], 7))
    count = int(np.prod([max(d, 0) for d in dims[1: n + 1]], dtype=object))
    total = count * max(bitpix, 0) // 8
    return total if 0 < total <= AUTO_PAYLOAD_MAX else None


def nifti_bytes(case: NiftiCase) -> bytes:
    """The case's file content (gzip-compressed and stream-mutated when ``case.gz``)."""
    order = ">" if case.big_endian else "<"
    header = nifti_header(case.dtype, case.shape, order)
    for edit in case.edits:
        _apply_field(header, edit, order)
    voxels = bytearray(seed_voxels(case.dtype, case.shape, case.big_endian))
    if case.nan_voxels and case.dtype.startswith("float"):
        nan = np.array([np.nan], np.dtype(case.dtype).newbyteorder(order)).tobytes()
        for i in range(min(case.nan_voxels, len(voxels) // len(nan))):
            voxels[i * len(nan): (i + 1) * len(nan)] = nan
    if case.payload == "auto" and (declared := _declared_bytes(header, order)) is not None:
        voxels = (bytes(voxels) * (declared // max(len(voxels), 1) + 1))[:declared]
    data = bytearray(bytes(header) + bytes(voxels))
    for offset, value in case.byte_edits:
        data[offset % len(data)] = value
    if case.cut is not None:
        data = data[: case.cut]
    if not (case.gz if case.gz is not None else case.suffix.lower().endswith(".gz")):
        return bytes(data)
    stream = bytearray(gzip.compress(bytes(data), mtime=0))
    for offset, xor in case.stream_edits:
        stream[offset % len(stream)] ^= xor
    return bytes(stream[: case.stream_cut] if case.stream_cut is not None else stream)


def build_nifti(case: NiftiCase, root: Path) -> dict:
    patient = root / "patient"
    patient.mkdir(parents=True)
    path = patient / f"cet1{case.suffix}"
    path.write_bytes(nifti_bytes(case))
    return {"entry": "image", "path": str(path)}


def _field_edits() -> st.SearchStrategy[FieldEdit]:
    def for_field(name: str) -> st.SearchStrategy[FieldEdit]:
        _, code, count = NIFTI_FIELDS[name]
        values = st.sampled_from(_INTERESTING[code])
        if code == "B":
            values = values | st.integers(0, 255)
        elif code == "h":
            values = values | st.integers(-32768, 32767)
        elif code == "f":
            values = values | st.floats(width=32)
        elif code == "i":
            values = values | st.integers(-(2**31), 2**31 - 1)
        elif code == "4s":
            values = values | st.binary(min_size=4, max_size=4)
        return st.builds(FieldEdit, st.just(name), st.integers(0, count - 1), values)

    return st.sampled_from(sorted(NIFTI_FIELDS)).flatmap(for_field)


def mostly(usual, other: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` three times in four, else ``other``: most cases stay close enough to valid to get deep."""
    return st.one_of(st.just(usual), st.just(usual), st.just(usual), other)


def _offsets(limit: int) -> st.SearchStrategy[tuple[tuple[int, int], ...]]:
    return mostly((), st.lists(st.tuples(st.integers(0, limit), st.integers(0, 255)), min_size=1, max_size=4)
                  .map(tuple))


def nifti_cases() -> st.SearchStrategy[NiftiCase]:
    return st.builds(
        NiftiCase,
        dtype=st.sampled_from(DTYPES), shape=st.sampled_from(SHAPES), big_endian=st.booleans(),
        gz=st.none() | st.booleans(), suffix=st.sampled_from((".nii", ".nii.gz", ".NII.GZ")),
        edits=st.lists(_field_edits(), max_size=4).map(tuple), payload=st.sampled_from(("auto", "seed")),
        nan_voxels=st.sampled_from((0, 0, 1, 3)), byte_edits=_offsets(500),
        cut=mostly(None, st.integers(0, 700)), stream_edits=_offsets(400),
        stream_cut=mostly(None, st.integers(0, 500)),
    )


# --- NRRD and MetaImage: text headers ------------------------------------------------------------------

#: seed header lines of a valid 3D volume; ``{data}`` is the data-file reference of detached headers
NRRD_SEED = (
    ("type", "short"), ("dimension", "3"), ("space", "left-posterior-superior"), ("sizes", "8 6 4"),
    ("space directions", "(0.8,0,0) (0,0.9,0) (0,0,3)"), ("kinds", "domain domain domain"),
    ("endian", "little"), ("encoding", "raw"), ("space origin", "(-10,-20,5)"),
)
MHA_SEED = (
    ("ObjectType", "Image"), ("NDims", "3"), ("BinaryData", "True"), ("BinaryDataByteOrderMSB", "False"),
    ("CompressedData", "False"), ("TransformMatrix", "1 0 0 0 1 0 0 0 1"), ("Offset", "-10 -20 5"),
    ("CenterOfRotation", "0 0 0"), ("AnatomicalOrientation", "RAI"), ("ElementSpacing", "0.8 0.9 3"),
    ("DimSize", "8 6 4"), ("ElementType", "MET_SHORT"),
)
_SIZES = ["8 6 4", "8 6", "8 6 4 1", "8 6 4 2", "0 6 4", "-8 6 4", "1 1 1", "8 6 1", "8 1 4", "512 512 400",
          "513 512 400", "99999999 99999999 99999999", "4294967297 1 1", "18446744073709551617 2 2", "8 6 x",
          "8.5 6 4", "", "8 6 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "3 8 6 4"]
_VECTORS = ["(0.8,0,0) (0,0.9,0) (0,0,3)", "none (1,0,0) (0,1,0) (0,0,1)", "(0,0,0) (0,0,0) (0,0,0)",
            "(nan,0,0) (0,1,0) (0,0,1)", "(inf,0,0) (0,1,0) (0,0,1)", "(1,0,0) (1,0,0) (0,0,1)",
            "(1,0) (0,1)", "(1,0,0) (0,1,0)", "(1,1,0) (0,1,0) (0,0,1)", "(1e308,0,0) (0,1e308,0) (0,0,1e308)",
            "(-1,0,0) (0,-1,0) (0,0,-1)", "(1e-300,0,0) (0,1e-300,0) (0,0,1e-300)", "garbage", "(,,) (,,) (,,)"]
_NRRD_VALUES = {
    "type": ["short", "ushort", "unsigned short", "uchar", "signed char", "int", "uint", "float", "double",
             "longlong", "ulonglong", "block", "", "garbage", "short short"],
    "dimension": ["3", "0", "1", "2", "4", "5", "16", "17", "-1", "x", "", "99999999999999999999"],
    "space": ["left-posterior-superior", "right-anterior-superior", "LPS", "RAS", "3D-right-handed",
              "scanner-xyz", "left-posterior-superior-time", "garbage", ""],
    "space dimension": ["3", "2", "4", "0", "-1", "x"],
    "sizes": _SIZES,
    "space directions": _VECTORS,
    "space origin": ["(-10,-20,5)", "(nan,nan,nan)", "(1,2)", "(1e308,1e308,1e308)", "garbage", "none", "(inf,0,0)"],
    "spacings": ["1 1 3", "0 0 0", "nan nan nan", "-1 1 1", "1 1", "inf inf inf", "none none none"],
    "kinds": ["domain domain domain", "RGB-color domain domain", "3-vector domain domain", "list domain domain",
              "space space space", "complex domain domain", "???", "domain domain domain domain"],
    "endian": ["little", "big", "", "middle"],
    "encoding": ["raw", "gzip", "gz", "bzip2", "bz2", "text", "txt", "ascii", "hex", "zip", ""],
    "byte skip": ["0", "-1", "1", "4", "99999999", "-2", "x"],
    "line skip": ["0", "1", "5", "99999999", "-1"],
    "centerings": ["cell cell cell", "node node", "???"],
    "measurement frame": ["(1,0,0) (0,1,0) (0,0,1)", "(0,0,0) (0,0,0) (0,0,0)", "(nan,0,0) (0,1,0) (0,0,1)"],
    "units": ['"mm" "mm" "mm"', '"" "" ""', "mm"],
    "data file": ["t1.raw", "./t1.raw", "sub/data.raw", "{outside}/secret.raw", "../outside/secret.raw",
                  "/dev/zero", "/dev/stdin", "/dev/urandom", "missing.raw", "fifo.raw", ".", "sub", "{self}",
                  "LIST", "data_%d.raw 0 2 1", "data_%d.raw 0 1000000000 1", "data_%d.raw 0 2 1 2"],
}
_MHA_VALUES = {
    "ObjectType": ["Image", "Scene", "", "Tube"],
    "NDims": ["3", "0", "1", "2", "4", "5", "10", "11", "100", "-1", "x", "99999999999"],
    "BinaryData": ["True", "False", "", "maybe"],
    "BinaryDataByteOrderMSB": ["False", "True", ""],
    "ElementByteOrderMSB": ["False", "True"],
    "CompressedData": ["False", "True", ""],
    "CompressedDataSize": ["0", "1", "10", "99999999999", "-1", "x"],
    "TransformMatrix": ["1 0 0 0 1 0 0 0 1", "0 0 0 0 0 0 0 0 0", "nan 0 0 0 1 0 0 0 1", "1 0 0 1", "1 1 0 0 1 0 0 0 1",
                        "-1 0 0 0 -1 0 0 0 1", "1e308 0 0 0 1e308 0 0 0 1e308", "x"],
    "Offset": ["-10 -20 5", "nan nan nan", "1 2", "1e308 1e308 1e308", "inf 0 0", "x"],
    "Position": ["0 0 0", "nan 0 0"],
    "CenterOfRotation": ["0 0 0", "nan nan nan", "1"],
    "AnatomicalOrientation": ["RAI", "LPS", "???", "RRR", ""],
    "ElementSpacing": ["0.8 0.9 3", "0 0 0", "nan nan nan", "-1 1 1", "1 1", "inf inf inf", "1e308 1 1", "1e-300 1 1"],
    "ElementSize": ["1 1 1", "0 0 0", "nan 1 1"],
    "DimSize": _SIZES,
    "ElementType": ["MET_SHORT", "MET_UCHAR", "MET_CHAR", "MET_USHORT", "MET_INT", "MET_UINT", "MET_LONG",
                    "MET_LONG_LONG", "MET_ULONG_LONG", "MET_FLOAT", "MET_DOUBLE", "MET_STRING", "MET_UCHAR_ARRAY",
                    "MET_FLOAT_MATRIX", "MET_NONE", "MET_OTHER", "garbage", ""],
    "ElementNumberOfChannels": ["1", "3", "0", "-1", "1000"],
    "HeaderSize": ["-1", "0", "1", "1000", "99999999"],
    "ElementMin": ["0", "nan"],
    "ElementDataFile": ["LOCAL", "Local", "t1.raw", "./t1.raw", "sub/data.raw", "{outside}/secret.raw",
                        "../outside/secret.raw", "/dev/zero", "/dev/stdin", "missing.raw", "fifo.raw", ".", "{self}",
                        "LIST", "LIST 2D", "data_%d.raw 0 2 1", "data_%d.raw 0 1000000000 1", ""],
}
_TYPE_BYTES = {"short": 2, "ushort": 2, "unsigned short": 2, "uchar": 1, "signed char": 1, "int": 4, "uint": 4,
               "float": 4, "double": 8, "longlong": 8, "ulonglong": 8, "MET_SHORT": 2, "MET_USHORT": 2,
               "MET_UCHAR": 1, "MET_CHAR": 1, "MET_INT": 4, "MET_UINT": 4, "MET_LONG": 4, "MET_LONG_LONG": 8,
               "MET_ULONG_LONG": 8, "MET_FLOAT": 4, "MET_DOUBLE": 8}


@dataclass(frozen=True)
class LineEdit:
    """``set`` replaces (or appends) a header line, ``drop`` removes it, ``dup`` adds a second copy."""

    action: str
    key: str
    value: str = ""


@dataclass(frozen=True)
class TextImageCase:
    """A NRRD (``fmt="nrrd"``) or MetaImage (``fmt="mha"``) file, attached or detached header."""

    fmt: str = "nrrd"
    detached: bool = False
    edits: tuple[LineEdit, ...] = ()
    payload: str = "auto"  # auto (as the header says) | raw | gzip | bzip2 | zlib | text | garbage | empty
    payload_cut: int | None = None
    payload_edits: tuple[tuple[int, int], ...] = ()
    header_edits: tuple[tuple[int, int], ...] = ()  # (offset, new byte) in the header text
    magic: str = ""  # NRRD magic line ("" keeps NRRD0004)
    newline: str = "\n"


def _edited_lines(seed, edits: tuple[LineEdit, ...]) -> list[tuple[str, str]]:
    lines = list(seed)
    for edit in edits:
        keys = [k for k, _ in lines]
        if edit.action == "drop":
            lines = [(k, v) for k, v in lines if k != edit.key]
        elif edit.action == "dup" or edit.key not in keys:
            lines.append((edit.key, edit.value))
        else:
            lines[keys.index(edit.key)] = (edit.key, edit.value)
    return lines


def _declared(lines, size_key: str, type_key: str) -> int | None:
    fields = dict(lines)
    try:
        sizes = [int(v) for v in fields.get(size_key, "").split()]
    except ValueError:
        return None
    count = int(np.prod([max(s, 0) for s in sizes], dtype=object)) if sizes else 0
    total = count * _TYPE_BYTES.get(fields.get(type_key, ""), 2)
    return total if 0 < total <= AUTO_PAYLOAD_MAX else None


def _codec(case: TextImageCase, lines) -> str:
    if case.payload != "auto":
        return case.payload
    fields = dict(lines)
    if case.fmt == "mha":
        if fields.get("BinaryData", "True") == "False":
            return "text"
        return "zlib" if fields.get("CompressedData") == "True" else "raw"
    return {"gzip": "gzip", "gz": "gzip", "bzip2": "bzip2", "bz2": "bzip2", "text": "text", "txt": "text",
            "ascii": "text", "hex": "hex"}.get(fields.get("encoding", "raw"), "raw")


def _payload(case: TextImageCase, lines) -> bytes:
    size_key, type_key = ("DimSize", "ElementType") if case.fmt == "mha" else ("sizes", "type")
    raw = seed_voxels("int16", (8, 6, 4))
    declared = _declared(lines, size_key, type_key) if case.payload == "auto" else None
    if declared is not None:
        raw = (raw * (declared // len(raw) + 1))[:declared]
    codec = _codec(case, lines)
    if codec == "gzip":
        data = gzip.compress(raw, mtime=0)
    elif codec == "bzip2":
        data = bz2.compress(raw)
    elif codec == "zlib":
        data = zlib.compress(raw)
    elif codec == "text":
        data = " ".join(str(v) for v in np.frombuffer(raw[: len(raw) // 2 * 2], "<i2")).encode() + b"\n"
    elif codec == "hex":
        data = raw.hex().encode() + b"\n"
    elif codec == "garbage":
        data = bytes((i * 37 + 11) % 256 for i in range(len(raw)))
    elif codec == "empty":
        data = b""
    else:
        data = raw
    data = bytearray(data)
    for offset, value in case.payload_edits:
        if data:
            data[offset % len(data)] = value
    return bytes(data[: case.payload_cut] if case.payload_cut is not None else data)


def text_image_files(case: TextImageCase, patient: Path, stem: str = "t1", extras: bool = True) -> Path:
    """Write the header (and its data file when detached) into ``patient``; return the header's path.

    With ``extras`` the files a mutated data-file reference may name are written too: ``data.raw`` in a
    subfolder and as a numbered list, a FIFO, and the marked file outside the patient folder.
    """
    suffix = {("nrrd", False): ".nrrd", ("nrrd", True): ".nhdr", ("mha", False): ".mha", ("mha", True): ".mhd"}
    path = patient / f"{stem}{suffix[case.fmt, case.detached]}"
    mha = case.fmt == "mha"
    data_key = "ElementDataFile" if mha else "data file"
    seed = list(MHA_SEED if mha else NRRD_SEED)
    if case.detached or mha:
        seed.append((data_key, f"{stem}.raw" if case.detached else "LOCAL"))
    lines = _edited_lines(seed, case.edits)
    payload = _payload(case, lines)
    replace = {"{outside}": str(patient.parent / "outside"), "{self}": path.name}
    text_lines = [] if mha else [case.magic or "NRRD0004"]
    for key, value in lines:
        for token, actual in replace.items():
            value = value.replace(token, actual)
        text_lines.append(f"{key} = {value}" if mha else f"{key}: {value}")
    header = bytearray((case.newline.join(text_lines) + case.newline).encode())
    for offset, value in case.header_edits:
        header[offset % len(header)] = value
    refs = [v for k, v in lines if k == data_key and v not in ("LOCAL", "Local")]
    attached = not refs and not case.detached
    separator = case.newline.encode() if not mha else b""
    path.write_bytes(bytes(header) + (separator + payload if attached else b""))
    (patient / f"{stem}.raw").write_bytes(payload)
    if extras:
        for name in ("sub/data.raw", "data_0.raw", "data_1.raw", "data_2.raw"):
            (patient / name).parent.mkdir(exist_ok=True)
            (patient / name).write_bytes(payload)
        os.mkfifo(patient / "fifo.raw")
        outside_folder(patient.parent, len(payload))
    return path


def build_text_image(case: TextImageCase, root: Path) -> dict:
    patient = root / "patient"
    patient.mkdir(parents=True)
    return {"entry": "image", "path": str(text_image_files(case, patient))}


def _line_edits(values: dict[str, list[str]]) -> st.SearchStrategy[LineEdit]:
    def for_key(key: str) -> st.SearchStrategy[LineEdit]:
        value = st.one_of(st.sampled_from(values[key]), st.sampled_from(values[key]),
                          st.text(alphabet=st.characters(codec="latin-1"), max_size=12))
        return st.builds(LineEdit, st.sampled_from(("set", "set", "set", "drop", "dup")), st.just(key), value)

    return st.sampled_from(sorted(values)).flatmap(for_key)


def text_image_cases(fmt: str) -> st.SearchStrategy[TextImageCase]:
    values = _MHA_VALUES if fmt == "mha" else _NRRD_VALUES
    return st.builds(
        TextImageCase,
        fmt=st.just(fmt), detached=st.booleans(), edits=st.lists(_line_edits(values), max_size=4).map(tuple),
        payload=mostly("auto", st.sampled_from(("raw", "gzip", "bzip2", "zlib", "text", "garbage", "empty"))),
        payload_cut=mostly(None, st.integers(0, 500)), payload_edits=_offsets(400), header_edits=_offsets(400),
        magic=mostly("", st.sampled_from(("NRRD0001", "NRRD0005", "NRRD0009", "NRRD", "nrrd0004", "NRRD0004 x"))),
        newline=mostly("\n", st.just("\r\n")),
    )
