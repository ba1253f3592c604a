"""Images that recur across the patients of one batch.

Two patients' MRI never hold the same voxel values, so an image identical to one read earlier in the batch is a
copy: the same patient twice under two folder names, or, worse, another patient's file copied (or hard-linked)
into this folder, whose result would then describe the wrong patient. File links into another patient folder
are caught by name (``inference.folders``); a copy or a hard link has no name to tell, only its voxels.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from inference.roles import ROLE_LABELS


class SeenImages:
    """The images of the batch's patients read so far, by their voxel values (shape, type and bytes)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, str]] = {}  # fingerprint -> (folder name, role)
        self.warned: dict[str, list[str]] = {}  # folder name -> its warnings (the batch's terminal lines)

    def repeats(self, folder: Path, volumes: dict) -> list[str]:
        """Warnings for the images of ``volumes`` (role -> Volume, as loaded) that equal an image of a patient read
        earlier in the batch, one per earlier folder; then remembers this patient's images.

        Args:
            folder: this patient's folder (its name is what the warnings of later patients name).
            volumes: the patient's images as read, before registration.

        Returns:
            Warnings for the result (empty when every image is new to the batch).
        """
        same: dict[str, list[tuple[str, str]]] = {}  # earlier folder -> (role here, role there)
        for role, volume in volumes.items():
            key = _fingerprint(volume.array)
            if key in self._seen:
                other, other_role = self._seen[key]
                same.setdefault(other, []).append((role, other_role))
            else:
                self._seen[key] = (folder.name, role)
        warnings = []
        for other, pairs in same.items():
            here, there = (_labels(role for role, _ in pairs), _labels(role for _, role in pairs))
            warnings.append(f"this patient's {here} {'is' if len(pairs) == 1 else 'are'} identical, voxel for voxel, "
                            f"to the {there} of folder {other!r} earlier in this batch: the same patient twice, or "
                            "another patient's file copied into this folder? Check the folder's images before using "
                            "this result")
        self.warned[folder.name] = warnings
        return warnings


def _labels(roles) -> str:
    names = [ROLE_LABELS.get(role, role) for role in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _fingerprint(array: np.ndarray) -> str:
    data = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{data.dtype.str}{data.shape}".encode())
    digest.update(data.tobytes())
    return digest.hexdigest()
