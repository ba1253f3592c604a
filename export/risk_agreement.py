"""How far does the nodal risk move between model variants? Measured on held-out cohort patients.

``python -m export.risk_agreement --cohort data/cohort136 [--model M] [--split test] [--json FILE]``

Export validation (``export/validate.py``) compares each variant's *mask* with the float model's. A clinician
sees the *risk*, which also goes through radiomics on that mask (and, with ``--doi-mm auto``, the mask's depth
estimate). Here each patient is prepared once (registration included); every shipped variant that loads on
this machine segments it, and the shipped nomogram scores each mask with the patient's clinical values from the
cohort's ``clinical.csv`` (its measured DOI, or the mask estimate with ``--doi-auto``). Per variant, against
``tflite-fp32`` (the float model's own file; mask Dice 1.0 against Keras in export validation): the largest,
95th-percentile and mean absolute risk change, and the patients whose risk group changed, with how far the
reference risk was from the nearest group boundary.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REFERENCE = "tflite-fp32"


def summarize(reference: dict[str, float | None], risks: dict[str, float | None],
              boundaries: list[float], group_of) -> dict:
    """Risk changes of one variant against the reference, over the patients both scored.

    Args:
        reference, risks: patient id -> probability (None: no tumor found / not scored).
        boundaries: the nomogram's group boundaries (probabilities).
        group_of: probability -> risk group name.
    """
    ids = [p for p in reference if reference[p] is not None and risks.get(p) is not None]
    delta = np.array([abs(risks[p] - reference[p]) for p in ids])
    changed = [{"patient_id": p, "reference": round(reference[p], 4), "variant": round(risks[p], 4),
                "reference_to_boundary": round(min(abs(reference[p] - b) for b in boundaries), 4)}
               for p in ids if group_of(risks[p]) != group_of(reference[p])]
    unscored = sorted(p for p in reference if (reference[p] is None) != (risks.get(p) is None))
    return {"n": len(ids), "max_abs_change": float(delta.max()) if len(ids) else None,
            "p95_abs_change": float(np.percentile(delta, 95)) if len(ids) else None,
            "mean_abs_change": float(delta.mean()) if len(ids) else None,
            "group_changes": changed, "scored_differently": unscored}


def measure(cohort: Path, ids: list[str], model_dir: Path, *, doi_auto: bool = False,
            threads: int = 2) -> dict:
    from inference.backends.base import BackendUnavailableError
    from inference.backends.manifest import find_manifest
    from inference.pipeline import Pipeline, load_clinical

    manifest = find_manifest(model_dir)
    shipped = manifest.shipped() if manifest else {}
    variants = [REFERENCE] + [n for n in shipped if n != REFERENCE]
    pipelines, skipped = {}, {}
    for name in variants:
        try:
            pipelines[name] = Pipeline(model_dir=model_dir, backend=name, threads=threads)
        except BackendUnavailableError as exc:
            skipped[name] = str(exc)
    if REFERENCE not in pipelines:
        raise BackendUnavailableError(f"the reference {REFERENCE} cannot run here: {skipped.get(REFERENCE)}")
    risks: dict[str, dict[str, float | None]] = {name: {} for name in pipelines}
    first = pipelines[REFERENCE]
    for i, pid in enumerate(ids, 1):
        clinical = load_clinical(cohort / pid, cohort / "clinical.csv")
        if doi_auto:
            clinical["doi_mm"] = "auto"
        prepared = first.prepare(cohort / pid)
        for name, pipeline in pipelines.items():
            prediction = pipeline.score(prepared, pipeline.segment(prepared).mask, clinical)
            risks[name][pid] = None if prediction.score is None else prediction.score.probability
        sys.stderr.write(f"\r  risk agreement {i}/{len(ids)} {pid}   ")
    sys.stderr.write("\n")
    nomogram = first.nomogram
    boundaries = [g["below"] for g in nomogram.data["risk_groups"][:-1]]
    return {"synthetic_data": True, "cohort": str(cohort), "patients": len(ids), "reference": REFERENCE,
            "doi": "mask estimate (auto)" if doi_auto else "measured (clinical.csv)",
            "nomogram_sha256": nomogram.sha256, "risk_group_boundaries": boundaries,
            "variants": {name: summarize(risks[REFERENCE], risks[name], boundaries, nomogram.risk_group)
                         for name in pipelines if name != REFERENCE},
            "skipped": skipped, "risks": risks}


def main(argv=None) -> int:
    from inference.assets import DEFAULT_SEG_MODEL
    from training.seg.evaluate import select_patients

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", required=True, type=Path, help="the training cohort (with clinical.csv)")
    parser.add_argument("--model", type=Path, default=DEFAULT_SEG_MODEL, help="model folder (default: shipped)")
    parser.add_argument("--split", default="test", choices=("test", "validation", "train", "all"),
                        help="patients: the model's stored split (default: test)")
    parser.add_argument("--doi-auto", action="store_true", help="score with the mask's DOI estimate instead")
    parser.add_argument("--json", type=Path, default=None, help="also write the full result here")
    args = parser.parse_args(argv)
    result = measure(args.cohort, select_patients(args.cohort, args.model, args.split), args.model,
                     doi_auto=args.doi_auto)
    out = sys.stdout.write
    out(f"SYNTHETIC cohort, {result['patients']} patients, DOI {result['doi']}, reference {REFERENCE}\n")
    for name, v in result["variants"].items():
        out(f"{name:18s} n {v['n']:3d}  |risk change| max {v['max_abs_change']:.4f}  p95 {v['p95_abs_change']:.4f}"
            f"  mean {v['mean_abs_change']:.4f}  group changes {len(v['group_changes'])}"
            + "".join(f" [{c['patient_id']} {c['reference']:.3f}->{c['variant']:.3f}]" for c in v["group_changes"])
            + (f"  scored differently: {', '.join(v['scored_differently'])}" if v["scored_differently"] else "")
            + "\n")
    for name, reason in result["skipped"].items():
        out(f"{name:18s} skipped: {reason}\n")
    if args.json:
        from inference.atomic import write_json

        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
