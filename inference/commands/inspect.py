"""``otscc inspect PATIENT``: what was found, roles and why, geometry, warnings, registration, timings.

Series are listed by number, size and geometry. Their descriptions and UIDs (PS3.15 "remove" attributes:
free text that may name the patient, and unique identifiers) are printed only with ``--show-descriptions``,
so the default output can be pasted into a ticket or kept with results (docs/privacy.md).
"""

from __future__ import annotations

import argparse
import json
import sys

from inference.intake import prepare_patient


def add_sequence_arguments(parser: argparse.ArgumentParser) -> None:
    """--cet1/--t2/--t1 overrides shared by every command that reads a patient."""
    for role, label in (("cet1", "contrast-enhanced T1"), ("t2", "T2"), ("t1", "T1")):
        parser.add_argument(f"--{role}", metavar="PATH|UID|NUMBER",
                            help=f"use this {label}: an image file, a one-series DICOM folder, or a "
                                 "SeriesInstanceUID/series number in PATIENT (default: detected)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("patient", metavar="PATIENT", help="patient folder (named NIfTI/NRRD/MHA files or DICOM)")
    add_sequence_arguments(parser)
    parser.add_argument("--register", choices=("auto", "always", "never"), default="auto",
                        help="co-registration of T2/T1 to CE-T1: auto skips it when grids coincide "
                             "(default: auto)")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of text (default: off)")
    parser.add_argument("--show-descriptions", action="store_true",
                        help="also print each DICOM series' description and SeriesInstanceUID, to tell series "
                             "apart on screen; they may identify the patient, so don't share that output "
                             "(default: off, series numbers only)")


def run(args: argparse.Namespace) -> int:
    def progress(stage: str, fraction: float) -> None:
        if not args.json and fraction == 0.0 and sys.stderr.isatty():  # not into a log file
            print(f"... {stage}", file=sys.stderr, flush=True)

    prepared = prepare_patient(args.patient, cet1=args.cet1, t2=args.t2, t1=args.t1,
                               register=args.register, progress=progress, load_mask="if usable")
    report = redact(prepared.report(), show_descriptions=args.show_descriptions)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    print(format_report(report))
    return 0


def redact(report: dict, *, show_descriptions: bool = False) -> dict:
    """``report`` without series descriptions and UIDs (unless ``show_descriptions``)."""
    if show_descriptions:
        return report
    hidden = ("description", "series_uid")
    series = [{k: v for k, v in s.items() if k not in hidden} for s in report.get("series_found", [])]
    return {**report, "series_found": series}


def _series_lines(series: list[dict]) -> list[str]:
    lines = ["Series found:"] if series else []
    for s in series:
        spacing = "x".join(f"{v:.3g}" for v in s.get("pixel_spacing_mm", []))
        number = "?" if s.get("series_number") is None else str(s["series_number"])  # series 0 is a number
        line = (f"  #{number:<4} {s.get('images')} images, {s.get('columns')}x{s.get('rows')}"
                f" pixels of {spacing} mm")
        if "description" in s:
            line += f"; '{s['description']}' {s.get('series_uid', '')}"
        lines.append(line)
    return lines


def format_report(report: dict) -> str:
    lines = [f"Patient {report['patient_id']} ({report['source_kind']})",
             *_series_lines(report.get("series_found", [])), "Sequences:"]
    for role, info in report["roles"].items():
        size = "x".join(str(s) for s in info["size_xyz"])
        spacing = "x".join(f"{s:.3g}" for s in info["spacing_mm_xyz"])
        lines.append(f"  {role:<5} {info['source']}")
        lines.append(f"        {size} voxels, {spacing} mm; why: {info['reason']}")
    lines.append("Registration to CE-T1:")
    for role, reg in report["registration"].items():
        if reg.get("skipped"):
            lines.append(f"  {role:<5} skipped: {reg.get('reason', '')}")
            continue
        t = ", ".join(f"{v:+.2f}" for v in reg["translation_mm"])
        r = ", ".join(f"{v:+.2f}" for v in reg["rotation_deg"])
        lines.append(f"  {role:<5} translation ({t}) mm, rotation ({r}) deg, quality (ECC) "
                     f"{reg['quality_initial']:.3f} -> {reg['quality_final']:.3f}, {reg['seconds']:.2f} s, "
                     f"{reg['iterations']} iterations")
        lines.extend(f"        warning: {w}" for w in reg.get("warnings", []))
    if report.get("mask"):
        lines.append(f"Mask: {report['mask']}")
    for note in report.get("notes", []):
        lines.append(f"Note: {note}")
    lines.extend(f"WARNING: {warning}" for warning in report["warnings"])
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in report["timings_s"].items())
    lines.append(f"Timings: {timings}")
    return "\n".join(lines)
