"""Diagnostic of 2026-12-02: evaluate the mean of two models' probabilities like ``otscc eval-seg``.

Not part of the product (the runtime runs one model). Both models run on the LiteRT fp32 backend; the runtime's
post-processing is applied to the mean probability. The patients are picked from the first model's split, and for
``--split all`` every patient either model was trained or validated on is left out.

    python docs/segmentation_seedspread_2026-12-02/ensemble_eval.py --models assets/models/seg runs/ss/s1_p2 \
        --cohort data/dev4242 --split all --out ensemble_dev4242.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from inference.atomic import write_json
from inference.backends import load_backend
from inference.backends.base import SegBackend, self_check
from training.seg.evaluate import DIAGNOSTIC, evaluate, format_table, select_patients
from training.seg.fingerprints import load_seen
from training.seg.metrics import json_safe


class MeanOf(SegBackend):
    """The mean of several loaded backends' probabilities."""

    name = "mean"

    def __init__(self, members: list[SegBackend]) -> None:
        sizes = {(m.input_size, m.fov_mm) for m in members}
        if len(sizes) != 1:
            raise ValueError(f"the models disagree on input size / field of view: {sorted(sizes)}")
        self.members = members
        self.input_size, self.fov_mm = sizes.pop()
        self.format_name = "mean of " + ", ".join(str(m.format_name) for m in members)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.mean([m.predict(batch) for m in self.members], axis=0).astype(np.float32)

    def describe(self) -> dict:
        return {"backend": self.name, "format": self.format_name, "input_size": self.input_size,
                "fov_mm": self.fov_mm, "members": [m.describe() for m in self.members]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, nargs="+", required=True)
    parser.add_argument("--cohort", type=Path, required=True)
    parser.add_argument("--split", choices=("validation", "train", "all"), required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write (as eval-seg --json)")
    args = parser.parse_args()
    ids = select_patients(args.cohort, args.models[0], args.split)
    seen = None
    if args.split == "all":
        seen = load_seen(args.models[0])
        for other in map(load_seen, args.models[1:]):  # a patient any member learned from is left out
            seen.fingerprints.update(other.fingerprints)
            seen.ids.update(other.ids)
            seen.synthetic.update(other.synthetic)
            seen.notes += other.notes
        for note in seen.notes:  # as eval-seg: say what could not be checked
            sys.stderr.write(f"warning: {note}\n")
    members = [load_backend("litert", m) for m in args.models]
    for member in members:
        self_check(member)
        if member.format_name != "tflite-fp32":
            raise SystemExit(f"{member.model_file}: not the fp32 model")
    result = evaluate(args.cohort, ids, MeanOf(members), seen=seen)
    result["split"], result["cohort"] = args.split, str(args.cohort)
    result["diagnostic"] = DIAGNOSTIC.get(args.split)
    result["models"] = [str(m) for m in args.models]
    write_json(args.out, json_safe(result))
    sys.stdout.write(format_table(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
