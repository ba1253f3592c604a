"""``otscc eval-seg``: per-patient 3D Dice/IoU/HD95/volume error on a cohort, by tumor-volume stratum."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from inference.backends import load_backend
from inference.backends.base import self_check
from training.progress import PatientProgress
from training.seg.evaluate import (
    DIAGNOSTIC,
    add_patient_arguments,
    evaluate,
    format_table,
    provenance,
    select_patients,
)
from training.seg.fingerprints import load_seen
from training.seg.metrics import json_safe

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    add_patient_arguments(parser)
    a("--cohort", required=True, help="cohort folder with ground-truth masks (required)")
    a("--backend", choices=("litert", "keras"), default="litert",
      help="runtime to evaluate: litert runs the float model_fp32.tflite (the figures in docs/segmentation.md; "
           "the product's default CPU variant is int8, validated against it by otscc export), keras the float "
           "weights (default: litert)")
    a("--save-masks", default=None, metavar="DIR",
      help="write DIR/<patient_id>.nii.gz on each CE-T1 grid (default: none)")
    a("--json", action="store_true", help="print per-patient rows and summaries as JSON (default: table)")


def run(args: argparse.Namespace) -> int:
    from inference.pipeline import check_output_dir, check_writable_dir

    if args.save_masks:  # the cohort is an input: never written to; a bad folder fails before the evaluation
        check_output_dir(args.save_masks, [args.cohort])
        check_writable_dir(args.save_masks)
    cohort, model_dir = Path(args.cohort), Path(args.model)
    ids = select_patients(cohort, model_dir, args.split)
    seen = None
    if args.split in ("test", "all"):  # train/validation: diagnostics on the model's own patients, on purpose
        seen = load_seen(model_dir)
        for note in seen.notes:
            log.warning("%s", note)
    backend = load_backend(args.backend, model_dir)
    self_check(backend)  # a damaged model file fails here, in one line, not mid-evaluation with a traceback
    if args.backend == "litert" and backend.format_name != "tflite-fp32":  # litert falls back to what is there
        log.warning("%s has no model_fp32.tflite: evaluating %s (%s), not the float model the documented figures "
                    "come from", model_dir, backend.model_file, backend.format_name)

    with PatientProgress() as progress:
        result = evaluate(cohort, ids, backend,
                          save_masks=Path(args.save_masks) if args.save_masks else None, progress=progress, seen=seen)
    left_out = result["seen_in_training"]
    if left_out:
        log.warning("%d of %d patients left out of every figure: their CE-T1 is that of a patient the model was "
                    "trained or validated on (%s); see seen_in_training in --json", len(left_out), len(ids),
                    ", ".join(r["patient_id"] for r in left_out[:10]) + (" ..." if len(left_out) > 10 else ""))
    result["split"], result["cohort"], result["diagnostic"] = args.split, str(cohort), DIAGNOSTIC.get(args.split)
    result["provenance"] = provenance(model_dir, backend, cohort)
    if args.json:
        print(json.dumps(json_safe(result), indent=2, allow_nan=False))
    else:
        info = result["backend"]
        print(f"{len(result['patients'])} patients ({args.split}) from {cohort}"
              f"{f', {len(left_out)} left out (seen in training)' if left_out else ''}, backend {backend.name} "
              f"running {model_dir / str(info.get('model_file'))} ({info.get('format') or 'format unknown'})")
        if result["diagnostic"]:
            print(result["diagnostic"].replace("diagnostic only", "DIAGNOSTIC ONLY", 1))
        print(format_table(result))
    return 0
