"""``otscc export``: convert the trained model to the runtime formats, validate them, write the manifest.

Example (the shipped variants, validated on the training cohort's test split)::

    otscc export --model assets/models/seg --out assets/models/seg --cohort data/cohort136
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from inference.assets import DEFAULT_SEG_MODEL
from inference.commands import THREADS_HELP, nonnegative_int, positive_int, thread_count
from inference.errors import InputError
from inference.formats import FORMATS, get_format

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from export.context import ExportSettings
    from export.exporter import DEFAULT_FORMATS

    defaults = ExportSettings()
    parser.add_argument("--model", type=Path, default=DEFAULT_SEG_MODEL,
                        help="float model folder: config.json, best.weights.h5, split.json "
                             f"(default: {DEFAULT_SEG_MODEL})")
    parser.add_argument("--formats", default=None,
                        help="comma-separated formats, or 'all' (default: the shipped ones, "
                             f"{','.join(DEFAULT_FORMATS)}; all: {', '.join(f.name for f in FORMATS)})")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder (required; may be the model folder itself to ship the variants there)")
    parser.add_argument("--cohort", type=Path, default=None,
                        help="training cohort: int8 calibration slices from its training split, validation on its "
                             "test split (default: none; nothing is validated, and the int8 formats of the default "
                             "set or 'all' are skipped; naming one in --formats without --cohort is refused)")
    parser.add_argument("--validate-patients", type=nonnegative_int, default=None, metavar="N",
                        help="validate on the first N test-split patients (default: all; 0: no validation)")
    parser.add_argument("--threads", type=thread_count, default=None,
                        help=f"CPU threads for the runtimes during validation; {THREADS_HELP} (default: runtime "
                             "choice, max 4)")
    parser.add_argument("--calibration-patients", type=positive_int, default=defaults.calibration_patients,
                        help="training-split patients sampled for calibration and QAT (default: %(default)s)")
    parser.add_argument("--calibration-slices", type=positive_int, default=defaults.calibration_slices,
                        help="calibration slices, half with tumor (default: %(default)s)")
    parser.add_argument("--qat-steps", type=positive_int, default=defaults.qat_steps,
                        help="quantization-aware fine-tuning steps of batch 8 (default: %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="print the manifest's variant entries as JSON (default: a table)")


def parse_formats(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]  # TFLITE-FP32 is tflite-fp32
    if names == ["all"]:
        return [f.name for f in FORMATS]
    if "all" in names:
        raise InputError(f"--formats {text}: 'all' stands alone (it already includes every format)")
    valid = {f.name for f in FORMATS}
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise InputError(f"unknown format(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(sorted(valid))} or 'all'")
    return list(dict.fromkeys(names))


def check_calibration(formats: list[str], cohort: Path | None, named: bool) -> None:
    """Refuse formats the user named that need calibration data (``ModelFormat.needs_calibration``) when there is
    no ``--cohort`` to take it from, before any slow work: such a run built nothing asked for and exited 0, the
    format only "skipped". In the default set or ``all`` (``named`` False) they are skipped, as documented.

    Raises:
        InputError: the formats, and what to give.
    """
    if cohort is not None or not named:
        return
    uncalibrated = [name for name in formats if get_format(name).needs_calibration]
    if uncalibrated:
        them = "it" if len(uncalibrated) == 1 else "them"
        raise InputError(f"--formats {', '.join(uncalibrated)}: {'needs' if them == 'it' else 'need'} --cohort DIR "
                         "(the training cohort: int8 calibration uses slices of its training split); nothing was "
                         f"built. Give --cohort, or leave {them} out of --formats")


#: the table's columns: (title, right-aligned); each is as wide as its widest cell, so that a value wider than
#: usual ("100.0000%" in agree, a 10 GB size) shifts no column after it
COLUMNS = (("format", False), ("status", False), ("size", True), ("s", True), ("XNNPACK", False), ("dDice", True),
           ("agree", True), ("maskDice", True), ("shipped", False), ("note", False))


def format_table(report) -> str:
    rows = [[title for title, _ in COLUMNS]]
    for name, r in report.results.items():
        xnn = r.details.get("xnnpack")
        xnn_text = "-" if not xnn else f"{xnn['ops']} ops ok" if xnn["all_ops_delegated"] else "PARTIAL"
        v = r.validation or {}
        size = f"{r.bytes / 1e6:.2f}MB" if r.bytes else "-"
        rows.append([name, r.status, size, f"{r.seconds:.1f}", xnn_text, _fmt(v.get("dice_change"), "{:+.4f}"),
                     _fmt(v.get("agreement_min"), "{:.4%}"), _fmt(v.get("mask_dice_mean"), "{:.4f}"),
                     "yes" if r.shipped else "no", r.reason or ""])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]  # the note: as long as it is
    lines = []
    for row in rows:
        cells = [cell.rjust(width) if right else cell.ljust(width)
                 for cell, width, (_, right) in zip(row, widths, COLUMNS, strict=False)]
        lines.append(" ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _fmt(value, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def run(args: argparse.Namespace) -> int:
    from export.context import ExportSettings
    from export.exporter import DEFAULT_FORMATS, export_model

    # only an absent --formats means the default set: --formats "" is a mistake, refused like any unknown name
    formats = list(DEFAULT_FORMATS) if args.formats is None else parse_formats(args.formats)
    named = args.formats is not None and args.formats.replace(",", " ").strip().lower() != "all"
    check_calibration(formats, args.cohort, named=named)
    settings = ExportSettings(calibration_patients=args.calibration_patients,
                              calibration_slices=args.calibration_slices, qat_steps=args.qat_steps,
                              threads=args.threads)
    quiet = args.json
    logging.getLogger("export").setLevel(logging.INFO if getattr(args, "debug", False) else logging.WARNING)
    report = export_model(args.model, args.out, formats, cohort=args.cohort,
                          validate_patients=args.validate_patients, settings=settings,
                          progress=None if quiet else lambda line: print(line, flush=True))
    warning = (report.reference_validation or {}).get("warning")
    if args.json:
        if report.manifest_path is not None:
            print(json.dumps(json.loads(report.manifest_path.read_text())["variants"], indent=2))
        else:  # nothing was built into a new folder: no manifest, the entries as it would have had them
            print(json.dumps({name: {"format": name, "status": r.status, "reason": r.reason, "shipped": False}
                              for name, r in report.results.items()}, indent=2))
        if warning:  # stdout stays JSON; the manifest holds it as reference.validation.warning
            log.warning("%s", warning)
    else:
        print(format_table(report))
        for note in report.notes:
            print(f"note: {note}")
        if report.reference_validation:
            ref = report.reference_validation
            print(f"float reference: mean Dice {ref['dice_mean']:.4f} on {ref['patients']} test patients")
            if warning:
                print(f"WARNING: {warning}")
        if report.manifest_path is not None:
            print(f"manifest: {report.manifest_path}")
    check_built(report, formats, args.out)
    return 1 if report.failed else 0


def check_built(report, formats: list[str], out: Path) -> None:
    """Raise when none of ``formats`` (what was asked for) was built: every one skipped or failed. Such a run exited 0
    ("skipped" is not a failure), so a script exporting on several machines could not tell it built nothing.

    Raises:
        NothingBuiltError: the formats, and what became of the output folder.
    """
    from export.exporter import NothingBuiltError
    from export.steps import OK

    if any(report.results[name].status == OK for name in formats if name in report.results):
        return
    where = (f"{out} was not created" if report.manifest_path is None
             else f"the variants in {out} are unchanged; its manifest records why")
    raise NothingBuiltError(f"nothing was built: {', '.join(formats)} {'was' if len(formats) == 1 else 'were'} "
                            f"skipped or failed here (the table says why); {where}")
