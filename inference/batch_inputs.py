"""Images that recur across the patients of one batch, or whose CE-T1 another patient's results in the output folder
were computed from (an earlier run).

Two patients' MRI never hold the same voxel values, so an image identical to one read earlier in the batch is a
copy: the same patient twice under two folder names, or, worse, another patient's file copied (or hard-linked)
into this folder, whose result would then describe the wrong patient. File links into another patient folder
are caught by name (``inference.folders``); a copy or a hard link has no name to tell, only its voxels.
"""

from __future__ import annotations

from pathlib import Path

from inference.pipeline import volume_sha256
from inference.roles import ROLE_LABELS


class SeenImages:
    """The images of the batch's patients read so far, by their voxel values (shape, type and bytes), and the CE-T1
    images of the results the output folder held before this run (``result.json`` "input_sha256")."""

    def __init__(self, out: Path | None = None, *, within_run: bool = True) -> None:
        """``within_run=False`` (a single patient): only OUT's earlier results are compared, so the T2 and T1 are not
        hashed (~36 ms each on 30x512x512) for a comparison that has nothing to compare with."""
        self._within_run = within_run
        self._seen: dict[str, tuple[str, str]] = {}  # fingerprint -> (folder name, role)
        self.warned: dict[str, list[str]] = {}  # folder name -> its warnings (the batch's terminal lines)
        self._out, self._earlier = (Path(out) if out is not None else None), None
        self._ids: set[str] = set()  # this run's patient ids (their results in OUT may be from this run)

    def repeats(self, folder: Path, volumes: dict, patient_id: str | None = None,
                cet1_sha256: str | None = None) -> list[str]:
        """Warnings for the images of ``volumes`` (role -> Volume, as loaded) that equal an image of a patient read
        earlier in the batch, one per earlier folder, or a CE-T1 of another patient's results already in the output
        folder; then remembers this patient's images.

        Args:
            folder: this patient's folder (its name is what the warnings of later patients name).
            volumes: the patient's images as read, before registration.
            patient_id: its id, whose own earlier results in the output folder are not another patient's.
            cet1_sha256: ``volume_sha256`` of its CE-T1, when the caller has it (each image is hashed once).

        Returns:
            Warnings for the result (empty when every image is new).
        """
        roles = volumes if self._within_run else [r for r in volumes if r == "cet1"]
        digests = {role: cet1_sha256 if role == "cet1" and cet1_sha256 else volume_sha256(volumes[role])
                   for role in roles}
        warnings = self._in_output(digests.get("cet1"), patient_id)
        if patient_id:
            self._ids.add(patient_id)
        if not self._within_run:
            self.warned[folder.name] = warnings
            return warnings
        same: dict[str, list[tuple[str, str]]] = {}  # earlier folder -> (role here, role there)
        for role, volume in volumes.items():
            key = f"{volume.array.dtype.str}{volume.array.shape}:{digests[role]}"  # equal bytes of another shape differ
            if key in self._seen:
                other, other_role = self._seen[key]
                same.setdefault(other, []).append((role, other_role))
            else:
                self._seen[key] = (folder.name, role)
        for other, pairs in same.items():
            here, there = (_labels(role for role, _ in pairs), _labels(role for _, role in pairs))
            warnings.append(f"this patient's {here} {'is' if len(pairs) == 1 else 'are'} identical, voxel for voxel, "
                            f"to the {there} of folder {other!r} earlier in this batch: the same patient twice, or "
                            "another patient's file copied into this folder? Check the folder's images before using "
                            "this result")
        self.warned[folder.name] = warnings
        return warnings

    def _in_output(self, digest: str | None, patient_id: str | None) -> list[str]:
        """A warning when the CE-T1 (``digest``, as result.json "input_sha256") equals that of results another
        patient id already has in the output folder (an earlier run; within this run, ``repeats`` compares the images
        themselves)."""
        if self._out is None or digest is None:
            return []
        if self._earlier is None:  # read once, before this run writes anything there
            self._earlier = _results_by_cet1(self._out)
        # this run's patients are said by the comparison of the images themselves
        others = [pid for pid in self._earlier.get(digest, []) if pid != patient_id and pid not in self._ids]
        return _earlier_results_warning(others, self._out)


def earlier_results_warnings(out: str | Path, cet1_sha256: str | None, patient_id: str) -> list[str]:
    """The warning a single export gets when ``out`` already holds results of another patient id computed from the
    same CE-T1 (``result.json`` "input_sha256"): the same patient under another id, or another patient's image.
    The GUI asks before such an export and the warning goes into the exported result."""
    if cet1_sha256 is None:
        return []
    others = [pid for pid in _results_by_cet1(Path(out)).get(cet1_sha256, []) if pid != patient_id]
    return _earlier_results_warning(others, Path(out))


def _earlier_results_warning(others: list[str], out: Path) -> list[str]:
    if not others:
        return []
    named = ", ".join(repr(pid) for pid in others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    return [f"this patient's CE-T1 is identical, voxel for voxel, to that of the results of {named} already in "
            f"{out} (an earlier run): the same patient under another id, or another patient's file copied "
            "into this folder? Check the folder's images before using this result"]


#: the most result folders an output folder is searched through (a clinic's years of results: a bounded read)
MAX_RESULTS_READ = 5000


def _results_by_cet1(out: Path) -> dict[str, list[str]]:
    """The output folder's results (``OUT/<id>/result.json``) by the SHA-256 of the CE-T1 they were computed from."""
    from inference.outputs import existing_result

    found: dict[str, list[str]] = {}
    try:
        folders = sorted(p for p in out.iterdir() if p.is_dir())[:MAX_RESULTS_READ]
    except OSError:  # no output folder yet: nothing before this run
        return found
    for folder in folders:
        hashes = (existing_result(folder) or {}).get("input_sha256")
        if isinstance(hashes, dict) and isinstance(hashes.get("cet1"), str):
            found.setdefault(hashes["cet1"], []).append(folder.name)
    return found


def _labels(roles) -> str:
    names = [ROLE_LABELS.get(role, role) for role in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
