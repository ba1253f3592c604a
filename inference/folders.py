"""Walking a patient folder: one walker for the DICOM reader and for the batch's skipped-folder check, so both see
the same files.

Links to folders are followed (PACS exports and study folders assembled by hand link series folders kept
elsewhere), except a link back to a folder already walked (a loop) and a link to the patient folder itself or a
folder above it: a ``..`` link in a patient folder made the reader walk every sibling patient's files. In a batch
(``other_patients``), a link to another patient folder of the batch, or into one, is not followed either: that
patient's series were read as this one's; nor is a file link into one read (``A/t2.nii.gz -> ../B/t2.nii.gz`` gave
A patient B's T2): ``other_patient_reached`` names the patient, for the reader of named image files.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from inference.wording import plural

#: Why a linked folder was not walked (a key of the ``skipped`` counter ``walk_files`` fills). Without its noun,
#: which ``link_note`` puts before it in the number of its count ("1 link to ...", "2 links to ...").
ANCESTOR_LINK = "to the patient folder or a folder above it not followed (that would read other patients' files)"
OTHER_PATIENT_LINK = "to another patient folder of the batch not followed (its series are not this patient's)"
#: Why a linked file was not read (its noun: "file link").
OTHER_PATIENT_FILE_LINK = "into another patient folder of the batch not read (its images are not this patient's)"
#: Every reason a link was not followed: a note ends with one (``link_note``).
LINK_REASONS = (ANCESTOR_LINK, OTHER_PATIENT_LINK, OTHER_PATIENT_FILE_LINK)

#: real paths of the patient folders of the batch being run (``other_patients``); empty outside a batch
_BATCH: ContextVar[tuple[str, ...]] = ContextVar("batch_patient_folders", default=())


def link_note(reason: str, count: int) -> str:
    """The note for ``count`` links not followed for ``reason`` (one of ``LINK_REASONS``): "1 link to the patient
    folder ... not followed (...)", "2 file links into another patient folder ... not read (...)"."""
    return f"{plural(count, 'file link' if reason == OTHER_PATIENT_FILE_LINK else 'link')} {reason}"


@contextmanager
def other_patients(folders: Iterable[Path]) -> Iterator[None]:
    """Within the block, ``walk_files`` does not follow a link to one of ``folders`` (a batch's patient folders) or
    into one, from a folder outside it, nor yield a file link into one: in a batch, patient A's link to patient B's
    folder (or to a file of B's) is not A's series; ``other_patient_reached`` tells such a link."""
    token = _BATCH.set(tuple(os.path.realpath(f) for f in folders))
    try:
        yield
    finally:
        _BATCH.reset(token)


def walk_files(root: Path, skipped: Counter[str] | None = None) -> Iterator[Path]:
    """Every file under ``root`` in name order, following links to folders except loops and links upwards.

    Args:
        root: the patient (or series) folder.
        skipped: counts the links not followed: to ``root`` or above it (``ANCESTOR_LINK``), and within
            ``other_patients`` to another patient folder of the batch (``OTHER_PATIENT_LINK``) or to a file in one
            (``OTHER_PATIENT_FILE_LINK``).

    Yields:
        File paths (as reached: under ``root``, through any links followed).
    """
    above = _ancestry(os.path.realpath(root))  # root and every folder above it, by file identity
    others = set(_other_patients(root))  # not root's own batch folder (or one above it)
    seen: set = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        seen.add(_identity(dirpath))
        kept = []
        for name in sorted(dirnames):
            path = os.path.join(dirpath, name)
            identity = _identity(path)
            if identity in seen:  # a link back to a folder already walked (a loop)
                continue
            if identity in above:
                if skipped is not None:
                    skipped[ANCESTOR_LINK] += 1
                continue
            if others and os.path.islink(path) and others & _ancestry(os.path.realpath(path)):
                if skipped is not None:
                    skipped[OTHER_PATIENT_LINK] += 1
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if others and os.path.islink(path) and others & _ancestry(os.path.realpath(path)):
                if skipped is not None:
                    skipped[OTHER_PATIENT_FILE_LINK] += 1
                continue
            yield Path(path)


def other_patient_reached(path: Path, root: Path) -> Path | None:
    """Within ``other_patients``: the other patient folder of the batch that ``path``, a link in ``root`` (the
    patient folder being read), reaches into. None outside a batch, for a path that is not a link, and for a link
    elsewhere (its own folder included)."""
    if not os.path.islink(path):
        return None
    reached = _ancestry(os.path.realpath(path))
    return next((folder for identity, folder in _other_patients(root).items() if identity in reached), None)


def _other_patients(root: Path) -> dict[tuple, Path]:
    """The batch's patient folders (``other_patients``) by identity, less ``root``'s own (or one above it)."""
    above = _ancestry(os.path.realpath(root))
    found = {_identity(f): Path(f) for f in _BATCH.get()}
    return {identity: folder for identity, folder in found.items() if identity is not None and identity not in above}


def _identity(path: str | Path) -> tuple | None:
    """What makes two paths one folder: its device and inode (file index on Windows). Not the spelling: on a
    case-insensitive file system (macOS, Windows) a link to ``../b`` reaches folder ``B``, and its real path keeps
    the link's case, so comparing paths let such a link escape the checks. None: it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st.st_ino else ("path", os.path.normcase(os.path.realpath(path)))


def _ancestry(real: str) -> set:
    """The identities of the folder ``real`` (a real path) and of every folder above it."""
    found, path = set(), real
    while True:
        identity = _identity(path)
        if identity is not None:
            found.add(identity)
        parent = os.path.dirname(path)
        if parent == path:
            return found
        path = parent
