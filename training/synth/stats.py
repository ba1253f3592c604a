"""Measure a generated cohort and write the table shown in docs/cohort.md.

    python -m training.synth.stats --patients 100 --seed 1 --out docs/cohort_stats.md
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

import numpy as np

from training.synth.anatomy import Tissue
from training.synth.appearance import SEQUENCES
from training.synth.cohort import generate_patient

log = logging.getLogger(__name__)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney U statistic (ties count one half).

    Raises:
        ValueError: If only one class is present.
    """
    scores, labels = np.asarray(scores, float), np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs both classes, got {n_pos} positive and {n_neg} negative")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = 0.5 * (i + j) + 1.0
        i = j + 1
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _measure_patient(p) -> dict:
    row = {"lnm": p.clinical.lnm, "doi": p.clinical.doi_mm, "logit": p.truth["risk_logit"],
           "volume": p.truth["volume_ml"], "stage": p.clinical.ct_stage, "cn": p.clinical.cn_status,
           "sex": p.clinical.sex, "age": p.clinical.age, "fs": p.truth["fat_sat_cet1"]}
    for seq in SEQUENCES:
        img = p.volumes[seq].array.astype(np.float32)
        lab, frac = p.labels[seq], p.tumor_fraction[seq]
        tumor = frac >= 0.9
        muscle = (lab == Tissue.TONGUE) & (frac < 0.01)
        fat = lab == Tissue.FAT
        c = p.truth["contrast"][seq]
        sigma = c["scale"] / c["snr"]
        t_mean = float(img[tumor].mean()) if tumor.any() else float("nan")
        m_mean = float(img[muscle].mean())
        row[seq] = {"tumor": t_mean, "muscle": m_mean, "fat": float(img[fat].mean()),
                    "cnr_nominal": c["cnr"], "cnr_measured": (t_mean - m_mean) / sigma}
    return row


def _pct(values, q=(5, 50, 95)) -> str:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return " / ".join(f"{x:.2f}" for x in np.percentile(v, q))


def summarize(rows: list[dict], command: str) -> str:
    """Markdown report of the measured cohort."""
    n = len(rows)
    lnm = np.array([r["lnm"] for r in rows])
    lines = [f"Measured by `{command}` ({n} SYNTHETIC patients).", "",
             "| sequence | tumor mean | tongue muscle mean | subcutaneous fat mean | tumor/muscle | "
             "nominal CNR p5/p50/p95 | measured CNR p5/p50/p95 |", "|---|---|---|---|---|---|---|"]
    for seq in SEQUENCES:
        t = np.nanmean([r[seq]["tumor"] for r in rows])
        m = np.mean([r[seq]["muscle"] for r in rows])
        f = np.mean([r[seq]["fat"] for r in rows])
        ratio = np.nanmean([r[seq]["tumor"] / r[seq]["muscle"] for r in rows])
        lines.append(f"| {seq} | {t:.0f} | {m:.0f} | {f:.0f} | {ratio:.2f} | "
                     f"{_pct([r[seq]['cnr_nominal'] for r in rows])} | "
                     f"{_pct([r[seq]['cnr_measured'] for r in rows])} |")
    vol = np.array([r["volume"] for r in rows])
    stages = Counter(r["stage"] for r in rows)
    cn_pos = np.array([r["cn"] == 1 for r in rows])
    lines += ["", "| quantity | value |", "|---|---|",
              f"| tumor volume ml p5/p25/p50/p75/p95 | {_pct(vol, (5, 25, 50, 75, 95))} |",
              f"| tumor volume min / max ml | {vol.min():.2f} / {vol.max():.2f} |",
              f"| share under 1 ml | {np.mean(vol < 1.0):.0%} |",
              "| cT stage mix | " + ", ".join(f"{k} {stages[k]}" for k in ("T1", "T2", "T3")) + " |",
              f"| LNM prevalence | {lnm.mean():.0%} |",
              f"| male share / age mean (sd) | {np.mean([r['sex'] == 'M' for r in rows]):.0%} / "
              f"{np.mean([r['age'] for r in rows]):.1f} ({np.std([r['age'] for r in rows]):.1f}) |",
              f"| CE-T1 fat-suppressed share | {np.mean([r['fs'] for r in rows]):.0%} |",
              f"| MRI node report sensitivity / specificity | {cn_pos[lnm == 1].mean():.2f} / "
              f"{1 - cn_pos[lnm == 0].mean():.2f} |",
              f"| ROC AUC, measured DOI alone | {auc(np.array([r['doi'] for r in rows]), lnm):.3f} |",
              f"| ROC AUC, log tumor volume alone | {auc(np.log(vol), lnm):.3f} |",
              f"| ROC AUC, latent risk logit (oracle, incl. noise) | "
              f"{auc(np.array([r['logit'] for r in rows]), lnm):.3f} |"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure a SYNTHETIC cohort and write a markdown table.")
    parser.add_argument("--patients", type=int, default=100, help="patients to generate (default: 100)")
    parser.add_argument("--seed", type=int, default=1, help="cohort seed (default: 1)")
    parser.add_argument("--out", default="docs/cohort_stats.md", help="markdown file (default: docs/cohort_stats.md)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []
    for i in range(args.patients):
        p = generate_patient(f"SYN{i + 1:04d}", args.seed, with_labels=True)
        rows.append(_measure_patient(p))
        log.info("measured %s", p.patient_id)
    command = f"python -m training.synth.stats --patients {args.patients} --seed {args.seed} --out {args.out}"
    text = summarize(rows, command)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    log.info("%s", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
