"""``otscc fit-nomogram``: rad-score + fusion nomogram from a cohort's training split."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from inference.assets import DEFAULT_SEG_MODEL
from inference.atomic import write_json
from inference.errors import InputError
from inference.nomogram import validate
from training.nomogram.evaluate import cached_ids
from training.nomogram.features import (
    as_matrix,
    cache_source,
    check_cache_source,
    check_clinical,
    feature_table,
    interrupted_note,
    read_clinical,
)
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


#: the fewest patients of each outcome the fit accepts: the cross-validated LASSO needs both outcomes in each of
#: its folds, and with fewer events the fit separates the few patients perfectly (training AUC 0 or 1)
MIN_PER_OUTCOME = 10


def run(args: argparse.Namespace) -> int:
    out, cohort, model_dir = Path(args.out), Path(args.cohort), Path(args.model)
    cache = Path(args.features) if args.features else out.with_name(f"features_{args.masks}.csv")
    for path, what in ((out, "--out"), (cache, "the feature cache")):
        if cohort.resolve() in path.resolve().parents:
            raise InputError(f"{what} {path} is inside the cohort {cohort}; write it elsewhere (the cohort is input)")
    split_path = model_dir / "split.json"
    if not split_path.is_file():
        raise InputError(f"{split_path}: no such file; --model must be a model folder trained on this cohort (its "
                         "split.json says which patients are training patients)")
    split = json.loads(split_path.read_text())
    train_ids = sorted(split["train"] + split["validation"])
    clinical = read_clinical(cohort)
    check_cache_source(cache, cache_source(cohort, args.masks, model_dir))  # another cohort's rows: refused
    cached = cached_ids(cache)
    absent = [p for p in train_ids if p not in cached and not (cohort / p).is_dir()]
    if absent:
        raise InputError(f"{cohort} lacks {len(absent)} of the {len(train_ids)} training patients of {split_path} "
                         f"(e.g. {', '.join(absent[:3])}): the split was drawn from another cohort")
    y_all = check_clinical(clinical, train_ids, cohort)  # bad values fail now, not after the features
    counts = np.bincount(y_all, minlength=2)
    if counts.min() < MIN_PER_OUTCOME:
        raise InputError(f"{len(train_ids)} training patients with {counts[1]} LNM-positive and {counts[0]} negative: "
                         f"the fit needs at least {MIN_PER_OUTCOME} of each outcome (a larger cohort)")
    backend = None
    if args.masks == "auto":
        from inference.backends import load_backend

        backend = load_backend("litert", model_dir)

    try:
        with PatientProgress("features ") as progress:
            table = feature_table(cohort, train_ids, args.masks, cache, backend, progress, model_dir=model_dir)
    except KeyboardInterrupt:
        print(interrupted_note(cache, train_ids), file=sys.stderr, flush=True)
        raise
    x, names = as_matrix(table)
    ids = list(table)
    y = np.array([int(clinical[p]["lnm"]) for p in ids])
    if np.bincount(y, minlength=2).min() < MIN_PER_OUTCOME:
        raise InputError(f"only {len(ids)} of {len(train_ids)} training patients have features ({np.sum(y)} "
                         f"LNM-positive): too few to fit; see the warnings above for the patients skipped")
    sys.stderr.write(f"fitting the rad-score and the nomogram on {len(ids)} patients (about a minute) ...\n")
    with PatientProgress("fitting ") as progress:  # a status line per step, as the features' per patient
        nomogram, clinical_only = fit_nomogram(x, names, [clinical[p] for p in ids], y, mask_source=args.masks,
                                               seed=args.seed, progress=progress)
    m = nomogram["training_metrics"]
    if m["auc_fusion"] < 0.5:  # below chance on its own training patients: a failed fit, not a model
        raise InputError(f"the fit failed: training AUC of the fusion model {m['auc_fusion']:.3f} (below chance on "
                         "the patients it was fitted on); nothing was written")
    nomogram["fitted_on"] = fitted_on(ids, model_dir)  # eval-nomogram refuses to call these patients "test"
    _write_json(out, validate(nomogram))
    _write_json(out.with_suffix(".clinical.json"), {"kind": "clinical", "model": clinical_only})
    print(f"fitted on {m['n']} training patients ({m['prevalence']:.0%} LNM): {len(nomogram['radscore']['features'])} "
          f"of {m['candidate_features']} features selected; training AUC fusion {m['auc_fusion']:.3f}, "
          f"clinical-only {m['auc_clinical']:.3f}, rad-score {m['auc_radscore']:.3f} (SYNTHETIC data) -> {out}")
    return 0


def fitted_on(ids: list[str], model_dir: Path) -> dict:
    """The nomogram's record of its fitting patients (``fitted_on``): ids, and the model and split that chose them."""
    from inference.backends.manifest import sha256_file

    split = Path(model_dir) / "split.json"
    return {"patients": sorted(ids), "model": _model_name(Path(model_dir)),
            "split_sha256": sha256_file(split) if split.is_file() else None}


def _model_name(model_dir: Path) -> str:
    """The model folder as the record names it: relative to the project for a folder inside it (the shipped
    ``assets/models/seg``: a nomogram shipped with the app must not carry the path of the machine it was fitted on),
    else absolute."""
    from inference.assets import ASSETS

    folder, project = model_dir.resolve(), ASSETS.parent
    return folder.relative_to(project).as_posix() if folder.is_relative_to(project) else str(folder)


def _write_json(path: Path, data: dict) -> None:
    write_json(path, data)
