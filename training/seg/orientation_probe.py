"""Does the model find a tumor it misses when the slice is turned? A probe for a learned position prior.

``python -m training.seg.orientation_probe --cohort data/cohort136 [--model M] [--cache DIR] PATIENT [PATIENT ...]``
(a patient is an ID in the cohort or a patient folder, e.g. ``assets/sample_patient``).

Each patient's tumor slices on the model grid are segmented as they are, rotated by 90/180/270 degrees and
mirrored, and the 2D Dice over those slices is printed per orientation. A model that reads the tumor's
appearance scores about the same in every orientation; one that learned *where* tumors usually are finds a
tumor only once it is moved to a familiar place (docs/segmentation.md, "Which patients fail, by tumor site").
SYNTHETIC cohort only; a diagnostic, not an evaluation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from inference.assets import DEFAULT_SEG_MODEL
from inference.tf_env import prepare_tensorflow_env

prepare_tensorflow_env()  # tf-keras mode and TensorFlow's log level, before TensorFlow loads

#: (label, quarter turns, then mirrored top-bottom); 180 degrees + top-bottom = mirrored left-right
ORIENTATIONS = (("as is", 0, False), ("rot 90", 1, False), ("rot 180", 2, False), ("rot 270", 3, False),
                ("flip lr", 2, True), ("flip ud", 0, True))


def orient(stack: np.ndarray, turns: int, flip_ud: bool) -> np.ndarray:
    out = np.rot90(stack, turns, axes=(1, 2))
    return np.ascontiguousarray(out[:, ::-1] if flip_ud else out)


def probe(predict, images: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """2D Dice over the tumor slices in each orientation (``predict``: (n, S, S, 3) -> (n, S, S) probabilities)."""
    tumor = np.flatnonzero(mask.reshape(len(mask), -1).any(axis=1))
    images, mask = images[tumor].astype(np.float32), mask[tumor] > 0
    out = {}
    for label, turns, flip in ORIENTATIONS:
        pred = predict(orient(images, turns, flip)) > 0.5
        truth = orient(mask, turns, flip)
        out[label] = float(2 * (pred & truth).sum() / max(1, pred.sum() + truth.sum()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", default=None, help="cohort folder the patient IDs refer to")
    parser.add_argument("--model", default=str(DEFAULT_SEG_MODEL), help="model folder (default: the shipped one)")
    parser.add_argument("--cache", default=None, help="preprocessed-stack cache folder (as train-seg --cache)")
    parser.add_argument("patients", nargs="+")
    args = parser.parse_args(argv)

    from inference.preprocess import ModelGrid
    from training.seg.data import prepare_case
    from training.seg.model import load_trained

    model, train = load_trained(args.model)
    grid = ModelGrid(train["model"]["size"], train.get("fov_mm", 160.0))
    sys.stdout.write("patient       " + "".join(f"{label:>9s}" for label, _, _ in ORIENTATIONS) + "\n")
    for patient in args.patients:
        folder = Path(patient) if Path(patient).is_dir() or not args.cohort else Path(args.cohort) / patient
        case = prepare_case(folder, grid, Path(args.cache) if args.cache else None)
        dice = probe(lambda x: model.predict(x, verbose=0)[..., 0], case.images, case.mask)
        cells = "".join(f"{dice[label]:9.2f}" for label, _, _ in ORIENTATIONS)
        sys.stdout.write(f"{case.patient_id:13s} {cells}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
