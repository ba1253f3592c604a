"""Walking a patient folder: one walker for the DICOM reader and for the batch's skipped-folder check, so both see
the same files.

Links to folders are followed (PACS exports and study folders assembled by hand link series folders kept
elsewhere), except a link back to a folder already walked (a loop) and a link to the patient folder itself or a
folder above it: a ``..`` link in a patient folder made the reader walk every sibling patient's files.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

#: Why a linked folder was not walked (a key of the ``skipped`` counter ``walk_files`` fills).
ANCESTOR_LINK = ("link(s) to the patient folder or a folder above it not followed (they would read other patients' "
                 "files)")


def walk_files(root: Path, skipped: Counter[str] | None = None) -> Iterator[Path]:
    """Every file under ``root`` in name order, following links to folders except loops and links upwards.

    Args:
        root: the patient (or series) folder.
        skipped: counts the links to ``root`` or above it that were not followed, under ``ANCESTOR_LINK``.

    Yields:
        File paths (as reached: under ``root``, through any links followed).
    """
    top = os.path.realpath(root)
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        seen.add(os.path.realpath(dirpath))
        kept = []
        for name in sorted(dirnames):
            real = os.path.realpath(os.path.join(dirpath, name))
            if real in seen:  # a link back to a folder already walked (a loop)
                continue
            if _is_ancestor(real, top):
                if skipped is not None:
                    skipped[ANCESTOR_LINK] += 1
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _is_ancestor(folder: str, top: str) -> bool:
    """Whether ``folder`` is ``top`` or a folder above it (both real paths)."""
    try:
        return os.path.commonpath([folder, top]) == folder
    except ValueError:  # different drives (Windows)
        return False
