"""Read a patient: a folder of named NIfTI/NRRD/MHA files or a DICOM folder -> three role-tagged Volumes.

Nothing here writes to disk. Patient identifiers never leave this module: NIfTI folders are named by
their folder, DICOM studies by a pseudonym derived from the StudyInstanceUID.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from inference import dicom
from inference.errors import (
    AmbiguousSequenceError,
    GeometryError,
    InputError,
    MissingSequenceError,
    PatientNotFoundError,
)
from inference.folders import LINK_REASONS, other_patient_reached
from inference.imagefile import MAX_VOXELS, image_suffix, read_image_file, strip_suffix
from inference.roles import ROLE_LABELS, ROLES, RoleDecision, assign_series_roles, role_from_name
from inference.volume import Volume
from inference.wording import plural

log = logging.getLogger(__name__)


@dataclass
class Patient:
    """Three sequences of one patient, each on its own grid (registration comes later)."""

    patient_id: str
    source_kind: str  # "files" or "dicom"
    volumes: dict[str, Volume]
    roles: dict[str, RoleDecision]
    mask: Volume | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    series: list[dict] = field(default_factory=list)

    def describe(self) -> dict:
        """JSON-ready summary (no identifiers)."""
        return {
            "patient_id": self.patient_id,
            "source_kind": self.source_kind,
            "roles": {
                role: {"source": d.label, "reason": d.reason, **self.volumes[role].geometry.to_dict()}
                for role, d in self.roles.items()
            },
            "mask": None if self.mask is None else self.mask.meta.get("source"),
            "series_found": self.series,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


def load_patient(
    path: str | Path,
    *,
    cet1: str | Path | None = None,
    t2: str | Path | None = None,
    t1: str | Path | None = None,
    load_mask: bool | str = True,
    max_voxels: int = MAX_VOXELS,
) -> Patient:
    """Load a patient's CE-T1, T2 and T1 volumes.

    Args:
        path: a folder of image files named by sequence (``cet1``/``t2``/``t1`` or aliases) or a DICOM
            folder with several series (any names, nested folders, junk files allowed).
        cet1, t2, t1: explicit choices that always win: an image file, a folder with one DICOM series,
            or (for DICOM folders) a SeriesInstanceUID or series number.
        load_mask: also read a ``mask``/``label`` file when present (files layout only); ``"if usable"``: a mask
            file that cannot be used (off the CE-T1 grid, several, unreadable) becomes a note instead of an error.
        max_voxels: per-volume voxel cap.

    Raises:
        InputError subclasses with a message naming the problem.
    """
    root = Path(path)
    if not root.exists():
        raise PatientNotFoundError(f"{root}: no such file or folder.")
    if not root.is_dir():
        raise PatientNotFoundError(f"{root}: a patient is a folder (of NIfTI/NRRD/MHA files or DICOM series).")
    overrides = {r: v for r, v in {"cet1": cet1, "t2": t2, "t1": t1}.items() if v is not None}
    for role, value in overrides.items():
        if not str(value).strip():  # Path("") is the working folder: it would be scanned as a DICOM folder
            raise PatientNotFoundError(
                f"--{role}: empty value; give an image file, a series folder, a SeriesInstanceUID or a series number."
            )
    named = _named_image_files(root)
    if any(role in ROLES for role in named):
        patient = _load_files(root, named, overrides, load_mask, max_voxels)
    else:
        if not overrides and not (root / "clinical.json").is_file():
            _refuse_a_folder_of_patients(root)
        patient = _load_dicom(root, named, overrides, max_voxels)
    for volume in patient.volumes.values():
        patient.warnings.extend(volume.meta.pop("warnings", []))
    return patient


def _refuse_a_folder_of_patients(root: Path) -> None:
    """A folder whose sub-folders are patients (sequence-named images or a clinical.json) is a batch, not one
    patient: scanning it as one DICOM folder took the first patient's DICOM files and skipped the rest silently."""
    patients = []
    for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            if (child / "clinical.json").is_file() or any(role in ROLES for role in _named_image_files(child)):
                patients.append(child.name)
        except OSError:
            continue
    if patients:
        shown = ", ".join(patients[:5]) + (f" and {len(patients) - 5} more" if len(patients) > 5 else "")
        raise PatientNotFoundError(f"{root}: a folder of {plural(len(patients), 'patient folder')} ({shown}), not one "
                                   "patient; open one of them (otscc predict runs a whole folder as a batch)")


def _named_image_files(root: Path) -> dict[str, list[Path]]:
    """Image files at the top of ``root`` grouped by role (``"?"`` for unrecognised names)."""
    found: dict[str, list[Path]] = {}
    for child in sorted(root.iterdir()):
        if child.is_file() and image_suffix(child):
            role = role_from_name(strip_suffix(child)) or "?"
            found.setdefault(role, []).append(child)
    return found


def _load_override(value: str | Path, role: str, max_voxels: int) -> tuple[Volume, str]:
    path = Path(value)
    if path.is_file():
        return read_image_file(path, max_voxels=max_voxels), f"{path.name} chosen by the user (override)"
    if path.is_dir():
        series, _ = dicom.scan_folder(path)
        if len(series) != 1:
            raise AmbiguousSequenceError(
                f"--{role} {path}: folder holds {len(series)} DICOM series; point at one series or give "
                "its SeriesInstanceUID/series number.",
                candidates=[s.summary() for s in series],
            )
        volume = _read_mr_series(series[0], role, max_voxels)
        study = str(series[0].header.get("StudyInstanceUID", "") or "")
        if study:  # compared with the other sequences' studies, by pseudonym
            volume.meta["study"] = dicom.pseudonym(study)
        return volume, f"{series[0].label} chosen by the user"
    raise PatientNotFoundError(f"--{role} {value}: no such file or folder.")


def _read_mr_series(series: dicom.DicomSeries, role: str, max_voxels: int) -> Volume:
    """Read a series chosen for ``role``: automatic choices exclude other modalities, a user's choice may not (a CT
    as CE-T1 got a confident 68 %)."""
    modality = series.info().modality
    if modality and modality.upper() != "MR":
        raise InputError(f"{series.label} chosen as {ROLE_LABELS[role]} is {modality}, not MR: the model reads MRI "
                         "only; choose an MR series")
    return dicom.read_series(series, max_voxels=max_voxels)


def _load_files(root, named, overrides, load_mask, max_voxels) -> Patient:
    named, linked = _without_other_patients_files(root, named)
    volumes, roles, notes = {}, {}, list(linked.values())
    for role in ROLES:
        if role in overrides:
            volumes[role], reason = _load_override(overrides[role], role, max_voxels)
            roles[role] = RoleDecision(role, str(overrides[role]), str(overrides[role]), reason)
            continue
        files = named.get(role, [])
        if not files and linked.get(role):
            raise MissingSequenceError(
                f"{root.name}: {linked[role]}, so the folder has no {ROLE_LABELS[role]} of its own.",
                cli_hint=f"Put the patient's own {ROLE_LABELS[role]} file in its folder, or, if the link is meant, "
                         "run the patient alone (outside a batch such a link is read).",
            )  # only within other_patients, i.e. in a batch: no --t2-style advice
        if len(files) > 1:
            raise AmbiguousSequenceError(
                f"{len(files)} files could be {ROLE_LABELS[role]}: {', '.join(f.name for f in files)}.",
                candidates=[{"key": str(f), "label": f.name} for f in files],
                cli_hint=f"Keep one or choose with --{role} PATH.",
                batch_hint="Keep one of them in the patient folder.",
            )
        if not files:
            present = sorted(f.name for fs in named.values() for f in fs)
            raise MissingSequenceError(
                f"{root.name}: no {ROLE_LABELS[role]} file. Expected a file named e.g. "
                f"'{role}.nii.gz' (aliases accepted: {', '.join(_aliases(role))}). "
                f"Image files present: {', '.join(present)}.{_dicom_beside(root, named)}",
                cli_hint=f"Or name the file with --{role} PATH.",
                batch_hint=f"In a batch, name the patient's {ROLE_LABELS[role]} file '{role}' with its extension (or "
                           f"an alias above), or run the patient alone with --{role} PATH.",
            )
        volumes[role] = read_image_file(files[0], max_voxels=max_voxels)
        roles[role] = RoleDecision(role, str(files[0]), files[0].name, f"file name '{files[0].name}'")
    if named.get("?"):
        notes.append("ignored image files with unrecognised names: " + ", ".join(f.name for f in named["?"]))
    mask = None
    if load_mask:
        try:
            mask = _load_mask(named.get("mask", []), volumes["cet1"], max_voxels)
        except InputError as exc:
            if load_mask != "if usable":
                raise
            notes.append(f"reference mask not used: {exc}")  # prediction needs none: it must not block a patient
    return Patient(root.resolve().name, "files", volumes, roles, mask=mask, notes=notes)


def _without_other_patients_files(root: Path, named: dict[str, list[Path]]) -> tuple[dict, dict[str, str]]:
    """``named`` less the files that are links into another patient folder of the batch (``folders.other_patients``),
    and a note per role naming those files and the patient: ``A/t2.nii.gz -> ../B/t2.nii.gz`` read B's T2 as A's."""
    kept: dict[str, list[Path]] = {}
    linked: dict[str, list[tuple[str, str]]] = {}
    for role, files in named.items():
        for f in files:
            other = other_patient_reached(f, root)
            if other is None:
                kept.setdefault(role, []).append(f)
            else:
                linked.setdefault(role, []).append((f.name, other.name))
    notes = {role: "; ".join(f"{name} is a link into {other}, another patient folder of the batch: not read (its "
                             f"images are not {root.name}'s)" for name, other in pairs)
             for role, pairs in linked.items()}
    return kept, notes


def _dicom_beside(root: Path, named: dict[str, list[Path]]) -> str:
    """What a folder read as named image files also holds in DICOM, said when a sequence is missing: a stray
    ``t2.nii.gz`` beside a DICOM study made the error read as if there were no DICOM at all."""
    try:
        series, _ = dicom.scan_folder(root)
    except InputError:  # too many files: the error about the missing file stands alone
        return ""
    if not series:
        return ""
    files = " and ".join(f"'{f.name}'" for role in ROLES for f in named.get(role, []))  # what makes it a files folder
    return (f" The folder also holds {len(series)} DICOM series ({', '.join(s.label for s in series)}), which are not "
            f"read while image files named by sequence lie at its top: to use the DICOM, move {files} out of the "
            "folder.")


def _aliases(role: str) -> list[str]:
    from inference.roles import NAME_ALIASES

    return list(NAME_ALIASES[role][:6])


def _load_mask(files: list[Path], reference: Volume, max_voxels: int) -> Volume | None:
    if not files:
        return None
    if len(files) > 1:
        raise AmbiguousSequenceError(f"several mask files: {', '.join(f.name for f in files)}; keep one.")
    mask = read_image_file(files[0], max_voxels=max_voxels)
    if not mask.geometry.same_space(reference.geometry, tol_mm=0.01):
        raise GeometryError(
            f"{files[0].name}: mask grid {mask.geometry.size} / spacing "
            f"{tuple(round(s, 3) for s in mask.geometry.spacing)} does not match the CE-T1 grid "
            f"{reference.geometry.size} / {tuple(round(s, 3) for s in reference.geometry.spacing)}; "
            "the mask must be on the CE-T1 grid."
        )
    return mask.with_array((mask.array > 0.5).astype("uint8"))


def _resolve_series_key(value, series: list[dicom.DicomSeries]) -> str | None:
    """The SeriesInstanceUID that ``value`` (a UID or a series number) names, or None.

    Raises:
        AmbiguousSequenceError: a series number several series share (two studies in one folder, say): the first
            one used to be taken silently, mixing the studies' sequences.
    """
    text = str(value)
    if any(s.uid == text for s in series):
        return text
    numbered = [s for s in series if s.number == text]
    if len(numbered) > 1:
        raise AmbiguousSequenceError(
            f"series number {text} is shared by {len(numbered)} series ({'; '.join(s.label for s in numbered)}): "
            "the folder may hold several studies.",
            candidates=[{"key": s.uid, "label": s.label} for s in numbered],
            cli_hint="Name the series by its SeriesInstanceUID (otscc inspect --show-descriptions lists them), or "
                     "give each study its own folder.")
    return numbered[0].uid if numbered else None


def _refuse_several_studies(root: Path, series: list[dicom.DicomSeries], exc: InputError) -> None:
    """Re-raise a role error of a folder holding several studies (StudyInstanceUID) saying so and how to go on:
    two patients, or two sessions, were offered as one patient's candidates (each CE-T1 'ambiguous')."""
    studies = {uid: members for uid, members in dicom.group_by_study(series).items() if uid}
    if len(studies) < 2:
        return
    listing = "; ".join(f"study {dicom.pseudonym(uid)}: {', '.join(s.label for s in members)}"
                        for uid, members in sorted(studies.items(), key=lambda item: dicom.pseudonym(item[0])))
    message = (f"{exc.problem} {root.name} holds {len(studies)} DICOM studies ({listing}); CE-T1, T2 and T1 must "
               "come from one of them.")
    hint = ("If they are different patients, give each study its own folder and run their parent folder with "
            "--batch; if they are one patient's, choose that study's series with --cet1/--t2/--t1 (by "
            "SeriesInstanceUID: series numbers repeat across studies; otscc inspect --show-descriptions lists them).")
    batch = ("If they are different patients, give each study its own patient folder in the batch; if they are one "
             "patient's, run the patient alone and choose the series with --cet1/--t2/--t1.")
    raise _restated(exc, message, cli_hint=hint, batch_hint=batch) from exc


def _restated(exc: InputError, message: str, *, cli_hint: str, batch_hint: str | None) -> InputError:
    """A role error of ``exc``'s type (an ambiguous one keeps its candidates, for the GUI's question) with another
    message and hints."""
    if isinstance(exc, AmbiguousSequenceError):
        return AmbiguousSequenceError(message, exc.candidates, cli_hint=cli_hint, batch_hint=batch_hint)
    return type(exc)(message, cli_hint=cli_hint, batch_hint=batch_hint)


def _load_dicom(root: Path, named, overrides, max_voxels) -> Patient:
    series, notes = dicom.scan_folder(root)
    if not series:
        if named:
            files = sorted(f.name for fs in named.values() for f in fs)
            raise MissingSequenceError(
                f"{root.name}: image files found ({', '.join(files)}) but none is named by sequence; name "
                "them cet1/t2/t1 (e.g. 'cet1.nii.gz').",
                cli_hint="Or give --cet1/--t2/--t1.",
                batch_hint="",
            )
        raise PatientNotFoundError(f"{root}: no DICOM series or NIfTI/NRRD/MHA images found"
                                   + (f" ({'; '.join(notes)})." if notes else "."))  # e.g. enhanced DICOM, a .zip
    fixed, volumes, roles = {}, {}, {}
    for role, value in overrides.items():
        key = _resolve_series_key(value, series)
        if key is not None:
            fixed[role] = key
        elif not Path(value).exists():  # neither a series of this folder nor a path: say what the folder holds
            found = ", ".join(s.label for s in series)  # never a UID (docs/privacy.md): otscc inspect lists them
            raise PatientNotFoundError(
                f"--{role} {value}: no series of {root.name} has that number or SeriesInstanceUID, and no such file "
                f"or folder exists; series found: {found}")
        else:
            volumes[role], reason = _load_override(value, role, max_voxels)
            roles[role] = RoleDecision(role, str(value), str(value), reason)
    # A series loaded from an override folder inside ``root`` is taken: it must not compete again.
    loaded = {v.meta.get("series_uid") for v in volumes.values()}
    remaining = [s for s in series if s.uid not in fixed.values() and s.uid not in loaded]
    candidates = [s.info() for s in series if s.uid in fixed.values()] + [s.info() for s in remaining]
    wanted = {r: k for r, k in fixed.items()}
    try:
        decisions = assign_series_roles(candidates, wanted, skip=tuple(roles)) if len(roles) < 3 else {}
    except (AmbiguousSequenceError, MissingSequenceError) as exc:
        _refuse_several_studies(root, series, exc)
        links = [n for n in notes if n.endswith(LINK_REASONS)]  # a series behind a link not followed: say so
        if not links:
            raise
        raise _restated(exc, f"{exc.problem} ({'; '.join(links)})", cli_hint=exc.cli_hint,
                        batch_hint=exc.batch_hint) from exc
    by_uid = {s.uid: s for s in series}
    warnings: list[str] = []
    for role, decision in decisions.items():
        if role in roles:
            continue
        chosen = by_uid[decision.key]
        volumes[role] = _read_mr_series(chosen, role, max_voxels)
        roles[role] = decision
        warnings.extend(chosen.warnings)
    studies = dicom.study_uids([by_uid[d.key] for d in roles.values() if d.key in by_uid])
    # series given as folders too (their study by pseudonym)
    chosen_studies = {dicom.pseudonym(u) for u in studies if u} | {v.meta["study"] for v in volumes.values()
                                                              if v.meta.get("study")}
    if len(chosen_studies) > 1:  # e.g. another patient's T2 beside this one's CE-T1
        warnings.append(f"the sequences come from {len(chosen_studies)} different studies (StudyInstanceUID): "
                        "check that CE-T1, T2 and T1 are the same patient's, from one session")
    elif len(dicom.group_by_study(series)) > 1:
        warnings.append(f"the folder holds {len(dicom.group_by_study(series))} studies; check the roles")
    study = sorted(studies)[0] if studies else str(root.resolve())
    return Patient(dicom.pseudonym(study), "dicom", volumes, roles, warnings=warnings, notes=notes,
                   series=[s.summary() for s in series])


__all__ = ["Patient", "load_patient", "InputError"]
