"""Does a different post-processing rule raise Dice? Thresholds, 3D hysteresis, component choice, on one split.

``python -m training.seg.postprocess_sweep --cohort data/cohort136 --split validation [--model M]`` segments
each patient once with the model's LiteRT fp32 file (as ``otscc eval-seg`` does), keeps the probability map
on the CE-T1 grid and re-applies, in memory, the runtime's rule (``inference.segment.postprocess``) at
other thresholds, and a hysteresis rule: voxels above ``low`` joined (26-connectivity) to the runtime's
mask at 0.5, which could recover faint tumor edges and end slices without adding far-away false positives.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from inference.imageops import fill_holes_by_slice, label
from inference.segment import THRESHOLD, postprocess
from training.progress import PatientProgress
from training.seg.evaluate import add_patient_arguments, select_patients
from training.seg.metrics import dice

THRESHOLDS = (0.4, 0.45, 0.55)
LOWS = (0.2, 0.3, 0.4, 0.45)
COMPONENT_SCORES = ("probability mass", "mean probability", "peak probability", "all")


def hysteresis(prob: np.ndarray, voxel_ml: float, low: float) -> np.ndarray:
    """The runtime's mask at 0.5, grown by every component above ``low`` that touches it; holes filled."""
    core = postprocess(prob, voxel_ml, threshold=THRESHOLD)[0] > 0
    if not core.any():
        return core
    labels, _ = label(prob >= low, full=True)
    touching = np.unique(labels[core])
    return fill_holes_by_slice(np.isin(labels, touching[touching > 0]) | core)


def by_component_score(prob: np.ndarray, voxel_ml: float, score: str) -> np.ndarray:
    """The runtime's rule with the main component picked by another score than its voxel count.

    ``score``: "probability mass" (sum of probabilities: size weighted by confidence), "mean probability",
    "peak probability", or "all" (keep every component). Components of at least ``KEEP_COMPONENT_ML`` stay too.
    """
    if score == "all":
        return postprocess(prob, voxel_ml, keep_ml=0.0)[0] > 0

    def values(labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        if score == "peak probability":
            return ndimage.maximum(prob, labels, np.arange(1, len(sizes) + 1))
        mass = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=len(sizes) + 1)[1:]
        return {"probability mass": mass, "mean probability": mass / sizes}[score]

    return postprocess(prob, voxel_ml, main_by=values)[0] > 0


def sweep(cases: list[tuple[np.ndarray, np.ndarray, float]]) -> dict[str, dict]:
    """Mean Dice per rule, and on how many patients each rule beats / loses to the runtime's."""
    base = [dice(postprocess(p, v)[0] > 0, t) for p, t, v in cases]
    rules = {f"threshold {x:g}": (lambda p, v, x=x: postprocess(p, v, threshold=x)[0] > 0) for x in THRESHOLDS}
    rules |= {f"hysteresis {x:g}-{THRESHOLD:g}": (lambda p, v, x=x: hysteresis(p, v, x)) for x in LOWS}
    rules |= {f"component: {x}": (lambda p, v, x=x: by_component_score(p, v, x)) for x in COMPONENT_SCORES}
    out = {f"runtime (threshold {THRESHOLD:g})": {"dice_mean": float(np.mean(base)), "better": 0, "worse": 0}}
    for name, rule in rules.items():
        scores = [dice(rule(p, v), t) for p, t, v in cases]
        out[name] = {"dice_mean": float(np.mean(scores)),
                     "better": sum(a > b + 1e-9 for a, b in zip(scores, base, strict=True)),
                     "worse": sum(a < b - 1e-9 for a, b in zip(scores, base, strict=True))}
    return out


def collect(cohort: Path, ids: list[str], model_dir: Path) -> list[tuple[np.ndarray, np.ndarray, float]]:
    from inference.backends import select_backend
    from inference.errors import InputError
    from inference.intake import prepare_patient
    from inference.segment import segment

    backend, _ = select_backend("tflite-fp32", model_dir, threads=2)
    cases = []
    with PatientProgress() as progress:
        for i, pid in enumerate(ids, 1):
            prepared = prepare_patient(cohort / pid)
            if prepared.patient.mask is None:
                raise InputError(f"{cohort / pid}: no mask file; the sweep needs ground truth.")
            result = segment(prepared.volumes, backend)
            cases.append((result.probability, prepared.patient.mask.array > 0,
                          prepared.volumes["cet1"].geometry.voxel_volume_ml))
            progress(i, len(ids), pid)
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", required=True, type=Path, help="the cohort with ground-truth masks")
    add_patient_arguments(parser, default_split="validation")
    args = parser.parse_args(argv)
    table = sweep(collect(args.cohort, select_patients(args.cohort, args.model, args.split), args.model))
    for name, row in table.items():
        sys.stdout.write(f"{name:34s} Dice {row['dice_mean']:.4f}  better on {row['better']}, "
                         f"worse on {row['worse']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
