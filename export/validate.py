"""Validate every exported variant against the float (Keras) model on held-out cohort patients.

Each test-split patient goes through the runtime's own path once (``prepare_patient`` -> ``to_model_stack``),
then every backend predicts the same stack and its mask is made exactly as ``inference.segment`` makes it
(back to the CE-T1 grid, threshold 0.5, components, hole filling). Compared per variant:

* **Dice change**: mean Dice against the ground truth minus the float model's mean Dice (absolute value).
* **Voxel agreement**: fraction of CE-T1 voxels labelled as the float model labels them; the *worst*
  patient counts. Background dominates this figure, so it is lenient on its own.
* **Mask Dice**: Dice between the variant's and the float model's masks (mean over patients) - the strict
  figure: it only looks at tumor voxels.

Thresholds (``THRESHOLDS``) by precision: int8 takes the issue's limits (Dice change <= 0.01, agreement
>= 99%) plus mask Dice >= 0.95; fp16 and fp32 must be near-identical to the float model. A variant that
misses any limit is marked failed and is not shipped.

These checks are relative: a float model that segments nothing has variants that "agree" with it perfectly (empty
masks match). So the float model's own mean Dice against the ground truth is checked too: below
``MIN_REFERENCE_DICE`` (0.5, far below any model worth shipping; the shipped one scores about 0.8) the reference
summary carries a ``warning`` (the manifest's ``reference.validation.warning``, printed by ``otscc export``). It
does not fail the export: a weak model may be exported on purpose, e.g. to measure latency.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from inference.backends.base import SegBackend
from inference.preprocess import ModelGrid, from_model_stack, to_model_stack
from inference.segment import postprocess
from inference.wording import plural
from training.seg.metrics import dice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    max_dice_change: float  #: |mean Dice(variant, truth) - mean Dice(float, truth)|
    min_agreement: float  #: voxel agreement with the float mask, worst patient
    min_mask_dice: float  #: mean Dice(variant mask, float mask)


THRESHOLDS: dict[str, Thresholds] = {
    "fp32": Thresholds(max_dice_change=0.002, min_agreement=0.9999, min_mask_dice=0.99),
    "fp16": Thresholds(max_dice_change=0.005, min_agreement=0.9995, min_mask_dice=0.98),
    "int8": Thresholds(max_dice_change=0.01, min_agreement=0.99, min_mask_dice=0.95),
}

#: below this mean Dice against the ground truth the float model itself is flagged (see the module docstring)
MIN_REFERENCE_DICE = 0.5


def reference_warning(dice_mean: float, patients: int) -> str | None:
    """The warning for a float reference whose own mean Dice is below ``MIN_REFERENCE_DICE``, else None."""
    if dice_mean >= MIN_REFERENCE_DICE:
        return None
    return (f"the float model itself scores mean Dice {dice_mean:.4f} against the ground truth on the "
            f"{plural(patients, 'patient')} validated (below {MIN_REFERENCE_DICE}): the variants agree with a model "
            "that does not segment these tumors; check its training (val_dice in history.json) before shipping it")


def mask_from_stack(backend: SegBackend, stack: np.ndarray, plan, voxel_ml: float) -> np.ndarray:
    """The mask ``inference.segment.segment`` would produce from this (already preprocessed) stack."""
    probs = backend.predict_stack(stack)
    return postprocess(from_model_stack(probs, plan), voxel_ml)[0]


@dataclass
class _Tally:
    dice: list
    agreement: list
    mask_dice: list
    seconds: float = 0.0


def validate(reference: SegBackend, variants: dict[str, tuple[SegBackend, str]], cohort: Path,
             patient_ids: list[str], grid: ModelGrid, progress=None) -> tuple[dict, dict[str, dict]]:
    """Run the reference and every variant on the patients.

    Args:
        reference: the float Keras backend.
        variants: format name -> (loaded backend, precision).
        progress: optional callback ``(done, total, patient_id)``.

    Returns:
        (reference summary, format name -> validation figures with ``passed`` and ``failures``)
    """
    from inference.intake import prepare_patient

    ref_dice: list[float] = []
    tallies = {name: _Tally([], [], []) for name in variants}
    for i, pid in enumerate(patient_ids):
        prepared = prepare_patient(Path(cohort) / pid)
        truth = prepared.patient.mask
        if truth is None:
            raise ValueError(f"{pid}: no ground-truth mask; validation needs the cohort's masks")
        stack, plan, _ = to_model_stack(prepared.volumes, grid)
        voxel_ml = prepared.volumes["cet1"].geometry.voxel_volume_ml
        ref_mask = mask_from_stack(reference, stack, plan, voxel_ml)
        ref_dice.append(dice(ref_mask, truth.array))
        for name, (backend, _) in variants.items():
            start = time.perf_counter()
            mask = mask_from_stack(backend, stack, plan, voxel_ml)
            tally = tallies[name]
            tally.seconds += time.perf_counter() - start
            tally.dice.append(dice(mask, truth.array))
            tally.agreement.append(float(np.mean(mask == ref_mask)))
            tally.mask_dice.append(dice(mask, ref_mask))
        if progress:
            progress(i + 1, len(patient_ids), pid)
    reference_summary = {"patients": len(patient_ids), "dice_mean": round(float(np.mean(ref_dice)), 4),
                         "runtime": reference.describe().get("runtime"),
                         "warning": reference_warning(float(np.mean(ref_dice)), len(patient_ids))}
    results = {name: _judge(tallies[name], float(np.mean(ref_dice)), precision, backend)
               for name, (backend, precision) in variants.items()}
    return reference_summary, results


def _judge(tally: _Tally, ref_mean: float, precision: str, backend: SegBackend) -> dict:
    limits = THRESHOLDS[precision]
    change = float(np.mean(tally.dice)) - ref_mean
    figures = {
        "patients": len(tally.dice), "dice_mean": round(float(np.mean(tally.dice)), 4),
        "dice_change": round(change, 4), "agreement_min": round(float(np.min(tally.agreement)), 6),
        "agreement_mean": round(float(np.mean(tally.agreement)), 6),
        "mask_dice_mean": round(float(np.mean(tally.mask_dice)), 4),
        "mask_dice_min": round(float(np.min(tally.mask_dice)), 4),
        "seconds": round(tally.seconds, 1), "validated_with": backend.summary(), "thresholds": asdict(limits),
    }
    failures = []
    if abs(change) > limits.max_dice_change:
        failures.append(f"Dice change {change:+.4f} exceeds +/-{limits.max_dice_change}")
    if figures["agreement_min"] < limits.min_agreement:
        failures.append(f"voxel agreement {figures['agreement_min']:.4%} < {limits.min_agreement:.2%}")
    if figures["mask_dice_mean"] < limits.min_mask_dice:
        failures.append(f"mask Dice vs float {figures['mask_dice_mean']:.4f} < {limits.min_mask_dice}")
    return {**figures, "passed": not failures, "failures": failures}
