"""The fuzz worker: a child process that runs the intake entry points on inputs the parent has built.

Running cases in a child keeps the fuzzer honest about the things an in-process ``try`` cannot see: a hang
(the parent kills the worker after a per-case limit), a hard crash (segfault or abort in ITK/GDCM), and
peak memory (the worker's ``VmHWM`` after each case; it only grows, so the first case to cross the limit is
the culprit).

Protocol: one JSON request per line on stdin, one JSON reply per line on the original stdout. Anything a
library prints goes to stderr, so it cannot corrupt the replies.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

#: Bytes that fill the "outside" data files: a volume made mostly of them was read from outside the patient
#: folder (through a header's data-file reference), whatever voxel type the header declares.
OUTSIDE_BYTE = 0xA5
_MARK_TYPES = ("u1", "i1", "<u2", ">u2", "<i2", ">i2", "<u4", "<i4", ">i4", "<f4", ">f4", "<f8", ">f8", "<i8")
_MARKS = [np.float32(np.frombuffer(bytes([OUTSIDE_BYTE]) * 8, t)[0]) for t in _MARK_TYPES]
OUTSIDE_MARKS = np.unique([m for m in _MARKS if m != 0])  # a big-endian double of them rounds to -0.0


def peak_rss_kib() -> int:
    """This process's peak resident set (``VmHWM``, KiB); 0 where /proc is missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def volume_problems(volume, name: str) -> list[str]:
    """Why ``volume`` is not a usable result (empty list: it is)."""
    array, geometry = volume.array, volume.geometry
    problems = []
    if array.ndim != 3 or array.size == 0:
        return [f"{name}: array shape {array.shape}"]
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        problems.append(f"{name}: {int(np.count_nonzero(~np.isfinite(array)))} non-finite voxels")
    spacing = np.asarray(geometry.spacing, float)
    if not (np.isfinite(spacing).all() and (spacing > 0).all()):
        problems.append(f"{name}: spacing {tuple(spacing)}")
    if not np.isfinite(np.asarray(geometry.origin, float)).all():
        problems.append(f"{name}: origin {geometry.origin}")
    matrix = np.asarray(geometry.direction, float).reshape(3, 3)
    if not np.isfinite(matrix).all() or not np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-3):
        problems.append(f"{name}: direction {tuple(np.round(matrix.ravel(), 4))} is not orthonormal")
    if array.size >= 8 and np.isin(array, OUTSIDE_MARKS).mean() > 0.5:
        problems.append(f"{name}: voxels come from a file outside the patient folder")
    return problems


def _read_image(path: Path, **kwargs):
    from inference.imagefile import read_image_file

    volume = read_image_file(path, **kwargs)
    return volume_problems(volume, path.name)


def _read_dicom(path: Path, **kwargs):
    """Everything the intake does with a DICOM folder: scan, describe, classify, read every series."""
    from inference import dicom
    from inference.roles import classify_series

    series, notes = dicom.scan_folder(path)
    json.dumps(notes)
    problems = []
    for item in series:
        json.dumps(item.summary())
        classify_series(item.info())
        problems += volume_problems(dicom.read_series(item, **kwargs), item.label)
    return problems


def _load_patient(path: Path, **kwargs):
    from inference.io import load_patient

    patient = load_patient(path, **kwargs)
    problems = [p for role, volume in patient.volumes.items() for p in volume_problems(volume, role)]
    if sorted(patient.volumes) != ["cet1", "t1", "t2"]:
        problems.append(f"roles {sorted(patient.volumes)}")
    if patient.mask is not None:
        problems += volume_problems(patient.mask, "mask")
        if not patient.mask.geometry.same_space(patient.volumes["cet1"].geometry, tol_mm=0.01):
            problems.append("mask is not on the CE-T1 grid")
    json.dumps(patient.describe())
    return problems


def _self_test(path: Path, do: str) -> list[str]:
    """Misbehaviours on purpose, so tests can show the harness catches each kind (never used by targets)."""
    from inference.errors import UnreadableFileError
    from inference.volume import Geometry, Volume

    if do == "typed":
        raise UnreadableFileError(f"{path.name}: a typed error")
    if do == "raise":
        raise KeyError("an untyped error")
    if do == "hang":
        time.sleep(3600)
    if do == "segfault":
        import ctypes

        ctypes.string_at(0)
    if do == "allocate":
        return _allocate()
    array = np.full((2, 2, 2), np.nan if do == "nan" else 1.0, np.float32)
    return volume_problems(Volume(array, Geometry((2, 2, 2), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))), "self-test")


def _allocate() -> list[str]:
    block = b"x" * (512 << 20)  # touched, so it counts in the resident set
    return [] if block else ["never"]


ENTRIES = {"image": _read_image, "dicom": _read_dicom, "patient": _load_patient, "self-test": _self_test}


def run_request(request: dict) -> dict:
    """Run one case; ``outcome`` is ``valid``, an ``InputError`` class name, ``crash`` or ``invalid``."""
    from inference.errors import InputError

    start = time.perf_counter()
    reply: dict = {}
    try:
        problems = ENTRIES[request["entry"]](Path(request["path"]), **request.get("kwargs", {}))
    except InputError as exc:
        reply["outcome"], reply["message"] = type(exc).__name__, str(exc)[:400]
        if not str(exc).strip():
            reply.update(outcome="invalid", detail=f"{type(exc).__name__} with an empty message")
    except Exception as exc:  # noqa: BLE001 - any other exception is exactly what the fuzzer looks for
        reply.update(outcome="crash", detail=f"{type(exc).__name__}: {exc}"[:400],
                     traceback=traceback.format_exc()[-4000:])
    else:
        reply["outcome"] = "invalid" if problems else "valid"
        if problems:
            reply["detail"] = "; ".join(problems)[:400]
    reply["seconds"] = round(time.perf_counter() - start, 3)
    return reply


def main() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash found must not leave a core file in the repo
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # C libraries that print to stdout now print to stderr
    warnings.simplefilter("ignore")  # pydicom warns about every odd value; the replies say what matters
    import SimpleITK as sitk

    import inference.dicom  # noqa: F401 - import before "ready" so the first case is not charged for it
    import inference.io  # noqa: F401

    sitk.ProcessObject_SetGlobalWarningDisplay(False)
    protocol.write(json.dumps({"ready": True, "peak_kib": peak_rss_kib()}) + "\n")
    for line in sys.stdin:
        reply = run_request(json.loads(line))
        reply["peak_kib"] = peak_rss_kib()
        protocol.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
