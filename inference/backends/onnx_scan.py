"""What an ONNX or OpenVINO model file makes its runtime read besides itself, checked before the runtime opens it.

An ONNX ``TensorProto`` may keep its bytes in another file (``data_location = EXTERNAL``, with an
``external_data`` entry ``location``): ONNX Runtime and OpenVINO's ONNX reader open that path, relative to
the model file, whatever it says (``../../secret``, ``/etc/passwd``). ONNX Runtime also reads
``*/_ORT_MEM_ADDR_/*`` as "the offset is a memory address", and an ``EPContext`` node names a compiled-engine
file for a GPU execution provider. The runtime has no ``onnx`` package, so ``scan_onnx`` walks the protobuf
wire format itself over the messages that can hold tensors::

    ModelProto.graph (7) / training_info (20: initialization 1, algorithm 2) / functions (25)
    GraphProto.node (1) / initializer (5) / sparse_initializer (15: values 1, indices 2)
    NodeProto.op_type (4) / attribute (5)          FunctionProto.node (7) / attribute_proto (11)
    AttributeProto.t (5) / g (6) / tensors (10) / graphs (11) / sparse_tensor (22) / sparse_tensors (23)
    TensorProto.name (8) / external_data (13: key 1, value 2) / data_location (14)

A location must be a plain relative path (letters, digits, ``_ . + -`` and spaces per part; no ``..``,
no drive, no backslash) that still lies inside the model's folder after symlinks are resolved; otherwise,
and for any ``EPContext`` node, the model is refused with ``ModelIntegrityError`` before the runtime sees
it. ``confine`` applies the same folder rule to the model file itself (a symlink out of the folder is
refused) and to OpenVINO's ``.xml``/``.bin`` pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from inference.backends.base import BackendUnavailableError, runtime_message
from inference.errors import ModelIntegrityError

EXTERNAL = 1  #: TensorProto.DataLocation.EXTERNAL
MAX_DEPTH = 64  #: nested graphs deeper than this are not a model we made
_SAFE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+\- ]*")
_REMEDY = "reinstall the model folder or re-export it"

# message name -> {field number: message name of that length-delimited field}
_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "function": {7: "node", 11: "attribute"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
}


class MalformedModel(ValueError):
    """The bytes are not a protobuf message (truncated, garbage); the runtime would refuse them too."""


@dataclass(frozen=True)
class ExternalRef:
    """One tensor's external-data reference as written in the file."""

    tensor: str
    location: str | None  #: None: marked EXTERNAL without a location
    external: bool  #: ``data_location == EXTERNAL``


@dataclass(frozen=True)
class ScanResult:
    external: tuple[ExternalRef, ...]
    op_types: frozenset[str]


def _varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise MalformedModel(f"bad varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview, pos: int, end: int) -> Iterator[tuple[int, int, int | tuple[int, int]]]:
    """(field number, wire type, varint value or (start, end) of a length-delimited field)."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise MalformedModel(f"field number 0 at byte {pos}")
        if wire == 0:
            value, pos = _varint(buf, pos, end)
            yield number, wire, value
        elif wire == 2:
            size, pos = _varint(buf, pos, end)
            if pos + size > end:
                raise MalformedModel(f"field {number} runs past its message ({size} bytes at byte {pos})")
            yield number, wire, (pos, pos + size)
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise MalformedModel("fixed-size field runs past its message")
        elif wire == 3:
            pos = _skip_group(buf, pos, end, number)
        else:
            raise MalformedModel(f"wire type {wire} of field {number} at byte {pos}")


def _skip_group(buf: memoryview, pos: int, end: int, number: int) -> int:
    depth = 1
    while depth:
        key, pos = _varint(buf, pos, end)
        wire = key & 7
        if wire == 3:
            depth += 1
        elif wire == 4:
            depth -= 1
        elif wire == 0:
            _, pos = _varint(buf, pos, end)
        elif wire == 2:
            size, pos = _varint(buf, pos, end)
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise MalformedModel(f"wire type {wire} inside group {number}")
        if pos > end or depth > MAX_DEPTH:
            raise MalformedModel(f"group {number} runs past its message")
    return pos


class _Walker:
    def __init__(self, data: bytes) -> None:
        self.buf = memoryview(data)
        self.refs: list[ExternalRef] = []
        self.op_types: set[str] = set()

    def text(self, span: tuple[int, int]) -> str:
        return bytes(self.buf[span[0]:span[1]]).decode("utf-8", "replace")

    def walk(self, kind: str, span: tuple[int, int], depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise MalformedModel(f"messages nested more than {MAX_DEPTH} deep")
        if kind == "tensor":
            self.tensor(span)
            return
        children = _SCHEMA[kind]
        for number, wire, value in _fields(self.buf, *span):
            if wire != 2:
                continue
            if kind == "node" and number == 4:
                self.op_types.add(self.text(value))
            elif number in children:
                self.walk(children[number], value, depth + 1)

    def tensor(self, span: tuple[int, int]) -> None:
        name, location, external = "", None, False
        for number, wire, value in _fields(self.buf, *span):
            if number == 8 and wire == 2:
                name = self.text(value)
            elif number == 14 and wire == 0:
                external = value == EXTERNAL
            elif number == 13 and wire == 2:  # StringStringEntryProto: key 1, value 2 (last one wins)
                entry = {sub: self.text(sub_value) for sub, sub_wire, sub_value in _fields(self.buf, *value)
                         if sub_wire == 2 and sub in (1, 2)}
                if entry.get(1) == "location":
                    location = entry.get(2, "")
                    self.refs.append(ExternalRef(name, location, external))
        if external and location is None:
            self.refs.append(ExternalRef(name, None, True))


def scan_onnx_bytes(data: bytes) -> ScanResult:
    """Every external-data reference and node type in a serialized ``ModelProto``.

    Raises:
        MalformedModel: the bytes are not a well-formed protobuf message.
    """
    walker = _Walker(data)
    walker.walk("model", (0, len(data)))
    return ScanResult(tuple(walker.refs), frozenset(walker.op_types))


def confine(path: Path, folder: Path, what: str = "model file") -> Path:
    """``path`` after symlinks, which must still lie inside ``folder`` (after symlinks).

    Raises:
        ModelIntegrityError: the path leads out of the folder.
    """
    real, root = Path(path).resolve(), Path(folder).resolve()
    if real != root and root not in real.parents:
        raise ModelIntegrityError(f"{path}: the {what} resolves to {real}, outside the model folder {root}; "
                                  f"refusing to load it (model files must stay inside their folder); {_REMEDY}.")
    return real


def check_location(location: str | None, folder: Path) -> str | None:
    """Why an external-data location is refused (None: a plain file inside ``folder``)."""
    if not location:
        return "gives no location"
    parts = PurePosixPath(location).parts
    if location.startswith("/") or any(not _SAFE_PART.fullmatch(p) for p in parts):
        return "is not a plain relative file name"
    root = Path(folder).resolve()
    real = (root / location).resolve()
    if root not in real.parents:
        return f"resolves to {real}, outside the model folder"
    return None


def checked_onnx(path: Path, data: bytes | None = None) -> ScanResult:
    """``check_onnx_model`` as a backend calls it, before any runtime opens ``path`` (``data``: its bytes,
    when the caller has read them to hand the same bytes to the runtime).

    Raises:
        ModelIntegrityError: the file would make the runtime read outside its folder.
        BackendUnavailableError: the file cannot be read or is no protobuf message (the runtime would refuse it).
    """
    try:
        return check_onnx_model(path, data)
    except MalformedModel as exc:
        raise BackendUnavailableError(f"{Path(path).name}: not a valid ONNX file ({exc})") from exc
    except OSError as exc:
        raise BackendUnavailableError(f"{Path(path).name}: cannot read the model ({runtime_message(exc)})") from exc


def check_onnx_model(path: Path, data: bytes | None = None) -> ScanResult:
    """Refuse an ONNX file that leaves its folder or makes the runtime read outside it.

    Raises:
        ModelIntegrityError: the file is a symlink out of its folder, an external-data location is unsafe,
            or it holds an ``EPContext`` node.
        MalformedModel: not a protobuf message (the backend turns it into ``BackendUnavailableError``).
    """
    path = Path(path)
    folder = path.parent
    confine(path, folder)
    result = scan_onnx_bytes(path.read_bytes() if data is None else data)
    for ref in result.external:
        why = check_location(ref.location, folder)
        if why is not None:
            shown = ascii(ref.location)[:120] if ref.location is not None else "(none)"
            raise ModelIntegrityError(
                f"{path}: tensor {ascii(ref.tensor)[:80]} keeps its data in external file {shown}, which {why}; "
                f"refusing to load it (ONNX external data must be a file inside {folder.resolve()}); {_REMEDY}.")
    if "EPContext" in result.op_types:
        raise ModelIntegrityError(f"{path}: holds an EPContext node (a precompiled engine the runtime would load "
                                  f"from a path); refusing to load it; {_REMEDY}.")
    return result
