"""Where in a patient is the tumor missed? Slice by slice on the CE-T1 grid, as the runtime segments it.

``python -m training.seg.slice_report [--model M] [--figure PNG] PATIENT_DIR [...]`` prepares each patient as
``otscc predict`` does (``inference.intake.prepare_patient``: registration included), segments it with the model's
LiteRT fp32 file (the file of the sample-patient acceptance test) and prints, for every slice with tumor in the
reference mask or in the prediction: the true, predicted and overlapping areas (voxels, after the runtime's
post-processing), the mean and 90th-percentile probability inside the true tumor, the predicted voxels outside it,
and the tumor's local contrast on CE-T1 (``local_contrast``, against a 3-pixel ring). ``--figure`` draws the first
patient's tumor slices: CE-T1, T2, T1 and the probability map around the tumor, with the reference outline.

``python -m training.seg.slice_report --cohort data/cohort136 [--split train]`` does the same for a split of the
model's ``split.json`` (default: its training patients, a diagnostic of fit, as in docs/segmentation.md) and pools
the tumor slices into quarters by CE-T1 local contrast: which share of their tumor voxels was found. A diagnostic,
not an evaluation (``otscc eval-seg`` gives the figures); SYNTHETIC cohort.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from inference.assets import DEFAULT_SEG_MODEL
from inference.atomic import atomic_path

#: columns of a row, in print order
COLUMNS = ("slice", "true", "pred", "hit", "p_in_mean", "p_in_p90", "pred_outside", "cet1_contrast")
#: width in pixels of the ring around the true tumor that ``local_contrast`` compares it with
RING_PX = 3


def local_contrast(image: np.ndarray, region: np.ndarray, ring_px: int = RING_PX) -> float:
    """Michelson contrast of ``region`` against a ``ring_px`` ring around it, on one slice: (a - b) / (a + b) of
    the mean intensities inside (a) and in the ring (b); 0 = no difference, 1 = a dark ring.

    Scale-free, so slices and patients can be pooled (NaN without a region or a ring, or where both are 0).
    """
    from scipy import ndimage

    region = region > 0
    ring = ndimage.binary_dilation(region, iterations=ring_px) & ~region
    if not region.any() or not ring.any():
        return float("nan")
    inside, around = float(image[region].mean()), float(image[ring].mean())
    return (inside - around) / (inside + around) if inside + around else float("nan")


def slice_rows(prob: np.ndarray, pred: np.ndarray, truth: np.ndarray, cet1: np.ndarray | None = None) -> list[dict]:
    """One row per slice (axis 0) with tumor in ``truth`` or ``pred``; probabilities inside the true tumor and,
    with ``cet1``, the tumor's local contrast on it (``local_contrast``)."""
    pred, truth = pred > 0, truth > 0
    rows = []
    for z in range(truth.shape[0]):
        if not (truth[z].any() or pred[z].any()):
            continue
        inside = prob[z][truth[z]]
        rows.append({"slice": z, "true": int(truth[z].sum()), "pred": int(pred[z].sum()),
                     "p_in_mean": float(inside.mean()) if inside.size else float("nan"),
                     "p_in_p90": float(np.percentile(inside, 90)) if inside.size else float("nan"),
                     "hit": int((pred[z] & truth[z]).sum()), "pred_outside": int((pred[z] & ~truth[z]).sum()),
                     "cet1_contrast": local_contrast(cet1[z], truth[z]) if cet1 is not None else float("nan")})
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = ["  ".join(f"{c:>12s}" for c in COLUMNS)]
    for r in rows:
        lines.append("  ".join(f"{r[c]:12.2f}" if isinstance(r[c], float) else f"{r[c]:12d}" for c in COLUMNS))
    return "\n".join(lines)


def draw(volumes: dict[str, np.ndarray], prob: np.ndarray, truth: np.ndarray, out: Path, margin: int = 60) -> Path:
    """PNG of the tumor slices (one extra slice each side): CE-T1, T2, T1, probability; reference outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth = truth > 0
    zs = np.flatnonzero(truth.reshape(len(truth), -1).any(axis=1))
    if zs.size == 0:
        raise ValueError("the reference mask is empty: nothing to draw")
    zs = list(range(max(0, zs[0] - 1), min(len(truth), zs[-1] + 2)))
    ys, xs = np.nonzero(truth.any(axis=0))
    y0, x0 = max(0, int(ys.mean()) - margin), max(0, int(xs.mean()) - margin)
    box = (slice(y0, y0 + 2 * margin), slice(x0, x0 + 2 * margin))
    rows = [("CE-T1", volumes["cet1"]), ("T2", volumes["t2"]), ("T1", volumes["t1"]), ("probability", prob)]
    fig, axes = plt.subplots(len(rows), len(zs), figsize=(2.4 * len(zs), 2.4 * len(rows)), squeeze=False)
    for j, z in enumerate(zs):
        for i, (name, vol) in enumerate(rows):
            ax = axes[i, j]
            kwargs = {"vmin": 0, "vmax": 1, "cmap": "viridis"} if name == "probability" else {"cmap": "gray"}
            ax.imshow(vol[z][box], **kwargs)
            if truth[z].any():
                ax.contour(truth[z][box], [0.5], colors="r", linewidths=1)
            ax.set_title(f"{name}, slice {z}", fontsize=8)
            ax.axis("off")
    fig.suptitle("SYNTHETIC patient; red: reference mask", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=72)
    plt.close(fig)
    return out


def contrast_summary(rows: list[dict], groups: int = 4) -> list[dict]:
    """Tumor slices pooled over patients, in equal-count groups by CE-T1 local contrast (lowest first).

    Each group: its contrast range, slice count, and the share of its true tumor voxels the runtime's mask found.
    """
    rows = [r for r in rows if r["true"] > 0 and not np.isnan(r["cet1_contrast"])]
    rows.sort(key=lambda r: r["cet1_contrast"])
    out = []
    for part in np.array_split(np.arange(len(rows)), min(groups, len(rows))):
        chosen = [rows[i] for i in part]
        out.append({"contrast_from": chosen[0]["cet1_contrast"], "contrast_to": chosen[-1]["cet1_contrast"],
                    "slices": len(chosen), "found": sum(r["hit"] for r in chosen) / sum(r["true"] for r in chosen)})
    return out


def _patients(args, parser) -> list[Path]:
    if args.cohort is None:
        if not args.patients:
            parser.error("give patient folders, or --cohort (with --split)")
        return list(args.patients)
    from training.seg.evaluate import select_patients

    return [args.cohort / pid for pid in select_patients(args.cohort, Path(args.model), args.split)]


def main(argv: list[str] | None = None) -> int:
    from training.seg.evaluate import SPLITS

    parser = argparse.ArgumentParser(prog="python -m training.seg.slice_report", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_SEG_MODEL), help="model folder (default: the shipped one)")
    parser.add_argument("--backend", default="litert", help="runtime backend (default: litert, the fp32 file)")
    parser.add_argument("--figure", type=Path, default=None, help="write a PNG of the first patient's tumor slices")
    parser.add_argument("--cohort", type=Path, default=None,
                        help="report on a split of this cohort (the model's split.json) instead of PATIENT_DIRs: "
                             "one line per patient and the slices pooled by CE-T1 contrast")
    parser.add_argument("--split", choices=SPLITS, default="train",
                        help="with --cohort: which patients (default: train, a diagnostic of the model's fit)")
    parser.add_argument("patients", nargs="*", type=Path, help="patient folders with a mask")
    args = parser.parse_args(argv)
    folders = _patients(args, parser)

    from inference.backends import load_backend
    from inference.intake import prepare_patient
    from inference.segment import segment
    from training.seg.metrics import dice

    backend = load_backend(args.backend, Path(args.model))
    pooled = []
    for i, folder in enumerate(folders):
        prepared = prepare_patient(folder)
        if prepared.patient.mask is None:
            parser.error(f"{folder}: no mask.nii.gz to compare with")
        truth = prepared.patient.mask.array
        result = segment(prepared.volumes, backend)
        rows = slice_rows(result.probability, result.mask.array, truth, prepared.volumes["cet1"].array)
        pooled += rows
        sys.stdout.write(f"{folder}: Dice {dice(result.mask.array, truth):.3f}, predicted {result.volume_ml:.2f} ml\n")
        if args.cohort is None:
            sys.stdout.write(format_rows(rows) + "\n")
        if args.figure and i == 0:
            arrays = {seq: vol.array for seq, vol in prepared.volumes.items()}
            sys.stdout.write(f"figure: {draw(arrays, result.probability, truth, args.figure)}\n")
    if len(folders) > 1:
        sys.stdout.write("tumor slices by CE-T1 local contrast (equal-count groups): share of true voxels found\n")
        for g in contrast_summary(pooled):
            sys.stdout.write(f"  contrast {g['contrast_from']:6.2f} to {g['contrast_to']:6.2f}: "
                             f"{g['slices']:4d} slices, found {g['found']:.2f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
