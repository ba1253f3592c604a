"""Walking a patient folder: one walker for the DICOM reader and for the batch's skipped-folder check, so both see
the same files.

Links to folders are followed (PACS exports and study folders assembled by hand link series folders kept
elsewhere), except a link back to a folder already walked (a loop) and a link to the patient folder itself or a
folder above it: a ``..`` link in a patient folder made the reader walk every sibling patient's files. In a batch
(``other_patients``), a link to another patient folder of the batch, or into one, is not followed either: that
patient's series were read as this one's.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

#: Why a linked folder was not walked (a key of the ``skipped`` counter ``walk_files`` fills).
ANCESTOR_LINK = ("link(s) to the patient folder or a folder above it not followed (they would read other patients' "
                 "files)")
OTHER_PATIENT_LINK = "link(s) to another patient folder of the batch not followed (its series are not this patient's)"
#: Every reason a linked folder was not walked.
LINK_REASONS = (ANCESTOR_LINK, OTHER_PATIENT_LINK)

#: real paths of the patient folders of the batch being run (``other_patients``); empty outside a batch
_BATCH: ContextVar[tuple[str, ...]] = ContextVar("batch_patient_folders", default=())


@contextmanager
def other_patients(folders: Iterable[Path]) -> Iterator[None]:
    """Within the block, ``walk_files`` does not follow a link to one of ``folders`` (a batch's patient folders) or
    into one, from a folder outside it: in a batch, patient A's link to patient B's folder is not A's series."""
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
            ``other_patients`` to another patient folder of the batch (``OTHER_PATIENT_LINK``).

    Yields:
        File paths (as reached: under ``root``, through any links followed).
    """
    above = _ancestry(os.path.realpath(root))  # root and every folder above it, by file identity
    others = {_identity(f) for f in _BATCH.get()} - above - {None}  # not root's own batch folder (or one above it)
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
            yield Path(dirpath) / name


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
