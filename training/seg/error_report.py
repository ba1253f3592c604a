"""Where a segmentation model's Dice is lost: thick-slice ends or in-plane boundaries (SYNTHETIC cohort).

``python -m training.seg.error_report --cohort data/cohort136 --masks DIR [--split train] [--model M]``
where DIR holds ``<patient_id>.nii.gz`` from ``otscc eval-seg --save-masks DIR`` (the masks the reported
Dice was computed on, on each patient's CE-T1 grid). Each wrong voxel is put in one place:

* *end slices*: the first and last slice of the tumor along the acquisition's slice axis (its coarsest
  spacing) and the slice just beyond each (overshoot), where a slice-wise model meets partial volume;
* *outside slices*: the other slices without tumor (false positives only);
* *inner slices*, split into the *boundary band* (within ``--band`` voxels in-plane of the tumor's edge,
  inside or outside) and the rest (*core* misses, *far* false positives).

Oracle Dice: the mean Dice if one kind of error were corrected (the prediction replaced by the truth there),
an upper bound on what fixing that kind alone could gain.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from training.seg import metrics
from training.seg.evaluate import add_patient_arguments, select_patients

KINDS = ("end_slices", "outside_slices", "boundary_fn", "boundary_fp", "core_fn", "far_fp")


def _inplane_structure(slice_axis: int) -> np.ndarray:
    structure = np.zeros((3, 3, 3), bool)
    index = [slice(None)] * 3
    index[slice_axis] = 1
    structure[tuple(index)] = True
    return structure


def classify(pred: np.ndarray, truth: np.ndarray, slice_axis: int, band: int = 2) -> dict[str, np.ndarray]:
    """Boolean maps, one per kind in ``KINDS``, that partition ``pred != truth``."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    wrong = pred != truth
    other = tuple(a for a in range(3) if a != slice_axis)
    has_tumor = truth.any(axis=other)
    shape = [1, 1, 1]
    shape[slice_axis] = -1
    zs = np.flatnonzero(has_tumor)
    ends = np.zeros_like(has_tumor)
    if zs.size:
        ends[max(zs[0] - 1, 0):zs[0] + 1] = True  # the first tumor slice and the one before it
        ends[zs[-1]:zs[-1] + 2] = True
    ends3, tumor3 = ends.reshape(shape), has_tumor.reshape(shape)
    structure = _inplane_structure(slice_axis)
    near = (ndimage.binary_dilation(truth, structure, band)
            & ~ndimage.binary_erosion(truth, structure, band, border_value=1))
    inner = wrong & tumor3 & ~ends3
    return {"end_slices": wrong & ends3,
            "outside_slices": wrong & ~tumor3 & ~ends3,
            "boundary_fn": inner & near & truth, "boundary_fp": inner & near & ~truth,
            "core_fn": inner & ~near & truth, "far_fp": inner & ~near & ~truth}


def case_report(pred: np.ndarray, truth: np.ndarray, slice_axis: int, band: int = 2) -> dict:
    kinds = classify(pred, truth, slice_axis, band)
    row = {"dice": metrics.dice(pred, truth), "truth_voxels": int(truth.sum()),
           "pred_voxels": int(pred.sum()), "errors": {k: int(v.sum()) for k, v in kinds.items()}}
    oracle = {}
    for name, fixed in (("end_slices", ("end_slices",)), ("boundary_band", ("boundary_fn", "boundary_fp")),
                        ("core_and_far", ("core_fn", "far_fp", "outside_slices"))):
        corrected = pred.astype(bool).copy()
        for kind in fixed:
            corrected[kinds[kind]] = truth.astype(bool)[kinds[kind]]
        oracle[name] = metrics.dice(corrected, truth)
    row["oracle_dice"] = oracle
    return row


def _read(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    image = sitk.ReadImage(str(path))
    return sitk.GetArrayFromImage(image) > 0, tuple(reversed(image.GetSpacing()))


def error_table(cohort: Path, masks: Path, ids: list[str], band: int = 2) -> dict:
    rows = []
    for pid in ids:
        pred_path = masks / f"{pid}.nii.gz"
        if not pred_path.is_file():
            raise FileNotFoundError(f"{pred_path}: no saved mask (run otscc eval-seg --save-masks {masks})")
        truth, spacing = _read(cohort / pid / "mask.nii.gz")
        pred, pred_spacing = _read(pred_path)
        if pred.shape != truth.shape or not np.allclose(spacing, pred_spacing, rtol=1e-4):
            raise ValueError(f"{pid}: saved mask is not on the ground truth's grid")
        rows.append({"patient_id": pid, **case_report(pred, truth, int(np.argmax(spacing)), band)})
    totals = {k: sum(r["errors"][k] for r in rows) for k in KINDS}
    wrong = max(sum(totals.values()), 1)
    return {"patients": len(rows), "band_voxels": band,
            "dice_mean": float(np.mean([r["dice"] for r in rows])),
            "pred_over_truth_voxels": (sum(r["pred_voxels"] for r in rows)
                                       / max(sum(r["truth_voxels"] for r in rows), 1)),
            "error_share": {k: v / wrong for k, v in totals.items()},
            "oracle_dice_mean": {k: float(np.mean([r["oracle_dice"][k] for r in rows]))
                                 for k in rows[0]["oracle_dice"]} if rows else {},
            "rows": rows}


def grid_ceiling(cohort: Path, ids: list[str]) -> list[float]:
    """Dice of each ground-truth mask taken to the model grid, thresholded at 0.5 and brought back.

    What a model that is perfect on its own grid would score on the original CE-T1 grid.
    """
    from inference.intake import prepare_patient
    from inference.preprocess import from_model_stack, mask_to_model, plan_slices

    scores = []
    for pid in ids:
        prepared = prepare_patient(cohort / pid, register="never")
        truth = prepared.patient.mask.array > 0
        plan, _ = plan_slices(prepared.volumes["cet1"])
        on_grid = (mask_to_model(truth, plan) >= 0.5).astype(np.float32)
        scores.append(metrics.dice(from_model_stack(on_grid, plan) >= 0.5, truth))
    return scores


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", required=True, type=Path, help="the synthetic cohort (ground-truth masks)")
    parser.add_argument("--masks", required=True, type=Path, help="otscc eval-seg --save-masks folder")
    add_patient_arguments(parser)
    parser.add_argument("--band", type=int, default=2, help="boundary band half-width, in-plane voxels")
    parser.add_argument("--grid-ceiling", action="store_true",
                        help="also score the ground truth after a round trip through the model grid")
    parser.add_argument("--json", action="store_true", help="print the per-patient rows as JSON")
    args = parser.parse_args(argv)
    ids = select_patients(args.cohort, args.model, args.split)
    table = error_table(args.cohort, args.masks, ids, args.band)
    if args.grid_ceiling:
        ceiling = grid_ceiling(args.cohort, ids)
        table["grid_ceiling_dice"] = {"mean": float(np.mean(ceiling)), "min": float(np.min(ceiling))}
    if args.json:
        sys.stdout.write(json.dumps(table, indent=1) + "\n")
        return 0
    out = sys.stdout.write
    out(f"{table['patients']} patients ({args.split}), mean Dice {table['dice_mean']:.3f}, predicted/true "
        f"voxels {table['pred_over_truth_voxels']:.2f}\nshare of wrong voxels:\n")
    for kind, share in table["error_share"].items():
        out(f"  {kind:15s} {share:6.1%}\n")
    out("mean Dice if only this were corrected: "
        + ", ".join(f"{k} {v:.3f}" for k, v in table["oracle_dice_mean"].items()) + "\n")
    if "grid_ceiling_dice" in table:
        out("ground truth through the model grid and back: Dice mean {mean:.3f}, min {min:.3f}\n"
            .format(**table["grid_ceiling_dice"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
