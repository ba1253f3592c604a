"""Where results may be written: never into an input folder, only into a folder that takes a file, and never over
results of other images without being asked (``Pipeline.write`` and the commands call these before writing)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def existing_result(folder: Path) -> dict[str, Any] | None:
    """The ``result.json`` of a set already in ``folder`` (an unreadable one counts as foreign: {}), or None."""
    path = Path(folder) / "result.json"
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def same_images(found: dict[str, Any], cet1_sha256: str) -> bool:
    """Whether an existing ``result.json`` (``existing_result``) was computed from the CE-T1 image whose pixel
    hash is ``cet1_sha256`` (``result.json`` "input_sha256").

    CE-T1 only: it is the reference grid, read as stored; T2/T1 are resampled onto it through a registration that
    is reproducible only to the last digits and changes with --register, so their hashes may differ."""
    hashes = found.get("input_sha256")
    return isinstance(hashes, dict) and hashes.get("cet1") == cet1_sha256


def replace_problem(found: dict[str, Any] | None, prediction=None, *, cet1_sha256: str | None = None,
                    edited: bool | None = None) -> str | None:
    """Why the results ``found`` in the output folder must not be replaced by ``prediction``'s without asking, or
    None: there are none, or they are an earlier run of the same images (a re-run replaces its own results).

    Before a prediction exists (a command checks as soon as the images are loaded), ``cet1_sha256`` and
    ``edited`` stand in for it."""
    if found is None:
        return None
    if not found:
        return "an unreadable result.json (results of an unknown run)"
    risk = found.get("probability")
    said = f"risk {risk:.0%}" if isinstance(risk, float) else "no risk"
    if not same_images(found, prediction.provenance["input_sha256"]["cet1"] if prediction else cet1_sha256):
        return (f"results computed from OTHER images ({said}; patient id {found.get('patient_id', 'unknown')}): "
                "another patient whose folder has the same name, or another study")
    if found.get("mask_edited") is True and not (prediction.edited if prediction else edited):
        return f"results with a mask EDITED by the user ({said}); the automatic mask would replace it"
    return None


def check_replaceable(folder: Path, prediction=None, *, cet1_sha256: str | None = None,
                      edited: bool | None = None) -> None:
    """Refuse to replace results of other images, an unreadable set, or a hand-edited mask with an automatic one
    (arguments as ``replace_problem``).

    Raises:
        ExistingResultsError: the reason (``replace_problem``) and what to do.
    """
    from inference.errors import ExistingResultsError

    problem = replace_problem(existing_result(folder), prediction, cet1_sha256=cet1_sha256, edited=edited)
    if problem is not None:
        raise ExistingResultsError(f"{folder} already holds {problem}. Nothing was written; choose another output "
                                   "folder", cli_hint="(or pass --overwrite to replace them)")


def check_output_dir(out: str | Path, inputs: Sequence[str | Path], *, what: str = "") -> Path:
    """Refuse an output folder inside (or equal to) an input folder: inputs are never written to. ``what``: the
    outputs bound for ``out`` (then the message says where they would have gone)."""
    from inference.errors import OutputError

    out = Path(out).resolve()
    for src in inputs:
        src = Path(src).resolve()
        if out == src or src in out.parents:
            if what:
                raise OutputError(f"{what} would be written to {out}, which is {'' if out == src else 'inside '}the "
                                  f"input folder {src}; nothing was written. Choose an output folder that does not "
                                  "hold the patient folder (inputs are never written to)")
            raise OutputError(f"{out} is inside the input folder {src}; choose an output folder elsewhere "
                              "(inputs are never written to)")
    return out


def check_writable_dir(out: str | Path) -> Path:
    """Make sure results can be written to ``out`` before any long work: it, or the nearest folder above it that
    exists (``out`` is created only when the first result is written), takes a test file. Nothing is left behind.

    Raises:
        OutputError: ``out`` (or a part of its path) is a file, or the folder cannot be written to.
    """
    import tempfile

    from inference.errors import OutputError

    out = Path(out)
    base = out
    while not base.exists() and base.parent != base:
        base = base.parent
    if not base.is_dir():
        raise OutputError(f"{base} is a file, not a folder; choose an output folder")
    try:
        with tempfile.TemporaryFile(dir=base, prefix=".otscc-write-check-"):
            pass
    except OSError as exc:
        raise OutputError(f"{out}: cannot write results there ({exc.strerror or exc}); choose a folder you can "
                          "write to") from exc
    return out


def check_output_file(path: str | Path, option: str) -> Path:
    """Make sure a file named on the command line (``option``: ``--json``, ``--save-features``) can be written
    before any long work: not a folder, and its folder (created when missing, as the writers do) writable.

    Raises:
        OutputError: ``path`` is a folder, a part of its path is a file, or its folder cannot be written to.
    """
    from inference.errors import OutputError

    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give a file name")
    check_writable_dir(path.parent)
    return path
