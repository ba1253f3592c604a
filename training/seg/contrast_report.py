"""Per-patient Dice against each patient's drawn tumor contrast (SYNTHETIC cohort ``truth.json``).

``python -m training.seg.contrast_report --cohort data/cohort136 EVAL.json [EVAL.json ...]`` where each EVAL.json
is ``otscc eval-seg --json`` output. Prints the rank correlation of Dice with the CE-T1, T2 and best-of-both
contrast-to-noise ratios, the mean Dice by CE-T1 CNR band (does the model read T2 when CE-T1 is faint?) and by
the tumor's site on the tongue (lateral border, ventral surface, dorsum: does it find tumors where few of the
training tumors are?).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

BANDS = ((0, 4), (4, 7), (7, 10), (10, float("inf")))


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def contrast_table(cohort: Path, evals: list[dict]) -> dict:
    rows = []
    for result in evals:
        for p in result["patients"]:
            truth = json.loads((Path(cohort) / p["patient_id"] / "truth.json").read_text())
            rows.append((p["dice"], truth["contrast"]["cet1"]["cnr"], truth["contrast"]["t2"]["cnr"], truth["site"]))
    dice, cet1, t2 = (np.array(c, float) for c in list(zip(*rows, strict=True))[:3])
    site = np.array([r[3] for r in rows])
    spearman = {name: float(np.corrcoef(_ranks(x), _ranks(dice))[0, 1])
                for name, x in (("cet1", cet1), ("t2", t2), ("best_of_both", np.maximum(cet1, t2)))}
    bands = []
    for lo, hi in BANDS:
        m = (cet1 >= lo) & (cet1 < hi)
        bands.append({"cet1_cnr": [lo, hi], "n": int(m.sum()),
                      "dice_mean": float(dice[m].mean()) if m.any() else None,
                      "dice_median": float(np.median(dice[m])) if m.any() else None})
    sites = [{"site": name, "n": int((site == name).sum()), "dice_mean": float(dice[site == name].mean()),
              "dice_median": float(np.median(dice[site == name])),
              "below_0_5": int(((site == name) & (dice < 0.5)).sum())} for name in sorted(set(site))]
    return {"patients": len(rows), "dice_mean": float(dice.mean()), "spearman_dice_vs_cnr": spearman,
            "by_cet1_cnr": bands, "by_site": sites}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", required=True, help="the synthetic cohort the evaluations ran on")
    parser.add_argument("evals", nargs="+", help="otscc eval-seg --json outputs")
    args = parser.parse_args(argv)
    table = contrast_table(Path(args.cohort), [json.loads(Path(f).read_text()) for f in args.evals])
    out = sys.stdout.write
    out(f"{table['patients']} patients, mean Dice {table['dice_mean']:.3f}\n")
    out("rank correlation of Dice with CNR: "
        + ", ".join(f"{k} {v:+.2f}" for k, v in table["spearman_dice_vs_cnr"].items()) + "\n")
    for band in table["by_cet1_cnr"]:
        lo, hi = band["cet1_cnr"]
        mean = "-" if band["dice_mean"] is None else f"{band['dice_mean']:.3f} (median {band['dice_median']:.3f})"
        out(f"  CE-T1 CNR {lo:g}-{hi:g}: n={band['n']:3d}  Dice {mean}\n")
    for row in table["by_site"]:
        out(f"  site {row['site']:8s}: n={row['n']:3d}  Dice {row['dice_mean']:.3f} (median {row['dice_median']:.3f}), "
            f"{row['below_0_5']} below 0.5\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
