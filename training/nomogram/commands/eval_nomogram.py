"""``otscc eval-nomogram``: fusion nomogram(s) and the clinical-only model on training and test patients.

Training = the model's split.json train + validation (what fit-nomogram fitted on); test = its held-out
test patients. The two are reported separately, never pooled.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import sys
from pathlib import Path

import numpy as np

from inference import __version__
from inference.assets import DEFAULT_SEG_MODEL
from inference.atomic import write_json
from inference.errors import InputError
from inference.nomogram import Nomogram
from inference.wording import plural
from training.nomogram import evaluate
from training.nomogram.features import check_clinical, feature_table, interrupted_note, read_clinical
from training.progress import PatientProgress

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--cohort", required=True,
      help="cohort folder with clinical.csv (and the patients, unless features are cached) (required)")
    a("--nomogram", required=True, help="fusion nomogram JSON written by fit-nomogram (required)")
    a("--compare", nargs="+", default=[], metavar="FILE",
      help="other fusion nomogram(s), e.g. the manual-mask one, compared with --nomogram by DeLong on the test "
           "set; features cached beside each as features_<mask_source>.csv (default: none)")
    a("--clinical-model", default=None,
      help="clinical-only model JSON (default: NOMOGRAM with suffix .clinical.json, as fit-nomogram writes it; "
           "skipped with a warning when absent)")
    a("--model", default=str(DEFAULT_SEG_MODEL),
      help="segmentation model folder: its split.json defines training and test patients, and it segments "
           "patients whose auto-mask features are not cached yet (default: the shipped one)")
    a("--features", default=None,
      help="feature cache CSV for --nomogram (default: beside it, features_<mask_source>.csv)")
    a("--plots", default=None, metavar="DIR",
      help="write ROC, calibration and decision-curve PNGs here (default: none)")
    a("--json", default=None, metavar="FILE", help="write the full results as JSON (default: none)")
    a("--seed", type=int, default=0, help="seed of the bootstrap resampling (default: 0)")
    a("--n-boot", type=int, default=2000, help="bootstrap resamples for the AUC 95%% CI (default: 2000)")


def run(args: argparse.Namespace) -> int:
    if args.n_boot < 100:
        raise InputError(f"--n-boot {args.n_boot}: use at least 100 resamples for a 95% interval")
    cohort, model_dir = Path(args.cohort), Path(args.model)
    sets = evaluate.read_split(model_dir)
    clinical = read_clinical(cohort)
    check_clinical(clinical, [p for s in evaluate.SETS for p in sets[s]], cohort)  # before any feature work
    paths = [Path(args.nomogram), *(Path(c) for c in args.compare)]
    nomograms = [Nomogram.load(p) for p in paths]
    for path, nomo in zip(paths, nomograms, strict=True):
        evaluate.check_fitted_on(path, nomo, sets, model_dir)
    caches = [evaluate.feature_cache(p, n.data["mask_source"], Path(args.features) if i == 0 and args.features
                                     else None) for i, (p, n) in enumerate(zip(paths, nomograms, strict=True))]
    tables = _feature_tables(cohort, model_dir, sets, nomograms, caches)
    usable = {s: [p for p in sets[s] if all(p in t for t in tables)] for s in evaluate.SETS}
    excluded = {s: sorted(set(sets[s]) - set(usable[s])) for s in evaluate.SETS}
    for s in evaluate.SETS:
        if excluded[s]:
            log.warning("%d %s patient(s) without features for every nomogram left out: %s", len(excluded[s]), s,
                        excluded[s][:10])
        if len({int(clinical[p]["lnm"]) for p in usable[s]}) < 2:
            raise InputError(f"the {s} set has {plural(len(usable[s]), 'usable patient')} and not both outcomes: "
                             "nothing to evaluate")

    clinical_path = Path(args.clinical_model) if args.clinical_model else paths[0].with_suffix(".clinical.json")
    if args.clinical_model and not clinical_path.exists():
        raise InputError(f"--clinical-model {clinical_path}: no such file")
    scored, pairs = _score_models(paths, nomograms, tables, clinical, usable, clinical_path)
    results = {"synthetic_data": True, "cohort": str(cohort), "model": str(model_dir),
               "sets": {s: {"n_split": len(sets[s]), "n_evaluated": len(usable[s]), "excluded": excluded[s]}
                        for s in evaluate.SETS},
               **evaluate.summarize(scored, clinical, pairs, seed=args.seed, n_boot=args.n_boot),
               "provenance": _provenance(paths, clinical_path if clinical_path.exists() else None, caches, args)}
    print(format_table(results))
    if args.json:
        write_json(Path(args.json), results)
    if args.plots:
        from training.nomogram.plots import write_plots

        for path in write_plots(results, Path(args.plots)):
            print(f"plot -> {path}")
    return 0


def _score_models(paths: list[Path], nomograms: list[Nomogram], tables: list[dict], clinical: dict,
                  usable: dict, clinical_path: Path) -> tuple[list[evaluate.Scored], list[tuple[str, str]]]:
    """Score every nomogram (and the clinical-only model when present); the DeLong pairs to test."""
    scored: list[evaluate.Scored] = []
    for path, nomo, table in zip(paths, nomograms, tables, strict=True):
        name = _unique(f"fusion_{nomo.data['mask_source']}", path, [m.name for m in scored])
        scored.append(evaluate.score_fusion(name, path, nomo, table, clinical, usable))
    pairs = [(scored[0].name, m.name) for m in scored[1:]]
    if clinical_path.exists():
        clin = evaluate.score_clinical(clinical_path, evaluate.load_clinical_model(clinical_path), clinical, usable)
        pairs += [(m.name, clin.name) for m in scored]
        scored.append(clin)
    else:
        log.warning("%s not found: no clinical-only comparison (pass --clinical-model)", clinical_path)
    return scored, pairs


def _feature_tables(cohort: Path, model_dir: Path, sets: dict, nomograms: list[Nomogram],
                    caches: list[Path]) -> list[dict]:
    ids = sorted(sets["train"] + sets["test"])
    backend, tables = None, []
    for nomo, cache in zip(nomograms, caches, strict=True):
        masks = nomo.data["mask_source"]
        if masks not in ("auto", "manual"):
            raise InputError(f"nomogram mask_source {masks!r}: expected auto or manual")
        if masks == "auto" and backend is None and set(ids) - evaluate.cached_ids(cache):
            from inference.backends import load_backend  # only when patients must be segmented

            backend = load_backend("litert", model_dir)

        try:
            with PatientProgress(f"features ({masks}) ") as progress:
                tables.append(feature_table(cohort, ids, masks, cache, backend if masks == "auto" else None,
                                            progress, model_dir=model_dir))
        except KeyboardInterrupt:
            print(interrupted_note(cache, ids), file=sys.stderr, flush=True)
            raise
    return tables


def _unique(name: str, path: Path, taken: list[str]) -> str:
    return name if name not in taken else f"{name}_{path.stem}"


def _provenance(paths: list[Path], clinical_path: Path | None, caches: list[Path], args) -> dict:
    import sklearn

    files = [*paths, *([clinical_path] if clinical_path else []), *(c for c in caches if c.exists())]
    return {"created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "sha256": {str(p): evaluate.file_sha256(p) for p in files}, "bootstrap": {"n": args.n_boot,
            "seed": args.seed}, "versions": {"otscc-edge": __version__, "numpy": np.__version__,
                                             "scikit-learn": sklearn.__version__}}


def format_table(results: dict) -> str:
    """Readable stdout summary: one block per set, one row per model, then the DeLong tests."""
    lines = ["SYNTHETIC cohort: figures say nothing about clinical performance."]
    head = (f"{'model':<16}{'n':>5}{'LNM':>6}  {'AUC [95% CI]':<22}{'thr':>6}{'sens':>6}{'spec':>6}"
            f"{'cal.int':>9}{'cal.slope':>10}{'Brier':>7}")
    for s, title in (("train", "TRAINING patients (train + validation; fitted on)"),
                     ("test", "TEST patients (held out)")):
        info = results["sets"][s]
        lines += ["", f"{title}: {info['n_evaluated']} of {info['n_split']} evaluated", head]
        for name, m in results["models"].items():
            r = m["sets"][s]
            lines.append(f"{name:<16}{r['n']:>5}{r['prevalence']:>6.0%}  {r['auc']:.3f} [{r['auc_ci95'][0]:.3f}, "
                         f"{r['auc_ci95'][1]:.3f}]  {r['threshold']:>6.3f}{r['sensitivity']:>6.2f}"
                         f"{r['specificity']:>6.2f}{r['calibration_intercept']:>9.2f}{r['calibration_slope']:>10.2f}"
                         f"{r['brier']:>7.3f}")
    if results["delong_test"]:
        lines += ["", "DeLong test, TEST set (two-sided):"]
        for d in results["delong_test"]:
            lines.append(f"  {d['first']} {d['auc1']:.3f} vs {d['second']} {d['auc2']:.3f}: "
                         f"z = {d['z']:.2f}, p = {d['p_value']:.3f} (n = {d['n']})")
    return "\n".join(lines)
