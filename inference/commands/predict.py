"""``otscc predict PATIENT --out DIR``: mask, nodal-metastasis risk and a PDF report, offline.

PATIENT is one patient folder, or a folder of patient folders (a batch: detected when a sub-folder holds
sequence files named cet1/t2/t1 or a clinical.json, or forced with ``--batch``). In a batch one bad patient
is reported in the summary and skipped; the rest still run.

Every run, failed ones included, is appended to an audit log (default ``OUT/audit.jsonl``; see
``inference.audit`` and docs/privacy.md): hashes, versions and a keyed patient pseudonym, nothing else.
Outputs name a patient by ``patient_id``: the folder name for image files, a pseudonym for DICOM.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import time
from pathlib import Path

from inference.assets import DEFAULT_NOMOGRAM, DEFAULT_SEG_MODEL
from inference.atomic import atomic_path
from inference.commands import THREADS_HELP, thread_count
from inference.commands.inspect import add_sequence_arguments
from inference.errors import InputError, OtsccError
from inference.memory import release_memory
from inference.nomogram import format_risk, risk_group_boundaries, risk_groups_text
from inference.report import inputs_text
from inference.wording import plural

log = logging.getLogger(__name__)

#: summary.csv's columns; those after "error" were added later, at the end (scripts reading by position keep working):
#: on 2026-11-30 the other clinical values used and the result's warnings joined by " | ", then the risk in percent
#: as the terminal prints it ("probability" is the fraction). Yes/no are written "yes"/"no" (the --json rows keep
#: true/false).
SUMMARY_COLUMNS = ("patient_id", "folder", "status", "probability", "risk_group", "borderline", "tumor_volume_ml",
                   "doi_mm", "doi_mm_estimated", "backend", "seconds", "error", "age", "sex", "ct_stage", "cn_status",
                   "warnings", "risk_percent")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("patient", metavar="PATIENT", help="patient folder (NIfTI/NRRD/MHA files or DICOM), or a folder of them")
    a("--out", required=True, help="output folder; results go to OUT/<patient_id>/ (never inside PATIENT)")
    add_sequence_arguments(parser)
    g = parser.add_argument_group("clinical values (override clinical.json in the patient folder and --clinical)")
    g.add_argument("--age", type=float, help="age in years")
    g.add_argument("--sex", type=_clinical("sex"), metavar="M|F", help="sex (M, F; male, female)")
    g.add_argument("--ct-stage", type=_clinical("ct_stage"), metavar="T1|T2|T3",
                   help="clinical T stage (T1-T3; cT2 or 2 also read)")
    g.add_argument("--cn-status", type=_clinical("cn_status"), metavar="0|1",
                   help="MRI node status: 0 = cN0, 1 = cN+ (cN0/cN+ also read)")
    g.add_argument("--doi-mm", help="depth of invasion in mm, or 'auto' for the estimate from the mask "
                                    "(labelled ESTIMATED in the result and report)")
    g.add_argument("--clinical", metavar="FILE.csv",
                   help="CSV with a patient_id column and age,sex,ct_stage,cn_status,doi_mm (default: none)")
    a("--backend", default="auto", help="segmentation backend, or auto for the fastest that works here "
                                        "(default: auto)")
    a("--threads", type=thread_count, default=None, help=f"CPU threads for the backend, 1 or more; {THREADS_HELP} "
                                                          "(default: the backend's choice)")
    a("--model", default=str(DEFAULT_SEG_MODEL), help="segmentation model folder (default: the shipped one)")
    a("--nomogram", default=str(DEFAULT_NOMOGRAM), help="nomogram JSON (default: the shipped one)")
    a("--register", choices=("auto", "always", "never"), default="auto",
      help="co-registration of T2/T1 to CE-T1 (default: auto, skipped when the grids coincide)")
    a("--batch", action="store_true", help="treat PATIENT as a folder of patients (default: detected)")
    a("--no-report", action="store_true", help="skip report.pdf (default: write it)")
    a("--overwrite", action="store_true",
      help="replace results in --out that were computed from other images (another patient whose folder has the "
           "same name); results of the same images are always replaced (default: refuse)")
    a("--json", action="store_true", help="print result.json (one patient) or the summary rows (batch) as JSON")
    a("--audit-log", metavar="FILE", help="append-only audit log to add this run to (default: OUT/audit.jsonl; "
                                          "never inside PATIENT); its pseudonym key stays in the user data folder")


def _clinical(key: str):
    """argparse type: a clinical value in any spelling ``canonical_value`` reads (as clinical.json and CSVs)."""
    def parse(text: str):
        from inference.nomogram import ClinicalValueError, canonical_value

        try:
            return canonical_value(key, text)
        except ClinicalValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = key  # argparse names the type in its messages
    return parse


def _cli_clinical(args: argparse.Namespace) -> dict:
    values = {"age": args.age, "sex": args.sex, "ct_stage": args.ct_stage, "cn_status": args.cn_status,
              "doi_mm": args.doi_mm}
    if values["doi_mm"] is not None and values["doi_mm"].lower() != "auto":
        try:
            values["doi_mm"] = float(values["doi_mm"])
        except ValueError as exc:
            raise InputError(f"--doi-mm must be a number of millimetres or 'auto', got {args.doi_mm!r}") from exc
    return {k: v for k, v in values.items() if v is not None}


def _is_patient_dir(folder: Path) -> bool:
    """A clinical.json, or an image file named by sequence (any alias the loader reads: t1ce, T2w, ...)."""
    from inference.imagefile import image_suffix, strip_suffix
    from inference.roles import ROLES, role_from_name

    if (folder / "clinical.json").is_file():
        return True
    return any(f.is_file() and image_suffix(f) and role_from_name(strip_suffix(f)) in ROLES for f in folder.iterdir())


def holds_images(folder: Path, limit: int = 500) -> bool:
    """Whether ``folder`` (or a folder in it) holds an image file or a DICOM file, looking at ``limit`` files at
    most: a skipped folder that does may be a patient the user expected to run. Walked as the DICOM reader walks a
    patient folder (``folders.walk_files``: into linked folders too)."""
    from inference.folders import walk_files
    from inference.imagefile import image_suffix

    seen = 0
    for path in walk_files(folder):
        if path.name.startswith("._") or "__MACOSX" in path.parts:  # macOS archive metadata, not images
            continue
        try:
            if not path.is_file():
                continue
            seen += 1
            if seen > limit:
                return False
            if image_suffix(path) or path.suffix.lower() == ".dcm":
                return True
            with open(path, "rb") as fh:
                if fh.read(132)[128:] == b"DICM":
                    return True
        except OSError:  # a folder that can be listed but not entered, an unreadable file
            continue
    return False


def not_patients(root: Path, patients: list[Path]) -> list[Path]:
    """The sub-folders of a detected batch that are not taken as patients (said, never passed over in silence)."""
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name != "__MACOSX" and p not in patients)


def find_patients(root: Path, force_batch: bool) -> list[Path] | None:
    """Patient sub-folders when ``root`` is a batch, else None."""
    if not root.is_dir() or (not force_batch and _is_patient_dir(root)):
        return None
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    patients = [p for p in subdirs if _is_patient_dir(p)]
    if force_batch:
        return subdirs
    return patients or None


class _Progress:
    """One-line stage progress on stderr (quiet with --json, and when stderr is a file or pipe: a log would keep
    every redrawn line)."""

    def __init__(self, enabled: bool, prefix: str = "") -> None:
        self.enabled, self.prefix, self.last = enabled and sys.stderr.isatty(), prefix, None

    def __call__(self, stage: str, fraction: float) -> None:
        if self.enabled and (stage, round(fraction, 1)) != self.last:
            self.last = (stage, round(fraction, 1))
            print(f"\r{self.prefix}{stage:<10} {fraction:4.0%}   ", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)


def _open_audit(args, root: Path):
    """The audit log: ``--audit-log`` or OUT/audit.jsonl, refused inside the patient folder."""
    from inference.audit import AuditLog
    from inference.pipeline import check_output_dir

    path = Path(args.audit_log) if args.audit_log else Path(args.out) / "audit.jsonl"
    check_output_dir(path.parent, [root])
    audit = AuditLog(path)
    audit.pseudonym("")  # loads (or creates) the pseudonym key now: an unusable one fails before any work
    return audit


def _predict_one(pipeline, folder: Path, args, progress, audit, written: dict[str, str] | None = None,
                 seen=None) -> tuple:
    """Predict, write and audit one patient; a failure is audited (error type only) and re-raised.

    ``written``: patient id -> folder of the patients a batch has written so far; a second folder with the same
    id (the same DICOM study copied twice, say) would overwrite the first one's results, so it fails instead. ``seen``:
    ``SeenImages``; an image identical to an earlier patient's (or OUT's results') gets a warning."""
    from inference.audit import audit_entry, failure_entry
    from inference.nomogram import ClinicalValueError
    from inference.outputs import check_output_dir, check_replaceable
    from inference.pipeline import check_clinical, load_clinical, volume_sha256

    # Before loading, the folder name stands in for the patient id (pseudonymized by the log); after loading, the id,
    patient_key = folder.resolve().name  # so a patient's failed and successful runs share one pseudonym
    clinical: dict = {}
    csv_notes: list[str] = []  # --clinical has no row for this patient: a warning in its results
    repeats: list[str] = []  # an image identical to one of an earlier patient of the batch

    def refuse_early(patient) -> None:
        """What the later stages would refuse, checked before registration, segmentation and radiomics: clinical
        values, and where ``Pipeline.write`` would not write."""
        nonlocal patient_key, clinical
        patient_key = patient.patient_id
        cet1_sha256 = volume_sha256(patient.volumes["cet1"])  # hashed once: the copy check and the replace check
        repeats[:] = seen.repeats(folder, patient.volumes, patient_key, cet1_sha256) if seen is not None else []
        if written is not None and patient_key in written:
            raise InputError(f"{folder.name}: patient id {patient_key} was already written from folder "
                             f"{written[patient_key]!r} in this batch (the same patient or DICOM study twice?); "
                             "its results were not overwritten")
        clinical = {**load_clinical(folder, args.clinical, patient_key, notes=csv_notes), **_cli_clinical(args)}
        try:
            check_clinical(clinical)
        except ClinicalValueError as exc:
            if not csv_notes:
                raise
            raise type(exc)(f"{csv_notes[0]}; {exc}") from exc  # say first that the CSV did not name this patient
        target = Path(args.out) / patient_key
        check_output_dir(target, [folder], what=f"the results for {patient_key}")
        if not args.overwrite:
            check_replaceable(target, cet1_sha256=cet1_sha256, edited=False)

    try:
        prepared = pipeline.prepare(folder, cet1=args.cet1, t2=args.t2, t1=args.t1, register=args.register,
                                    progress=progress, loaded=refuse_early)
        prediction = pipeline.predict(prepared, clinical, progress=progress)
        prediction.warnings[:0] = repeats + csv_notes
        paths = pipeline.write(prediction, args.out, report=not args.no_report, inputs=[folder],
                               replace_other=args.overwrite)
    except OtsccError as exc:
        try:
            audit.append(failure_entry("predict", patient_key, exc, pipeline=pipeline))
        except OtsccError as audit_exc:  # the same full disk, typically: the first error is the one to report
            log.info("this failure could not be audited either: %s", audit_exc)
        raise
    audit.append(audit_entry("predict", prediction, model_dir=pipeline.model_dir, outputs=paths))
    return prediction, paths


def _borderline_text(r: dict) -> str:
    """'20% low/intermediate' for a borderline result (result.json "borderline"), else ''."""
    near = r.get("borderline")
    return f"{near['boundary']:.0%} {'/'.join(near['groups'])}" if near else ""


def _risk_text(r: dict) -> str:
    """'26.3%', with more digits where one decimal would round onto a risk-group cut-off the risk lies below."""
    return format_risk(r["probability"], risk_group_boundaries(r.get("risk_groups") or []))


def _clinical_text(r: dict) -> str:
    """'age 68, sex M, cT2, cN0, DOI 7.8 mm (given)': the clinical values the nomogram used."""
    c = r["clinical"]
    doi = "ESTIMATED from the mask" if r["doi_mm_estimated"] else "given"
    return (f"age {c.get('age', '?'):g}, sex {c.get('sex', '?')}, c{c.get('ct_stage', '?')}, "
            f"cN{'+' if c.get('cn_status') == 1 else '0' if c.get('cn_status') == 0 else '?'}, "
            f"DOI {c.get('doi_mm', '?')} mm ({doi})")


def backend_line(b: dict) -> str:
    """What ran, and how many candidates ``auto`` tried first: "higher-priority", not "faster", since they were never
    timed here (GPU/NPU/TensorRT rows on a machine without them)."""
    notes = b.get("notes", [])
    return (f"{b.get('backend')} {b.get('variant', b.get('model_file', ''))}"
            + (f" ({plural(len(notes), 'higher-priority candidate')} unavailable here; reasons in result.json "
               "backend.notes)" if notes else ""))


def _print_result(prediction, paths: dict, seconds: float, audit_path: Path) -> None:
    r = prediction.to_json()
    print(f"Patient {r['patient_id']}: ", end="")
    if r["status"] == "ok":
        print(f"risk of cervical lymph-node metastasis {_risk_text(r)} ({r['risk_group']} risk"
              + (f"; BORDERLINE: near the {_borderline_text(r)} boundary)" if r["borderline"] else ")"))
        print(f"  risk groups: {risk_groups_text(r['risk_groups'])}")
    else:
        print("NO TUMOR found by the model; no risk is reported")
    for w in r["warnings"]:  # under the risk: they say why it may be wrong
        print(f"  warning: {w}")
    t = r["tumor"]
    print(f"  tumor {t['volume_ml']:.2f} ml, largest diameter {t['largest_diameter_mm']:.1f} mm")
    print(f"  clinical values used: {_clinical_text(r)}")
    print(f"  inputs: {inputs_text(r)}")
    if prediction.prepared.patient.source_kind == "dicom":  # the series chosen for each sequence, and why
        for role, seq in r["sequences"].items():
            print(f"  {role:<5} {seq['source']}: {seq['reason']}")
    for note in prediction.prepared.patient.notes:  # terminal only: they may name the folder's other files
        print(f"  note: {note}")
    print(f"  backend: {backend_line(r['backend'])}")
    print("  stage timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["timings_s"].items())
          + f"; total {seconds:.2f} s")
    for name, path in paths.items():
        print(f"  {name:<7} {path}")
    print(f"  audit   {audit_path}")
    print("  (models trained on SYNTHETIC data: not a clinical prediction)")


def run(args: argparse.Namespace) -> int:
    from inference.batch_inputs import SeenImages
    from inference.pipeline import Pipeline, check_output_dir, check_writable_dir

    root = Path(args.patient)
    if not root.exists():
        raise InputError(f"{root}: no such patient folder")
    patients = find_patients(root, args.batch)
    if patients is not None and any((args.cet1, args.t2, args.t1)):
        raise InputError("--cet1/--t2/--t1 name one patient's series; they cannot be used with a batch")
    if patients == []:
        raise InputError(f"{root}: --batch found no patient folders in it (a batch is a folder of patient folders; "
                         "for one patient, leave out --batch)")
    if not str(args.out).strip():
        raise InputError("--out is empty; name the output folder (results go to OUT/<patient_id>/)")
    _refuse_output_name_clashes(patients if patients is not None else [root], args, batch=patients is not None)
    check_output_dir(args.out, [root])
    check_writable_dir(args.out)  # a read-only or mistyped --out fails now, not after every patient's work
    audit = _open_audit(args, root)
    pipeline = Pipeline(model_dir=args.model, nomogram=args.nomogram, backend=args.backend, threads=args.threads)
    if patients is None:
        start, progress, seen = time.perf_counter(), _Progress(not args.json), SeenImages(args.out, within_run=False)
        try:
            prediction, paths = _predict_one(pipeline, root, args, progress, audit, seen=seen)
        finally:
            progress.done()  # an error message then starts on a clean line
        if args.json:
            json.dump(prediction.to_json(), sys.stdout, indent=2)
            print()
        else:
            _print_result(prediction, paths, time.perf_counter() - start, audit.path)
        return 0
    from inference.folders import other_patients

    skipped = [] if args.batch else not_patients(root, patients)
    with other_patients(patients):  # a link in one patient's folder to another's is not its series
        return _run_batch(pipeline, patients, args, audit, skipped)


def _refuse_output_name_clashes(patients: list[Path], args: argparse.Namespace, *, batch: bool) -> None:
    """Refuse, before any work, a patient folder whose results (``OUT/<folder name>``, the id of a patient of named
    image files) would land on a file the run writes in OUT: ``summary.csv`` of a batch, the audit log.

    A folder named ``summary.csv`` took OUT/summary.csv as its results folder and the batch's summary could not be
    written; one named ``audit.jsonl`` failed against the audit log. Compared case-insensitively (macOS, Windows).

    Raises:
        InputError: naming the folder(s), the file each would collide with, and what to do.
    """
    out = Path(args.out)
    owned = {"summary.csv": "the batch summary"} if batch else {}
    audit = Path(args.audit_log) if args.audit_log else out / "audit.jsonl"
    if os.path.abspath(audit.parent) == os.path.abspath(out):
        owned.update({audit.name: "the audit log", f"{audit.name}.head": "the audit log's head"})
    owned = {name.casefold(): what for name, what in owned.items()}
    clashes = sorted({(name, owned[name.casefold()]) for folder in patients
                      for name in (folder.name, folder.resolve().name) if name.casefold() in owned})
    if clashes:
        said = "; ".join(f"'{name}' would write its results to {out / name}, where {what} is written"
                         for name, what in clashes)
        raise InputError(f"patient folder name(s) collide with the run's own output files: {said}. Rename the "
                         "patient folder(s) (or write the audit log elsewhere with --audit-log); nothing was run.")


SKIPPED_REASON = ("not taken as a patient: no image file named by sequence (cet1/t2/t1 or an alias) and no "
                  "clinical.json; a DICOM patient needs a clinical.json in its folder, or run with --batch")


def batch_outcome(r: dict) -> str:
    """A batch patient's line after its folder name: "26.3% high BORDERLINE (2 warnings: see its result.json)"."""
    outcome = (f"{_risk_text(r)} {r['risk_group']}" + (" BORDERLINE" if r["borderline"] else "")
               if r["status"] == "ok" else r["status"])
    return outcome + (f" ({plural(len(r['warnings']), 'warning')}: see its result.json)" if r["warnings"] else "")


def batch_summary(patients: int, failed: int, skipped: int, with_images: int) -> str:
    """The batch's closing count: "3 of 4 patients done, 1 failed, 2 folders skipped (1 holding images: exit code 1)".

    Args:
        patients: the patient folders run.
        failed: those of them that failed.
        skipped: the folders not taken as patients.
        with_images: those of them that hold image files.
    """
    return (f"{patients - failed} of {plural(patients, 'patient')} done, {failed} failed"
            + (f", {plural(skipped, 'folder')} skipped" if skipped else "")
            + (f" ({with_images} holding images: exit code 1)" if with_images else ""))


def _batch_patient(pipeline, folder: Path, args, progress, audit, written: dict[str, str],
                   seen) -> tuple[dict, str, list[str]]:
    """One patient of a batch: its summary row, its line's outcome, its intake notes. A failure is the row's
    ``error`` (in batch words: no --t2 PATH advice), never the batch's end."""
    row = {**dict.fromkeys(SUMMARY_COLUMNS, ""), "folder": folder.name}
    try:
        prediction, _ = _predict_one(pipeline, folder, args, progress, audit, written, seen)
    except OtsccError as exc:
        row.update(status="error", error=exc.in_batch())
        return row, "error", []
    r = prediction.to_json()
    written[r["patient_id"]] = folder.name
    row.update(patient_id=r["patient_id"], status=r["status"],
               probability="" if r["probability"] is None else r["probability"],
               risk_percent="" if r["probability"] is None else _risk_text(r).rstrip("%"),
               risk_group=r["risk_group"] or "", borderline=_borderline_text(r),
               tumor_volume_ml=r["tumor"]["volume_ml"], doi_mm=r["clinical"].get("doi_mm"),
               doi_mm_estimated=r["doi_mm_estimated"],
               backend=r["backend"].get("backend"), warnings=" | ".join(r["warnings"]),
               **{k: r["clinical"].get(k, "") for k in ("age", "sex", "ct_stage", "cn_status")})
    # files ignored, links not followed: as for one patient
    return row, batch_outcome(r), list(prediction.prepared.patient.notes)


def _run_batch(pipeline, patients: list[Path], args, audit, skipped: list[Path] = ()) -> int:
    from inference.batch_inputs import SeenImages

    rows, failed, summary_error, written, seen = [], 0, None, {}, SeenImages(Path(args.out))
    summary = Path(args.out) / "summary.csv"
    given = [f"--{k.replace('_', '-')}" for k in _cli_clinical(args)]
    if given:  # easily meant for one patient: every patient of the batch gets them
        print(f"warning: {', '.join(given)} given on the command line apply to EVERY patient of this batch, over "
              "their clinical.json and --clinical rows", file=sys.stderr, flush=True)
    with_images = 0  # skipped folders that hold images: maybe a patient the user expected to run (exit code 1)
    for folder in skipped:  # listed first, in the summary too: a patient must not vanish from a batch unseen
        images = holds_images(folder)
        with_images += images
        reason = SKIPPED_REASON + ("; it holds image files" if images else "")
        rows.append({**dict.fromkeys(SUMMARY_COLUMNS, ""), "folder": folder.name, "status": "skipped",
                     "error": reason})
        if not args.json:
            print(f"skipped: {folder.name}: {reason}", file=sys.stderr, flush=True)
    i, folder, progress = 0, None, None
    try:
        for i, folder in enumerate(patients, 1):
            start = time.perf_counter()
            progress = _Progress(not args.json, prefix=f"[{i}/{len(patients)}] {folder.name}: ")
            row, outcome, notes = _batch_patient(pipeline, folder, args, progress, audit, written, seen)
            failed += row["status"] == "error"  # a prediction's own status is "ok" or "no_tumor"
            row["seconds"] = round(time.perf_counter() - start, 2)
            progress.done()
            release_memory()  # give this patient's arrays (volumes, mask, features), freed on return, to the OS
            rows.append(row)
            if not args.json:
                print(f"[{i}/{len(patients)}] {folder.name}: {outcome}"
                      + (f" - {row['error']}" if row["error"] else ""), file=sys.stderr, flush=True)
                for warning in seen.warned.get(folder.name, []):  # in its result.json too; said here: a copy misleads
                    print(f"  warning: {warning}", file=sys.stderr, flush=True)
                for note in notes:  # terminal only, as for one patient: they may name the folder's other files
                    print(f"  note: {note}", file=sys.stderr, flush=True)
            try:
                _write_summary(summary, rows)  # after every patient: an interrupted batch keeps what it did
            except OtsccError as exc:  # a full/read-only disk: keep going, every patient still gets its line
                if summary_error is None:
                    print(f"warning: {exc}", file=sys.stderr, flush=True)
                summary_error = exc
    except KeyboardInterrupt:  # Ctrl+C: say what the batch kept before the command's "interrupted" line
        if progress is not None:
            progress.done()  # the message starts on a clean line
        if not args.json and folder is not None:
            done = len(rows) - len(skipped)
            where = (f"after patient {i} of {len(patients)}" if done >= i else
                     f"during patient {i} of {len(patients)} ({folder.name}: not finished)")
            before = f"{done - failed} done, {failed} failed" if done else "no patient finished"
            print(f"stopped {where}; {before}" + (f"; summary: {summary}" if done and summary_error is None else "")
                  + f"; audit log: {audit.path}", file=sys.stderr, flush=True)
        raise
    if summary_error is not None:
        print(f"summary.csv could not be written ({summary_error}); the per-patient lines above are the record",
              file=sys.stderr)
    if args.json:  # null where the CSV has an empty cell, as in result.json
        json.dump([json_row(row) for row in rows], sys.stdout, indent=2)
        print()
    else:
        where = f"summary: {summary}" if summary_error is None else "summary.csv NOT written"
        print(f"{batch_summary(len(rows) - len(skipped), failed, len(skipped), with_images)}; {where}; "
              f"audit log: {audit.path}")
        print("(models trained on SYNTHETIC data: not a clinical prediction)")
    return 1 if failed or with_images or summary_error is not None else 0


def json_row(row: dict) -> dict:
    """A summary row for ``--json``: null where the CSV has an empty cell, as in result.json, and ``risk_percent``
    a number like ``probability`` (the CSV's text "26.3" was a string there)."""
    out = {k: None if v == "" else v for k, v in row.items()}
    if out.get("risk_percent") is not None:
        out["risk_percent"] = float(out["risk_percent"])
    return out


def _write_summary(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # UTF-8 with a byte-order mark whatever the system's encoding: a non-Latin folder name failed to encode under
    # a C or cp1252 locale (a traceback mid-batch), and Excel reads a UTF-8 file without the mark as cp1252
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("yes" if v else "no") if isinstance(v, bool) else v for k, v in row.items()}
                         for row in rows)  # not Python's True/False
