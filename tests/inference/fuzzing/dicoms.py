"""Malformed DICOM series made by mutating a valid one from ``dicom_factory`` at the byte level.

A tiny codec splits each file (Explicit VR Little Endian, as the factory writes it) into its top-level
elements, so a case can set any tag to any bytes (wrong type, wrong count, garbage, odd length), delete
it, change its VR, lie about its length, or cut/flip raw bytes: things pydicom refuses to write.
"""

from __future__ import annotations

import functools
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from tests.inference.dicom_factory import cet1_spec, write_study
from tests.inference.fuzzing.images import mostly

_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
PIXEL_DATA = 0x7FE00010
GROUP_LENGTH = 0x00020000
UNDEFINED = 0xFFFFFFFF

# tag -> (VR when inserted, kind of values)
TAGS = {
    0x00020002: (b"UI", "uid"), 0x00020010: (b"UI", "syntax"), 0x00080005: (b"CS", "charset"),
    0x00080008: (b"CS", "image_type"), 0x00080016: (b"UI", "uid"), 0x00080060: (b"CS", "modality"),
    0x0008103E: (b"LO", "text"), 0x00180010: (b"LO", "text"), 0x00180050: (b"DS", "ds1"),
    0x00180080: (b"DS", "ds1"), 0x00180081: (b"DS", "ds1"), 0x00180087: (b"DS", "ds1"),
    0x00181030: (b"LO", "text"), 0x0020000D: (b"UI", "uid"), 0x0020000E: (b"UI", "uid"),
    0x00200011: (b"IS", "is"), 0x00200013: (b"IS", "is"), 0x00200032: (b"DS", "ds3"),
    0x00200037: (b"DS", "ds6"), 0x00280002: (b"US", "us"), 0x00280004: (b"CS", "photometric"),
    0x00280006: (b"US", "us"), 0x00280008: (b"IS", "is"), 0x00280010: (b"US", "us"),
    0x00280011: (b"US", "us"), 0x00280030: (b"DS", "ds2"), 0x00280100: (b"US", "us"),
    0x00280101: (b"US", "us"), 0x00280102: (b"US", "us"), 0x00280103: (b"US", "us"),
    0x00281052: (b"DS", "ds1"), 0x00281053: (b"DS", "ds1"), PIXEL_DATA: (b"OW", "pixels"),
}
_US = [0, 1, 2, 3, 7, 8, 12, 15, 16, 17, 24, 31, 32, 33, 64, 255, 256, 4096, 32768, 60000, 65535]
_NUMBERS = ["0", "1", "-1", "0.5", "3", "16", "1e308", "-1e308", "1e-308", "nan", "NaN", "inf", "-inf", "abc",
            "", "1e999", "0x10", " 1 ", "1.0.0", "+", "9999999999999999"]
_TEXT = {
    "uid": ["", "1.2.3", "garbage!", "1." * 40 + "1", "\0", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.2"],
    "syntax": ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
               "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
               "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5", "", "garbage", "1.2.3"],
    "charset": ["ISO_IR 100", "ISO_IR 192", "GB18030", "ISO 2022 IR 87", "GARBAGE", "\\", "ISO_IR 6\\ISO 2022 IR 87"],
    "image_type": ["ORIGINAL\\PRIMARY\\M", "ORIGINAL\\PRIMARY\\LOCALIZER", "ORIGINAL\\PRIMARY\\MOSAIC", "",
                   "DERIVED", "\\\\\\"],
    "modality": ["MR", "CT", "", "OT", "mr"],
    "photometric": ["MONOCHROME2", "MONOCHROME1", "RGB", "PALETTE COLOR", "YBR_FULL", "YBR_FULL_422", "YBR_RCT",
                    "", "GARBAGE"],
    "text": ["T1 +C", "AX T2 FSE", "Ax T1 PRE", "", "\xff\xfe", "\xe9t\xe9", "a" * 70, "\\\\", "DWI b1000"],
    "is": ["0", "1", "2", "-1", "4294967296", "abc", "", "1.5", "1\\2", "99999999999", "7"],
}
_DS_COUNT = {"ds1": 1, "ds2": 2, "ds3": 3, "ds6": 6}


@dataclass(frozen=True)
class TagEdit:
    """Change one element in one file (``file`` -1: every file).

    ``action``: ``set`` (value bytes; inserted when absent), ``delete``, ``vr`` (value is the new VR),
    ``length`` (declare ``amount`` as the length, keep the bytes), and for pixel data ``cut`` (keep
    ``amount`` bytes), ``extend`` (append ``amount`` bytes) or ``encap`` (an encapsulated fragment).
    """

    tag: int
    action: str
    value: bytes = b""
    amount: int = 0
    file: int = -1


@dataclass(frozen=True)
class DicomCase:
    n_slices: int = 4
    size: int = 16
    edits: tuple[TagEdit, ...] = ()
    raw_edits: tuple[tuple[int, int, int], ...] = ()  # (file, offset after the preamble, new byte)
    cuts: tuple[tuple[int, int], ...] = ()  # (file, bytes kept after the preamble)
    duplicates: int = 0  # byte copies of the first file under other names
    nested: bool = False


def parse_elements(data: bytes) -> tuple[bytes, list[list]]:
    """Split a Part-10 Explicit VR Little Endian file into preamble+magic and top-level elements.

    Each element is ``[tag, vr, value, declared_length or None]``.
    """
    pos, elements = 132, []
    while pos + 8 <= len(data):
        group, number = struct.unpack_from("<HH", data, pos)
        vr = data[pos + 4: pos + 6]
        if vr in _LONG_VRS:
            length, head = struct.unpack_from("<I", data, pos + 8)[0], 12
        else:
            length, head = struct.unpack_from("<H", data, pos + 6)[0], 8
        elements.append([(group << 16) | number, vr, data[pos + head: pos + head + length], None])
        pos += head + length
    return data[:132], elements


def _encode(tag: int, vr: bytes, value: bytes, declared: int | None) -> bytes:
    length = len(value) if declared is None else declared
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr[:2].ljust(2, b" ")
    if vr in _LONG_VRS:
        head += b"\0\0" + struct.pack("<I", length & 0xFFFFFFFF)
    else:
        head += struct.pack("<H", length & 0xFFFF)
    return head + value


def serialize(prefix: bytes, elements: list[list]) -> bytes:
    """Inverse of ``parse_elements``; the file meta group length is recomputed unless it was edited."""
    meta = b"".join(_encode(*e) for e in elements if e[0] >> 16 == 2 and e[0] != GROUP_LENGTH)
    for element in elements:
        if element[0] == GROUP_LENGTH and element[3] is None and element[2] == b"AUTO":
            element[2] = struct.pack("<I", len(meta))
    return prefix + b"".join(_encode(*e) for e in elements)


def _item(data: bytes) -> bytes:
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(data)) + data


def apply_edit(elements: list[list], edit: TagEdit) -> None:
    index = next((i for i, e in enumerate(elements) if e[0] == edit.tag), None)
    if index is None:
        if edit.action == "set":
            at = next((i for i, e in enumerate(elements) if e[0] > edit.tag), len(elements))
            elements.insert(at, [edit.tag, TAGS.get(edit.tag, (b"UN", ""))[0], edit.value, None])
        return
    element = elements[index]
    if edit.action == "delete":
        del elements[index]
    elif edit.action == "set":
        element[2], element[3] = edit.value, None
    elif edit.action == "vr":
        element[1] = edit.value[:2].ljust(2, b" ")
    elif edit.action == "length":
        element[3] = edit.amount
    elif edit.action == "cut":
        element[2] = element[2][: edit.amount]
    elif edit.action == "extend":
        element[2] += bytes(edit.amount)
    elif edit.action == "encap":
        fragment = element[2][: edit.amount]
        element[1:] = [b"OB", _item(b"") + _item(fragment) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0), UNDEFINED]


#: UIDs the seed files get in place of the factory's random ones, so byte offsets (and reproducers) are stable.
_FIXED_UIDS = {0x00020003: "sop", 0x00080018: "sop", 0x0020000D: "study", 0x0020000E: "series",
               0x00200052: "frame"}


@functools.lru_cache(maxsize=16)
def seed_files(n_slices: int, size: int) -> tuple[bytes, ...]:
    """The bytes of a valid single-series MR study (written once per shape, then reused)."""
    with tempfile.TemporaryDirectory() as tmp:
        written = write_study(Path(tmp), [cet1_spec(n_slices=n_slices, rows=size, cols=size)])
        files = [path.read_bytes() for path in written[7].files]
    out = []
    for k, data in enumerate(files):
        prefix, elements = parse_elements(data)
        for element in elements:
            if element[0] == GROUP_LENGTH:
                element[2] = b"AUTO"
            if element[0] in _FIXED_UIDS:
                kind = _FIXED_UIDS[element[0]]
                uid = f"1.2.826.0.1.3680043.8.498.{n_slices}{size}.{('study', 'series', 'frame', 'sop').index(kind)}"
                element[2] = (uid + (f".{k + 1}" if kind == "sop" else "")).encode()
                element[2] += b"\0" * (len(element[2]) % 2)
        out.append(serialize(prefix, elements))
    return tuple(out)


def edit_bytes(data: bytes, edits: Iterable[TagEdit]) -> bytes:
    """A DICOM file's bytes with ``edits`` applied (their ``file`` field is not looked at here)."""
    prefix, elements = parse_elements(data)
    for element in elements:
        if element[0] == GROUP_LENGTH:
            element[2] = b"AUTO"
    for edit in edits:
        apply_edit(elements, edit)
    return serialize(prefix, elements)


def dicom_files(case: DicomCase) -> list[bytes]:
    """The case's file contents, in slice order."""
    seeds = seed_files(case.n_slices, case.size)
    out = []
    for k, data in enumerate(seeds):
        edits = [e for e in case.edits if e.file < 0 or e.file % len(seeds) == k]
        blob = bytearray(edit_bytes(data, edits))
        for file, offset, value in case.raw_edits:
            if file % len(seeds) == k:
                blob[128 + offset % (len(blob) - 128)] = value
        for file, keep in case.cuts:
            if file % len(seeds) == k:
                blob = blob[: 128 + keep]
        out.append(bytes(blob))
    return out + out[:1] * case.duplicates


def write_dicom_case(case: DicomCase, folder: Path) -> list[Path]:
    paths = []
    for k, data in enumerate(dicom_files(case)):
        path = folder / (f"S7/DIR{k % 2}/IM{k:04d}" if case.nested else f"IM{k:04d}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def build_dicom(case: DicomCase, root: Path) -> dict:
    patient = root / "patient"
    patient.mkdir(parents=True)
    write_dicom_case(case, patient)
    return {"entry": "dicom", "path": str(patient)}


def _text(kind: str) -> st.SearchStrategy[bytes]:
    if kind == "us":
        return st.sampled_from(_US).map(lambda v: struct.pack("<H", v)) | st.binary(max_size=6)
    if kind in _DS_COUNT:
        right = st.lists(st.sampled_from(_NUMBERS), min_size=_DS_COUNT[kind], max_size=_DS_COUNT[kind])
        strings = (right | st.lists(st.sampled_from(_NUMBERS), max_size=7)).map("\\".join)
    elif kind == "pixels":
        return st.binary(max_size=64)
    else:
        strings = st.sampled_from(_TEXT[kind]) | st.text(alphabet=st.characters(codec="latin-1"), max_size=20)
    pad = b"\0" if kind in ("uid", "syntax") else b" "
    return strings.map(lambda s: (lambda b: b + pad * (len(b) % 2))(s.encode("latin-1")))


def _tag_edits() -> st.SearchStrategy[TagEdit]:
    files = st.sampled_from((-1, -1, 0, 1, 2))

    def for_tag(tag: int) -> st.SearchStrategy[TagEdit]:
        kind = TAGS[tag][1]
        edits = [
            st.builds(TagEdit, st.just(tag), st.just("set"), _text(kind), file=files),
            st.builds(TagEdit, st.just(tag), st.just("delete"), file=files),
            st.builds(TagEdit, st.just(tag), st.just("vr"),
                      st.sampled_from((b"UN", b"OB", b"SQ", b"US", b"DS", b"XX", b"UT")), file=files),
            st.builds(TagEdit, st.just(tag), st.just("length"),
                      amount=st.sampled_from((0, 1, 3, 0xFFFF, 0x7FFFFFFF, UNDEFINED)), file=files),
        ]
        if tag == PIXEL_DATA:
            edits += [st.builds(TagEdit, st.just(tag), st.sampled_from(("cut", "extend", "encap")),
                                amount=st.integers(0, 600), file=files)]
        return st.one_of(edits)

    return st.sampled_from(sorted(TAGS)).flatmap(for_tag)


def dicom_cases() -> st.SearchStrategy[DicomCase]:
    return st.builds(
        DicomCase,
        n_slices=st.sampled_from((4, 2, 1, 5)), size=st.sampled_from((16, 8)),
        edits=st.lists(_tag_edits(), max_size=5).map(tuple),
        raw_edits=mostly((), st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1200), st.integers(0, 255)),
                                      min_size=1, max_size=3).map(tuple)),
        cuts=mostly((), st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1200)), min_size=1, max_size=2)
                    .map(tuple)),
        duplicates=st.sampled_from((0, 0, 0, 1)), nested=st.booleans(),
    )
