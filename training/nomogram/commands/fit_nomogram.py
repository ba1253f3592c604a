"""``otscc fit-nomogram``: rad-score + fusion nomogram from a cohort's training split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from inference.assets import DEFAULT_SEG_MODEL
from inference.atomic import write_json
from training.nomogram.features import as_matrix, feature_table, read_clinical
from training.nomogram.fit import fit_nomogram
from training.progress import PatientProgress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--cohort", required=True, help="cohort folder with clinical.csv (and masks for --masks manual)")
    a("--masks", choices=("auto", "manual"), default="auto",
      help="auto = masks predicted by --model, manual = ground-truth masks (default: auto)")
    a("--model", default=str(DEFAULT_SEG_MODEL), help="segmentation model folder (default: the shipped one)")
    a("--out", required=True, help="nomogram JSON to write, e.g. nomo.json (the clinical-only model goes beside it "
                                    "as nomo.clinical.json)")
    a("--features", default=None, help="feature cache CSV (default: beside OUT, features_<masks>.csv)")
    a("--seed", type=int, default=0, help="seed for the LASSO cross-validation folds (default: 0)")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    split = json.loads((Path(args.model) / "split.json").read_text())
    train_ids = sorted(split["train"] + split["validation"])
    clinical = read_clinical(Path(args.cohort))
    backend = None
    if args.masks == "auto":
        from inference.backends import load_backend

        backend = load_backend("litert", args.model)
    cache = Path(args.features) if args.features else out.with_name(f"features_{args.masks}.csv")

    with PatientProgress("features ") as progress:
        table = feature_table(Path(args.cohort), train_ids, args.masks, cache, backend, progress)
    x, names = as_matrix(table)
    ids = list(table)
    y = np.array([int(clinical[p]["lnm"]) for p in ids])
    nomogram, clinical_only = fit_nomogram(x, names, [clinical[p] for p in ids], y, mask_source=args.masks,
                                           seed=args.seed)
    _write_json(out, nomogram)
    _write_json(out.with_suffix(".clinical.json"), {"kind": "clinical", "model": clinical_only})
    m = nomogram["training_metrics"]
    print(f"fitted on {m['n']} training patients ({m['prevalence']:.0%} LNM): {len(nomogram['radscore']['features'])} "
          f"of {m['candidate_features']} features selected; training AUC fusion {m['auc_fusion']:.3f}, "
          f"clinical-only {m['auc_clinical']:.3f}, rad-score {m['auc_radscore']:.3f} (SYNTHETIC data) -> {out}")
    return 0


def _write_json(path: Path, data: dict) -> None:
    write_json(path, data)
