"""Fingerprint of a whole folder tree: names, types, modes, sizes, mtimes and contents (not access times).

Used to prove that a run never writes inside its inputs: take ``fingerprint(root)`` before and after and
compare; ``diff`` names what changed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def fingerprint(root: str | Path) -> dict[str, tuple]:
    """``{relative path: (kind, mode, size, mtime_ns, sha256 or link target)}`` for everything under ``root``."""
    root = Path(root)
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in [*dirnames, *sorted(filenames)]:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", st.st_mode, 0, 0, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", st.st_mode, 0, st.st_mtime_ns, "")
            else:
                out[rel] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, _sha256(path))
    st = root.lstat()
    out["."] = ("dir", st.st_mode, 0, st.st_mtime_ns, "")
    return out


def diff(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """What changed between two fingerprints, one line per path (empty: identical)."""
    lines = [f"added {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"removed {p}" for p in sorted(before.keys() - after.keys())]
    lines += [f"changed {p}: {before[p]} -> {after[p]}" for p in sorted(before.keys() & after.keys())
              if before[p] != after[p]]
    return lines


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
