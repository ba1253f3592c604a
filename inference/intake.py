"""Intake stage of the pipeline: read a patient and bring T2/T1 onto the CE-T1 grid, with timings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inference.io import Patient, load_patient
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
        for result in self.registrations.values():
            out.extend(getattr(result, "warnings", []))
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
    """
    from inference.registration import coregister  # SimpleITK registration only when needed

    report = progress or (lambda stage, fraction: None)
    timings: dict[str, float] = {}
    report("load", 0.0)
    start = time.perf_counter()
    patient = load_patient(path, cet1=cet1, t2=t2, t1=t1)
    timings["load"] = time.perf_counter() - start
    if loaded is not None:
        loaded(patient)
    report("register", 0.0)
    start = time.perf_counter()
    volumes, registrations = coregister(patient.volumes, reference="cet1", mode=register)
    timings["register"] = time.perf_counter() - start
    report("register", 1.0)
    return PreparedPatient(patient, volumes, registrations, timings)
