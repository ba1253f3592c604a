"""PNG plots of an ``eval-nomogram`` result: ROC curves (training, test), calibration and decision curves.

Drawn from the results dict alone (the per-patient probabilities it carries), so a saved ``--json`` can be
re-plotted. Matplotlib's Agg canvas only: no display, no pyplot state. Every title says SYNTHETIC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.atomic import atomic_path

SET_TITLES = {"train": "training patients", "test": "held-out test patients"}
STYLE = {"fusion_auto": "tab:red", "fusion_manual": "tab:blue", "clinical": "tab:gray"}


def write_plots(results: dict, out_dir: Path) -> list[Path]:
    """Write roc_train.png, roc_test.png, calibration.png and decision_curve.png; return their paths."""
    out_dir = Path(out_dir)
    written = [_save(_roc(results, s), out_dir / f"roc_{s}.png") for s in ("train", "test")]
    written.append(_save(_calibration(results), out_dir / "calibration.png"))
    written.append(_save(_decision(results), out_dir / "decision_curve.png"))
    return written


def _figure(width: float, height: float, ncols: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _color(name: str, i: int) -> str:
    return STYLE.get(name, f"C{i}")


def _curve_style(i: int, n: int) -> dict:
    """Line style of the ``i``-th of ``n`` models' curves: the first (the nomogram evaluated; the others are
    comparisons) wide, solid and on top, the others narrower and dashed, so curves that coincide stay visible
    (the shipped fusion model's ROC lay exactly under the clinical-only one, 2026-12-01)."""
    return {"lw": 2.6 if i == 0 else 1.6, "ls": "-" if i == 0 else ("--", ":", "-.")[(i - 1) % 3], "zorder": 2 + n - i}


def _roc(results: dict, s: str):
    from sklearn.metrics import roc_curve

    fig, (ax,) = _figure(5.2, 5.0, 1)
    ax.plot([0, 1], [0, 1], color="0.75", lw=1, ls="--")
    for i, (name, m) in enumerate(results["models"].items()):
        r = m["sets"][s]
        fpr, tpr, _ = roc_curve(r["outcomes"], r["probabilities"])
        ax.plot(fpr, tpr, color=_color(name, i), **_curve_style(i, len(results["models"])),  # ties: diagonals
                label=f"{name}: AUC {r['auc']:.3f} [{r['auc_ci95'][0]:.2f}, {r['auc_ci95'][1]:.2f}]")
        y, p = np.asarray(r["outcomes"], bool), np.asarray(r["probabilities"])
        pred = p >= r["threshold"]
        ax.plot(np.mean(pred[~y]), np.mean(pred[y]), "o", color=_color(name, i), ms=6)
    n, prev = m["sets"][s]["n"], m["sets"][s]["prevalence"]
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 - specificity", ylabel="sensitivity", aspect="equal",
           title=f"ROC, {SET_TITLES[s]} (n = {n}, {prev:.0%} LNM)\nSYNTHETIC cohort")
    ax.legend(loc="lower right", fontsize=8, title="dot: training Youden threshold", title_fontsize=7)
    return fig


def _calibration(results: dict):
    fig, axes = _figure(10, 4.8, 2)
    for ax, s in zip(axes, ("train", "test"), strict=True):
        ax.plot([0, 1], [0, 1], color="0.75", lw=1, ls="--", label="perfect")
        for i, (name, m) in enumerate(results["models"].items()):
            r = m["sets"][s]
            pts = r["calibration_curve"]
            ax.plot([c["predicted"] for c in pts], [c["observed"] for c in pts], "o-", color=_color(name, i),
                    label=f"{name}: int {r['calibration_intercept']:.2f}, slope {r['calibration_slope']:.2f}, "
                          f"Brier {r['brier']:.3f}")
            ax.plot(r["probabilities"], np.full(len(r["probabilities"]), -0.03 - 0.025 * i), "|",
                    color=_color(name, i), ms=6, alpha=0.5)
        ax.set(xlim=(0, 1), ylim=(-0.04 - 0.025 * len(results["models"]), 1.02), xlabel="predicted probability",
               ylabel="observed LNM rate (quintiles of prediction)", title=f"Calibration, {SET_TITLES[s]}")
        ax.legend(loc="upper left", fontsize=7)
    fig.suptitle("SYNTHETIC cohort (ticks below: individual predictions)")
    return fig


def _decision(results: dict):
    fig, axes = _figure(10, 4.6, 2)
    for ax, s in zip(axes, ("train", "test"), strict=True):
        rows, lowest = None, -0.05
        for i, (name, m) in enumerate(results["models"].items()):
            rows = m["sets"][s]["decision_curve"]
            lowest = min(lowest, *(r["model"] for r in rows))
            ax.plot([r["threshold"] for r in rows], [r["model"] for r in rows], color=_color(name, i),
                    **_curve_style(i, len(results["models"])), label=name)
        t = [r["threshold"] for r in rows]
        ax.plot(t, [r["treat_all"] for r in rows], color="k", lw=1, ls="--", label="treat all")
        ax.plot(t, [r["treat_none"] for r in rows], color="k", lw=1, ls=":", label="treat none")
        prevalence = m["sets"][s]["prevalence"]
        # down to the lowest model curve (harm shown, not clipped), but not down to treat-all's steep tail
        ax.set(xlim=(0, 1), ylim=(max(-0.5, lowest) - 0.02, max(0.05, prevalence) * 1.1),
               xlabel="threshold probability", ylabel="net benefit", title=f"Decision curve, {SET_TITLES[s]}")
        ax.legend(loc="upper right", fontsize=8)
    fig.suptitle("SYNTHETIC cohort")
    return fig
