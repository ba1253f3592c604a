"""Patient-level prediction: the single entry point the CLI and the GUI call.

intake (load) -> registration -> preprocessing -> segmentation -> radiomics -> nomogram, each stage timed
and reported through ``progress(stage, fraction)``. ``cancelled()`` is polled between stages and between
slices; a cancelled run raises ``CancelledError`` and writes nothing. Outputs are written by
``write_outputs`` (atomically, never inside the input folder).

The result's ``status`` is ``"ok"`` or ``"no_tumor"`` (the model found nothing: no features, no risk).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from inference import __version__
from inference.assets import DEFAULT_NOMOGRAM, DEFAULT_SEG_MODEL
from inference.backends.manifest import sha256_file as file_sha256  # noqa: F401 (re-exported: tests, callers)
from inference.errors import CancelledError
from inference.intake import PreparedPatient, prepare_patient
from inference.measure import TumorMeasures, measure_mask
from inference.nomogram import (
    CLINICAL,
    ClinicalValueError,
    Nomogram,
    NomogramResult,
    format_risk,
    risk_group_boundaries,
    round_risk,
)
from inference.outputs import (  # noqa: F401 (check_output_dir, check_writable_dir: re-exported for the commands)
    check_output_dir,
    check_replaceable,
    check_writable_dir,
)
from inference.plausibility import PLAUSIBLE_DIAMETER_MM, mask_warnings  # noqa: F401 (re-exported)
from inference.radiomics import FeatureSet, extract_patient, load_params
from inference.volume import Volume

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
Cancelled = Callable[[], bool]

#: what result.json says of each sequence's registration to CE-T1 (``otscc inspect --json`` has all of it)
REGISTRATION_KEYS = ("skipped", "reason", "translation_mm", "rotation_deg", "quality_initial", "quality_final")

#: stage names in order (the GUI shows one progress bar per stage)
STAGES = ("load", "register", "preprocess", "segment", "radiomics", "nomogram")
DISCLAIMER = ("Research software. The segmentation model and the nomogram were trained on SYNTHETIC phantoms, "
              "not on patients: the risk shown is not a clinical prediction.")


def load_clinical(patient_dir: str | Path, csv_file: str | Path | None = None,
                  patient_id: str | None = None, *, notes: list[str] | None = None) -> dict[str, Any]:
    """Clinical values for a patient: ``clinical.json`` in its folder, then a row of ``csv_file``.

    The CSV needs a ``patient_id`` column (matched to the folder name or pseudonym); a row overrides the
    JSON. Returns only the keys it found (missing values are reported when scoring, never defaulted).
    ``notes``, when given, gets a line when ``csv_file`` has no row for this patient.
    """
    values: dict[str, Any] = {}
    jfile = Path(patient_dir) / "clinical.json"
    if jfile.is_file():
        try:
            data = json.loads(jfile.read_text(encoding="utf-8-sig"))  # a byte-order mark, as CSVs may have
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ClinicalValueError(f"{jfile}: not readable JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ClinicalValueError(f"{jfile}: expected an object of clinical values")
        data = {str(k).strip().lower(): v for k, v in data.items()}  # "Age" is age
        values.update({k: data[k] for k in CLINICAL if data.get(k) not in (None, "")})
    if csv_file is not None:  # names compared in one Unicode form: macOS writes folder names decomposed
        ids = {unicodedata.normalize("NFC", i) for i in (Path(patient_dir).name, patient_id) if i is not None}
        rows = [(line, r) for line, r in read_clinical_csv(csv_file)
                if unicodedata.normalize("NFC", r["patient_id"].strip()) in ids]
        if len(rows) > 1:
            named = ", ".join(f"line {line} ({r['patient_id'].strip()!r})" for line, r in rows)
            raise ClinicalValueError(f"{csv_file}: {named} all match this patient ({' or '.join(sorted(ids))}); "
                                     "keep one row per patient")
        if rows:
            row = rows[0][1]
            values.update({k: row[k].strip() for k in CLINICAL if (row.get(k) or "").strip()})
        elif notes is not None:  # a typo in patient_id silently scored the patient with other values
            notes.append(f"--clinical {Path(csv_file).name} has no row whose patient_id is "
                         f"{' or '.join(repr(i) for i in sorted(ids))}: " + (
                             "the values of the patient's clinical.json (and any given on the command line) were used"
                             if jfile.is_file() else "no clinical value came from it"))
    return values


def read_clinical_csv(csv_file: str | Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a clinical CSV: a ``patient_id`` column and any of the clinical columns, separated by
    commas, semicolons (spreadsheets in many locales) or tabs.

    Raises:
        ClinicalValueError: unreadable, or without a ``patient_id`` column or any clinical column.
    """
    import csv

    try:
        raw = Path(csv_file).read_bytes()
    except OSError as exc:
        raise ClinicalValueError(f"{csv_file}: cannot read clinical CSV ({exc})") from exc
    try:
        text = raw.decode("utf-8-sig")  # -sig: Excel's byte-order mark
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # Excel on Windows saves "CSV" in the ANSI code page
    header = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=header.count)
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    columns = [c.strip() for c in reader.fieldnames or []]
    if "patient_id" not in columns:
        raise ClinicalValueError(f"{csv_file}: no patient_id column (first line: {header[:80]!r}); expected "
                                 f"patient_id and any of {', '.join(CLINICAL)}")
    if not set(columns) & set(CLINICAL):
        raise ClinicalValueError(f"{csv_file}: no clinical column ({', '.join(CLINICAL)}) beside patient_id")
    reader.fieldnames = columns
    rows = [(reader.line_num, {k: v or "" for k, v in row.items() if k is not None}) for row in reader]
    if delimiter == ";":  # a semicolon-separated export uses the decimal comma: 7,8 mm is 7.8
        for _, row in rows:
            for key in ("age", "doi_mm"):
                if key in row and row[key].count(",") == 1 and "." not in row[key]:
                    row[key] = row[key].replace(",", ".")
    return rows


@dataclass
class Prediction:
    """Everything one prediction produced (arrays stay in memory; ``to_json`` is result.json).

    Nothing here carries a DICOM identifier (docs/privacy.md): ``patient_id`` is the patient folder's name
    for image files (the user's own label) and ``anon-`` + a StudyInstanceUID hash for DICOM.
    """

    patient_id: str
    status: str  # "ok" | "no_tumor"
    prepared: PreparedPatient
    mask: Volume  # uint8 on the CE-T1 grid
    measures: TumorMeasures
    clinical: dict[str, Any]  # values used (doi_mm may be the estimate)
    doi_estimated: bool
    features: FeatureSet | None
    score: NomogramResult | None
    backend: dict[str, Any]
    provenance: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    edited: bool = False
    borderline: dict | None = None  # the risk-group boundary the risk lies near (Nomogram.borderline), else None

    def sequences(self) -> dict[str, dict[str, str]]:
        return _sequences(self.prepared.patient)

    def to_json(self) -> dict[str, Any]:
        s = self.score
        return {
            "status": self.status, "patient_id": self.patient_id,
            "probability": None if s is None else round_risk(
                s.probability, risk_group_boundaries(self.provenance.get("risk_groups", []))),
            "risk_group": None if s is None else s.risk_group,
            "borderline": self.borderline,
            "radscore": None if s is None else round(s.radscore, 4),
            "points": None if s is None else {k: round(v, 2) for k, v in s.points.items()},
            "total_points": None if s is None else round(s.total_points, 2),
            "clinical": self.clinical, "doi_mm_estimated": self.doi_estimated,
            "sequences": self.sequences(),
            "registration": {role: {k: v for k, v in r.to_dict().items() if k in REGISTRATION_KEYS}
                             for role, r in self.prepared.registrations.items()},
            "tumor": self.measures.to_dict(), "mask_edited": self.edited,
            "features_used": None if s is None else {
                f: self.features.features[f] for f in self.provenance["nomogram_features"]},
            "backend": self.backend, **self.provenance,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "warnings": self.warnings, "synthetic_training_data": True, "disclaimer": DISCLAIMER,
        }


def _sequences(patient) -> dict[str, dict[str, str]]:
    """Which input became each sequence, and why: ``{"cet1": {"source": "series #5 (20 images)", "reason": ...}}``.
    A DICOM series is named by number only (docs/privacy.md); anything given with --cet1/--t2/--t1 as a path is
    "given with --cet1", its reason without the typed name; an image file found by its role name keeps that name."""
    out = {}
    for role, d in patient.roles.items():
        if "chosen by the user" in d.reason:  # an override: its reason names the typed file or folder
            out[role] = {"source": d.label if d.label.startswith("series #") else f"given with --{role}",
                         "reason": "chosen by the user (override)"}
        elif patient.source_kind == "dicom" and not d.label.startswith("series #"):
            out[role] = {"source": f"given with --{role}", "reason": d.reason}
        else:
            out[role] = {"source": Path(d.label).name or d.label, "reason": d.reason}
    return out


def restated_warning(warning: str) -> bool:
    """Whether a result's ``warning`` is one the report and the GUI show elsewhere too (BORDERLINE beside the risk,
    an estimated DOI beside the clinical values): they list it last, or leave it out."""
    return warning.startswith("BORDERLINE:") or "is ESTIMATED from the mask" in warning


def borderline_warning(probability: float, near: dict) -> str:
    """The warning shown (CLI, GUI, report) for a risk near a group boundary."""
    below, above = near["groups"]
    risk = format_risk(probability, [near["boundary"]])
    return (f"BORDERLINE: the risk {risk} is within {near['margin'] * 100:g} percentage points of the "
            f"{near['boundary']:.0%} boundary between the {below} and {above} risk groups; model variants differ by "
            f"up to that much on the same patient, so either group is possible")


class Pipeline:
    """Models loaded once, reused for every patient.

    Args:
        model_dir: segmentation model folder (default: the shipped one).
        nomogram: nomogram JSON (default: ``assets/nomogram.json``).
        backend: backend name or ``"auto"`` (see ``inference.backends.select_backend``).
        threads: CPU threads for the runtime (default: the backend's choice).
    """

    def __init__(self, *, model_dir: str | Path = DEFAULT_SEG_MODEL, nomogram: str | Path = DEFAULT_NOMOGRAM,
                 backend: str = "auto", threads: int | None = None) -> None:
        from inference.backends import select_backend
        from inference.memory import tune_allocator

        tune_allocator()  # one Pipeline serves many patients: see inference/memory.py

        self.model_dir, self.nomogram_path = Path(model_dir), Path(nomogram)
        check_model_dir(self.model_dir, backend)
        self.nomogram = Nomogram.load(self.nomogram_path)
        start = time.perf_counter()
        self.backend, self.backend_notes = select_backend(backend, self.model_dir, threads=threads)
        self.backend_seconds = time.perf_counter() - start
        self.radiomics_params = load_params()
        self._hashes = {"nomogram_sha256": self.nomogram.sha256, "model_dir": self.model_dir.name,
                        "nomogram_integrity": self.nomogram.integrity,
                        "radiomics_params_integrity": getattr(self.radiomics_params, "integrity", "not checked")}

    # -- stages --------------------------------------------------------------------------------------
    def prepare(self, path: str | Path, *, cet1=None, t2=None, t1=None, register: str = "auto",
                progress: Progress | None = None, loaded=None, cancelled: Cancelled | None = None) -> PreparedPatient:
        """Load and co-register (stages ``load`` and ``register``); ``loaded``, ``cancelled`` as ``prepare_patient``."""
        return prepare_patient(path, cet1=cet1, t2=t2, t1=t1, register=register, progress=progress, loaded=loaded,
                               load_mask="if usable", cancelled=cancelled)  # prediction needs no reference mask

    def segment(self, prepared: PreparedPatient, *, progress: Progress | None = None,
                cancelled: Cancelled | None = None):
        """Stages ``preprocess`` and ``segment``; returns ``inference.segment.SegmentationResult``."""
        from inference.segment import segment

        report = progress or (lambda stage, fraction: None)
        report("preprocess", 0.0)

        started = []

        def on_slices(fraction: float) -> None:
            if not started:  # the first batch of slices ran: preprocessing is done
                started.append(True)
                report("preprocess", 1.0)
            report("segment", fraction)

        try:
            result = segment(prepared.volumes, self.backend, progress=on_slices, cancelled=cancelled)
        except InterruptedError as exc:
            raise CancelledError("segmentation cancelled") from exc
        report("segment", 1.0)
        return result

    def score(self, prepared: PreparedPatient, mask: Volume, clinical: dict[str, Any], *,
              progress: Progress | None = None, cancelled: Cancelled | None = None,
              timings: dict[str, float] | None = None, edited: bool = False,
              features: FeatureSet | None = None) -> Prediction:
        """Stages ``radiomics`` and ``nomogram`` for a mask (automatic or edited) and clinical values.

        ``features`` already extracted from this very mask are reused (a clinical change needs no radiomics).

        ``clinical["doi_mm"]`` may be ``"auto"``: the mask-based estimate is used and labelled as such.

        Raises:
            ClinicalValueError: a clinical value is missing or invalid (named in the message).
        """
        report = progress or (lambda stage, fraction: None)
        timings = dict(timings or {})
        measures = measure_mask(mask)
        clinical = dict(clinical)
        doi_estimated = str(clinical.get("doi_mm", "")).strip().lower() == "auto"
        if doi_estimated:
            clinical["doi_mm"] = round(measures.doi_estimate_mm, 1)
        from inference.nomogram import encode_clinical, normalize_clinical

        check_clinical(clinical)  # before the slow radiomics step
        clinical.update(normalize_clinical(clinical))  # canonical types
        result, status, near = None, "ok", None
        if features is not None and features.provenance.get("mask_sha256") != _array_sha256_raw(mask.array > 0):
            features = None  # extracted from another mask: extract again
        warnings = list(prepared.warnings) + mask_warnings(prepared, mask, measures)
        if measures.volume_ml == 0:
            status = "no_tumor"
            warnings.append("no tumor was found: no radiomics features and no risk are reported")
        else:
            if cancelled is not None and cancelled():
                raise CancelledError("cancelled before radiomics")
            report("radiomics", 0.0)
            if features is None:
                start = time.perf_counter()
                features = extract_patient(prepared.volumes, mask, self.radiomics_params, cancelled=cancelled)
                timings["radiomics"] = time.perf_counter() - start
            report("radiomics", 1.0)
            if cancelled is not None and cancelled():
                raise CancelledError("cancelled before the nomogram")
            report("nomogram", 0.0)
            start = time.perf_counter()
            result = self.nomogram.score(features.features, clinical)
            timings["nomogram"] = time.perf_counter() - start
            report("nomogram", 1.0)
            warnings += self.nomogram.outside_fitted_range({**encode_clinical(clinical), "radscore": result.radscore})
            near = self.nomogram.borderline(result.probability)
            if near is not None:
                warnings.append(borderline_warning(result.probability, near))
        if doi_estimated:
            warnings.append(f"depth of invasion {clinical['doi_mm']} mm is ESTIMATED from the mask, not measured")
        provenance = {
            "computed_at": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),  # local time, with offset
            "otscc_edge": __version__, **self._hashes,
            "nomogram_version": self.nomogram.data.get("created"),  # its only version field: when it was fitted
            "nomogram_kind": self.nomogram.data.get("kind"),
            "nomogram_mask_source": self.nomogram.data["mask_source"],
            "nomogram_features": list(self.nomogram.rad["features"]),
            "risk_groups": self.nomogram.data["risk_groups"],  # each group's upper edge ("below"): the cut-offs
            "input_sha256": {role: volume_sha256(v) for role, v in prepared.volumes.items()},
            "mask_sha256": volume_sha256(mask),  # of the voxels; outputs.mask.sha256 (Pipeline.write): of the file
            "radiomics": None if features is None else {
                k: features.provenance[k] for k in ("pyradiomics", "SimpleITK", "numpy")},
        }
        return Prediction(
            patient_id=prepared.patient.patient_id, status=status, prepared=prepared, mask=mask,
            measures=measures, clinical=clinical, doi_estimated=doi_estimated, features=features,
            score=result, backend=self.describe_backend(), provenance=provenance, timings=timings,
            warnings=warnings, edited=edited, borderline=near,
        )

    def predict(self, patient: str | Path | PreparedPatient, clinical: dict[str, Any] | None = None, *,
                progress: Progress | None = None, cancelled: Cancelled | None = None, **sequences) -> Prediction:
        """All stages for one patient. ``clinical`` defaults to the folder's clinical.json."""
        def check() -> None:
            if cancelled is not None and cancelled():
                raise CancelledError("cancelled")

        if isinstance(patient, PreparedPatient):
            prepared = patient
        else:
            prepared = self.prepare(patient, progress=progress, cancelled=cancelled, **sequences)
            if clinical is None:
                clinical = load_clinical(patient)
        check()
        timings = dict(prepared.timings)
        seg = self.segment(prepared, progress=progress, cancelled=cancelled)
        timings["preprocess"] = seg.seconds.get("preprocess", 0.0)
        timings["segment"] = seg.seconds.get("inference", 0.0) + seg.seconds.get("postprocess", 0.0)
        check()
        prediction = self.score(prepared, seg.mask, clinical or {}, progress=progress, cancelled=cancelled,
                                timings=timings)
        prediction.warnings.extend(seg.warnings)
        prediction.backend = {**prediction.backend, "slices": int(seg.plan.canonical_shape[0])}
        return prediction

    def rescore(self, prediction: Prediction, *, mask: Volume | None = None,
                clinical: dict[str, Any] | None = None, progress: Progress | None = None,
                automatic: Volume | None = None, cancelled: Cancelled | None = None) -> Prediction:
        """Re-run radiomics and the nomogram after a mask edit or a clinical change. ``edited``: whether ``mask``
        differs from the model's ``automatic`` mask (edits undone give False again); without ``automatic``, any
        new mask counts as edited and an edited prediction stays so. ``cancelled`` as in ``score``."""
        if mask is not None and automatic is not None:
            import numpy as np

            edited = not np.array_equal(mask.array > 0, automatic.array > 0)
        else:
            edited = prediction.edited or mask is not None
        timings = {k: v for k, v in prediction.timings.items() if k not in ("radiomics", "nomogram")}
        new = self.score(prediction.prepared, mask if mask is not None else prediction.mask,
                         clinical if clinical is not None else prediction.clinical, progress=progress,
                         cancelled=cancelled, timings=timings if mask is not None else prediction.timings,
                         edited=edited, features=prediction.features if mask is None else None)
        return replace(new, warnings=list(dict.fromkeys(new.warnings)))

    def write(self, prediction: Prediction, out_root: str | Path, *, report: bool = True,
              inputs: Sequence[str | Path] = (), replace_other: bool = False) -> dict[str, Path]:
        """Write ``out_root/<patient_id>/{mask.nii.gz, report.pdf, result.json}`` as one set.

        A set already there is replaced when it was computed from the same CE-T1 image (a re-run); one computed
        from another (another patient whose folder has the same name, another study) is refused with
        ``ExistingResultsError`` unless ``replace_other``.

        ``inputs``: the patient's folders; the set's folder must not be one of them or lie inside one. Checking
        ``out_root`` alone is not enough: with ``out_root`` the folder that *holds* the patient folder,
        ``out_root/<patient_id>`` is the patient folder itself, and its reference ``mask.nii.gz`` was replaced.

        Every file is first written under a temporary name in that folder and fsynced; only when all of them
        are complete are they renamed onto their names (mask, report, then result.json) and the folder
        fsynced. A failure while writing leaves the previous set exactly as it was and no temporary behind;
        a kill leaves the previous set too, plus temporaries that the next write to the folder removes.
        result.json comes last and names the SHA-256 of the mask and report it belongs to (``outputs``): the
        renames take microseconds, and a kill or a power cut between two of them is the one way to get a
        mixed set (new mask, old result.json), which those hashes reveal. The mask is written on the original
        CE-T1 grid (size, spacing, origin, direction), uint8 0/1, and read back (SimpleITK reports a full
        disk as success).

        Raises:
            OutputWriteError: disk full, read-only or write-protected folder (the message says which and what
                to do); previous outputs are unchanged.
            OutputError: any other failure to write (same guarantee).
        """
        import SimpleITK as sitk

        from inference.atomic import output_error, staged_files, write_image_verified
        from inference.errors import OutputError

        folder = Path(out_root) / prediction.patient_id
        if inputs:
            check_output_dir(folder, inputs, what=f"the results for {prediction.patient_id}")
        if not replace_other:
            check_replaceable(folder, prediction)
        names = {"mask": "mask.nii.gz", "report": "report.pdf", "result": "result.json"}
        try:
            with staged_files(folder) as stage:
                write_image_verified(sitk.Cast(prediction.mask.to_image(), sitk.sitkUInt8), stage.path(names["mask"]))
                if report:
                    from inference.report import write_report

                    start = time.perf_counter()
                    write_report(prediction, stage.path(names["report"]), nomogram=self.nomogram,
                                 model_dir=self.model_dir)
                    prediction.timings["report"] = time.perf_counter() - start
                else:  # a report of an earlier run would contradict this mask and result.json
                    stage.retire(names["report"])
                outputs = {k: stage.record(names[k]) for k in ("mask", "report") if names[k] in stage.staged}
                stage.path(names["result"]).write_text(json.dumps({**prediction.to_json(), "outputs": outputs},
                                                                  indent=2))
                committed = stage.commit()
        except OutputError:
            raise
        except OSError as exc:
            raise output_error(exc, folder) from exc
        return {k: committed[names[k]] for k in ("mask", "result", "report") if names[k] in committed}

    def describe_backend(self) -> dict[str, Any]:
        return {**self.backend.describe(), "notes": list(self.backend_notes)}


def check_model_dir(model_dir: str | Path, backend: str = "auto") -> None:
    """Refuse a model folder that does not exist or holds no model, in one line (``manifest.check_model_folder``).

    Raises:
        InputError: the path.
    """
    from inference.backends.manifest import check_model_folder

    check_model_folder(model_dir, backend)


def check_clinical(clinical: dict[str, Any]) -> None:
    """Refuse a missing or invalid clinical value (``doi_mm`` "auto", the mask estimate, counts as given): the
    commands call it as soon as a patient is loaded, ``Pipeline.score`` before radiomics.

    Raises:
        ClinicalValueError: which value, and where to give it.
    """
    from inference.nomogram import normalize_clinical

    given = dict(clinical)
    if str(given.get("doi_mm", "")).strip().lower() == "auto":
        given["doi_mm"] = 1.0  # stands in for the estimate, which needs the mask
    missing = [k for k in CLINICAL if given.get(k) in (None, "")]
    if missing:
        raise ClinicalValueError(
            f"missing clinical value(s): {', '.join(missing)}; give them on the command line "
            f"(--age/--sex/--ct-stage/--cn-status/--doi-mm, --doi-mm auto for the mask estimate), "
            f"in clinical.json in the patient folder, or with --clinical FILE.csv")
    normalize_clinical(given)


def volume_sha256(volume: Volume) -> str:
    """SHA-256 of a volume's voxel values (result.json "input_sha256" / "mask_sha256")."""
    return _array_sha256_raw(volume.array)


def _array_sha256_raw(array) -> str:
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
