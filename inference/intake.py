"""Intake stage of the pipeline: read a patient and bring T2/T1 onto the CE-T1 grid, with timings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inference.io import Patient, load_patient
from inference.roles import ROLE_LABELS
from inference.volume import Volume

Progress = Callable[[str, float], None]


@dataclass
class PreparedPatient:
    """A patient with all three sequences on the CE-T1 grid."""

    patient: Patient
    volumes: dict[str, Volume]
    registrations: dict[str, object]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        out = list(self.patient.warnings)
        for role, result in self.registrations.items():  # which sequence each concerns
            out.extend(f"{ROLE_LABELS.get(role, role)} registration: {w}" for w in getattr(result, "warnings", []))
        return out

    def report(self) -> dict:
        """JSON-ready description for ``otscc inspect`` (no patient identifiers)."""
        described = self.patient.describe()
        return {
            **described,
            "reference_grid": self.volumes["cet1"].geometry.to_dict(),
            "registration": {role: r.to_dict() for role, r in self.registrations.items()},
            "warnings": self.warnings,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }


def prepare_patient(
    path: str | Path,
    *,
    cet1: str | Path | None = None,
    t2: str | Path | None = None,
    t1: str | Path | None = None,
    register: str = "auto",
    progress: Progress | None = None,
    loaded: Callable[[Patient], None] | None = None,
    load_mask: bool | str = True,
    cancelled: Callable[[], bool] | None = None,
) -> PreparedPatient:
    """Load a patient and co-register T2/T1 to CE-T1.

    Args:
        path: patient folder (see ``inference.io.load_patient``).
        cet1, t2, t1: explicit sequence choices (always win).
        register: ``"auto"`` (skip when grids coincide), ``"always"`` or ``"never"`` (resample only).
        progress: optional callback ``(stage, fraction)``.
        loaded: optional check called with the loaded patient before registration (the slow part): a command
            refuses there what it would refuse only after all the work otherwise (e.g. results it must not
            replace), by raising.
        load_mask: as ``load_patient``; the runtime (predict, the GUI, inspect) passes ``"if usable"``.
        cancelled: optional check polled before registration and at every registration iteration (the GUI's
            Cancel took effect only when every sequence was registered, 5 s and more each).

    Raises:
        CancelledError: ``cancelled()`` said yes.
    """
    from inference.registration import coregister  # SimpleITK registration only when needed

    report = progress or (lambda stage, fraction: None)
    timings: dict[str, float] = {}
    report("load", 0.0)
    start = time.perf_counter()
    patient = load_patient(path, cet1=cet1, t2=t2, t1=t1, load_mask=load_mask)
    timings["load"] = time.perf_counter() - start
    check_distinct(patient)
    check_extent(patient)
    if loaded is not None:
        loaded(patient)
    report("register", 0.0)
    start = time.perf_counter()
    # the optimizer's progress moves the bar (it stood at 0 for the 5-10 s of registration while Cancel waited)
    volumes, registrations = coregister(patient.volumes, reference="cet1", mode=register,
                                        progress=lambda fraction: report("register", fraction), cancelled=cancelled)
    timings["register"] = time.perf_counter() - start
    warn_partial_fields(patient, registrations)  # ~0.1 s, not registration's
    report("register", 1.0)
    return PreparedPatient(patient, volumes, registrations, timings)


#: below this share of the CE-T1 head region inside a sequence's field of view, the result says so (T2/T1 often
#: cover fewer slices than CE-T1: the bundled sample's T1 covers 73 %; whether they cover the tumor is checked after
#: segmentation, ``tumor_coverage_warnings``)
COVERAGE_WARNING = 0.5
#: below this, a sequence is refused (registration refuses the same overlap at its start)
NO_OVERLAP = 0.05
#: below this share of the tumor inside a sequence's field of view, the result says so
TUMOR_COVERAGE_WARNING = 0.99


def check_distinct(patient: Patient) -> None:
    """Refuse one image in two roles: the same file or series chosen twice, or identical voxels under two names (a
    pre-contrast T1 copied as the CE-T1 gave a confident 2.7 % risk without a word).

    Raises:
        InputError: which roles, and what to check.
    """
    import numpy as np

    from inference.errors import InputError

    roles = list(patient.roles)
    for i, a in enumerate(roles):
        for b in roles[i + 1:]:
            same_source = patient.roles[a].key == patient.roles[b].key
            va, vb = patient.volumes[a].array, patient.volumes[b].array
            if same_source or (va.shape == vb.shape and np.array_equal(va, vb)):
                what = f"the same series ({patient.roles[a].label})" if same_source else \
                    f"identical images ({patient.roles[a].label} and {patient.roles[b].label})"
                # the options named are predict's and inspect's (the GUI and training get the problem alone)
                raise InputError(
                    f"{ROLE_LABELS.get(a, a)} and {ROLE_LABELS.get(b, b)} are {what}: each sequence must be its own "
                    "acquisition; check the files.",
                    cli_hint=f"Or choose the right one with --{a} or --{b} (a path, a SeriesInstanceUID or a series "
                             "number).",
                    batch_hint="In a batch, keep one image per sequence in the patient folder, or run the patient "
                               "alone and choose its series with --cet1, --t2 and --t1.")


#: the fewest CE-T1 slices accepted: a 3D tumor mask and its radiomics need a volume (with 2, pyradiomics failed
#: after the whole computation, with a different internal message on each run)
MIN_SLICES = 3


def check_extent(patient: Patient) -> None:
    """Refuse a CE-T1 too thin to segment and describe in 3D.

    Raises:
        InputError: its size, and the minimum.
    """
    from inference.errors import InputError

    size = patient.volumes["cet1"].geometry.size
    if min(size) < MIN_SLICES:
        raise InputError(f"CE-T1 ({patient.roles['cet1'].label}) is {'x'.join(map(str, size))} voxels: at least "
                         f"{MIN_SLICES} slices are needed; choose the whole series")


def _coverages(patient: Patient, registrations: dict, **region):
    """(role, share of a CE-T1 region inside that sequence's field of view) for T2/T1; a sequence on the CE-T1
    grid is skipped (all of it). ``region``: ``field_coverage``'s (the head region by default)."""
    from inference.registration import RegistrationSettings
    from inference.registration_prep import field_coverage

    fixed = patient.volumes["cet1"]
    for role, result in registrations.items():
        moving = patient.volumes[role].geometry
        if result.skipped and moving.same_space(fixed.geometry):
            continue
        yield role, field_coverage(fixed, moving, None if result.skipped else result.transform,
                                   RegistrationSettings(), **region)


def warn_partial_fields(patient: Patient, registrations: dict) -> None:
    """Add a warning, naming the sequence, when T2 or T1 covers less than ``COVERAGE_WARNING`` of the CE-T1 head
    region: the model sees zeros where it has no voxels (a T2 covering 6 of 20 slices gave 5.6 % without a word)."""
    from inference.errors import InputError

    for role, coverage in _coverages(patient, registrations):
        if coverage < NO_OVERLAP:  # as registration refuses it; without one the model got an empty sequence
            raise InputError(f"{ROLE_LABELS.get(role, role)} lies outside the CE-T1 field of view (it covers "
                             f"{coverage:.0%} of the CE-T1 head region): the sequences do not overlap in scanner "
                             "coordinates; check that they belong to the same study")
        if coverage < COVERAGE_WARNING:
            patient.warnings.append(
                f"{ROLE_LABELS.get(role, role)} covers only {coverage:.0%} of the CE-T1 head region (the rest is "
                "filled with zeros for the model): check that the tumor lies inside its field of view, or choose "
                "another series; the mask and the risk may be wrong")


def tumor_coverage_warnings(prepared: PreparedPatient, mask: Volume) -> list[str]:
    """A warning for each of T2/T1 whose field of view misses part of the tumor ``mask`` (CE-T1 grid): there the
    model and the radiomics saw zeros instead of that sequence."""
    return [f"{ROLE_LABELS.get(role, role)} covers only {coverage:.0%} of the tumor found: outside its field of view "
            "the model and the radiomics saw zeros for it; the mask and the risk may be wrong"
            for role, coverage in _coverages(prepared.patient, prepared.registrations, region=mask.array > 0)
            if coverage < TUMOR_COVERAGE_WARNING]
