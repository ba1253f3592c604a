"""One-page PDF report of a prediction (matplotlib, Agg; no Qt, no network, fonts bundled with matplotlib).

Contents: the synthetic-training disclaimer, the result (risk, tumor measures, clinical values used with
estimated ones marked), CE-T1 and T2 slices with the mask contour, the nomogram drawn with the patient's
points, and a model summary (test figures from the model's evaluation file, hashes, backend, timings).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inference.atomic import atomic_path
from inference.nomogram import LABELS, Nomogram
from inference.preprocess import canonical_axes, to_canonical


def _canonical(volume) -> np.ndarray:
    perm, flips, _ = canonical_axes(volume.geometry)
    return to_canonical(volume.array, perm, flips)


def _best_slice(mask: np.ndarray) -> int:
    area = mask.reshape(mask.shape[0], -1).sum(axis=1)
    return int(np.argmax(area)) if area.max() > 0 else mask.shape[0] // 2


def _zoom_box(mask2d: np.ndarray, margin: int = 24) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask2d)
    if len(ys) == 0:
        return slice(None), slice(None)
    half = int(max(np.ptp(ys), np.ptp(xs))) // 2 + margin
    cy, cx = int(ys.mean()), int(xs.mean())
    return (slice(max(0, cy - half), cy + half), slice(max(0, cx - half), cx + half))


def _window(image: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(image, (1, 99.5))
    return float(lo), float(max(hi, lo + 1e-6))


def _model_summary(model_dir: Path) -> str:
    try:
        summary = json.loads((model_dir / "eval_test.json").read_text())["summary"]
        dice = summary.get("dice", summary.get("all", {}).get("dice"))
        dice = dice.get("mean") if isinstance(dice, dict) else dice
        return f"test Dice {dice:.3f} on held-out SYNTHETIC patients" if dice is not None else ""
    except (OSError, KeyError, TypeError, ValueError):
        return "no evaluation file found"


def _draw_images(fig, grid, prediction) -> None:
    """CE-T1 at the slice with the largest tumor area, then CE-T1, T2 and T1 zoomed on the tumor."""
    volumes = {role: _canonical(prediction.prepared.volumes[role]) for role in ("cet1", "t2", "t1")}
    mask = _canonical(prediction.mask) > 0
    spacing = prediction.prepared.volumes["cet1"].geometry.spacing
    perm, _, _ = canonical_axes(prediction.prepared.volumes["cet1"].geometry)
    sp_zyx = [spacing[2 - a] for a in perm]
    aspect = sp_zyx[1] / sp_zyx[2]
    z = _best_slice(mask)
    zoom = _zoom_box(mask[z])
    panels = [("CE-T1", "cet1", (slice(None), slice(None))), ("CE-T1 (zoom)", "cet1", zoom),
              ("T2 (zoom)", "t2", zoom), ("T1 (zoom)", "t1", zoom)]
    for i, (title, role, box) in enumerate(panels):
        ax = fig.add_subplot(grid[i])
        vol = volumes[role]
        lo, hi = _window(vol)
        ax.imshow(vol[z][box], cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="nearest")
        if mask[z][box].any():
            ax.contour(mask[z][box].astype(float), levels=[0.5], colors="#ff3030", linewidths=0.9)
        ax.set_title(f"{title}, slice {z + 1}/{vol.shape[0]}", fontsize=7)
        for text, x, y, ha, va in (("R", 0.02, 0.5, "left", "center"), ("L", 0.98, 0.5, "right", "center"),
                                   ("A", 0.5, 0.98, "center", "top")):
            ax.text(x, y, text, color="yellow", fontsize=7, transform=ax.transAxes, ha=ha, va=va)
        ax.set_axis_off()


def draw_nomogram(ax, nomogram: Nomogram, points: dict[str, float] | None, total: float | None) -> None:
    """Draw the nomogram's axes with the patient's points as red markers (also used by the docs)."""
    axes = nomogram.axes()
    rows = [("Points", [(f"{p:g}", p) for p in range(0, 101, 10)])] + [(a.label, a.ticks) for a in axes]
    max_total = nomogram.max_total_points
    total_ticks = [(f"{t:g}", t * 100 / max_total) for t in np.linspace(0, max_total, 6).round(0)]
    rows += [("Total points", total_ticks),
             ("Risk of LNM", [(lab, t * 100 / max_total) for lab, t in nomogram.probability_ticks()])]
    patient = [None] + [points.get(a.variable) if points else None for a in axes]
    patient += [None if total is None else total * 100 / max_total, None if total is None else total * 100 / max_total]
    for r, ((label, ticks), mark) in enumerate(zip(rows, patient, strict=True)):
        y = len(rows) - 1 - r
        xs = [t[1] for t in ticks]
        if xs:
            ax.plot([min(xs), max(xs)], [y, y], color="black", lw=0.8)
        shown = -1e9
        for text, x in sorted(ticks, key=lambda t: t[1]):
            if x - shown < 4:  # keep labels of short axes from overlapping
                continue
            shown = x
            ax.plot([x, x], [y, y + 0.15], color="black", lw=0.6)
            ax.text(x, y + 0.2, text, fontsize=5.5, ha="center", va="bottom")
        ax.text(-3, y, label, fontsize=6.5, ha="right", va="center")
        if mark is not None:
            ax.plot([mark], [y], marker="o", color="#d01010", ms=4)
    ax.set_xlim(-40, 105)
    ax.set_ylim(-0.7, len(rows))
    ax.set_axis_off()


def build_figure(prediction, *, nomogram: Nomogram, model_dir: Path):
    """The report page as a matplotlib Figure (not saved; ``write_report`` saves it).

    Every text on it comes from ``prediction.to_json()`` (the patient is named by ``patient_id`` only)
    and the model folder's evaluation file: no header text of the inputs (docs/privacy.md).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpec

    from inference.pipeline import DISCLAIMER

    fig = Figure(figsize=(8.27, 11.69))
    gs = GridSpec(4, 4, figure=fig, height_ratios=[0.9, 1.15, 2.2, 0.7], hspace=0.35, wspace=0.08,
                  left=0.05, right=0.97, top=0.95, bottom=0.03)
    r = prediction.to_json()
    fig.suptitle(f"otscc-edge report: patient {r['patient_id']}", fontsize=12, x=0.05, ha="left")
    head = fig.add_subplot(gs[0, :])
    head.set_axis_off()
    head.text(0, 1.0, DISCLAIMER, fontsize=7.5, color="#a00000", va="top", wrap=True,
              bbox={"facecolor": "#fff0f0", "edgecolor": "#a00000"})
    if r["status"] == "ok":
        risk = f"Risk of cervical lymph-node metastasis: {r['probability']:.0%} ({r['risk_group']} risk)"
    else:
        risk = "No tumor found by the model: no radiomics and no risk are reported."
    head.text(0, 0.62, risk, fontsize=11, weight="bold", va="top")
    tumor = r["tumor"]
    c = r["clinical"]
    doi = f"{c.get('doi_mm')} mm" + (" (ESTIMATED from the mask)" if r["doi_mm_estimated"] else "")
    lines = [f"Tumor: {tumor['volume_ml']:.2f} ml, largest diameter {tumor['largest_diameter_mm']:.1f} mm, "
             f"mask-estimated DOI {tumor['doi_estimate_mm']:.1f} mm"
             + ("; mask EDITED by the user" if r["mask_edited"] else ""),
             f"Clinical: age {c.get('age')}, sex {c.get('sex')}, clinical T stage {c.get('ct_stage')}, "
             f"MRI node status {c.get('cn_status')}, depth of invasion {doi}"]
    if r["status"] == "ok":
        lines.append(f"Rad-score {r['radscore']:+.3f}; total points {r['total_points']:.1f}; points: "
                     + ", ".join(f"{LABELS.get(k, k)} {v:.0f}" for k, v in r["points"].items()))
    head.text(0, 0.38, "\n".join(lines), fontsize=7, va="top", linespacing=1.5)
    _draw_images(fig, [gs[1, i] for i in range(4)], prediction)
    nom_ax = fig.add_subplot(gs[2, :])
    draw_nomogram(nom_ax, nomogram, r["points"], r["total_points"])
    nom_ax.set_title("Fusion nomogram (red: this patient)", fontsize=8, loc="left")
    foot = fig.add_subplot(gs[3, :])
    foot.set_axis_off()
    b = r["backend"]
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in r["timings_s"].items())
    foot.text(0, 1, "\n".join([
        f"Segmentation model: {model_dir.name} ({_model_summary(model_dir)}); backend "
        f"{b.get('backend')} {b.get('variant', b.get('model_file', ''))}",
        f"Nomogram sha256 {r['nomogram_sha256'][:16]}... (fitted on {r['nomogram_mask_source']} masks of a "
        f"SYNTHETIC cohort); otscc-edge {r['otscc_edge']}",
        f"Stage timings: {timings}",
        *[f"Warning: {w}" for w in r["warnings"][:4]],
    ]), fontsize=6, va="top", linespacing=1.5)
    return fig


def write_report(prediction, path: str | Path, *, nomogram: Nomogram, model_dir: Path) -> Path:
    """Write the one-page PDF atomically and return its path.

    The PDF's document information names the product only (no patient id, no input paths).
    """
    from matplotlib.backends.backend_pdf import PdfPages

    from inference import __version__

    fig = build_figure(prediction, nomogram=nomogram, model_dir=model_dir)
    metadata = {"Title": "otscc-edge report", "Creator": f"otscc-edge {__version__}"}
    path = Path(path)
    with atomic_path(path) as tmp, PdfPages(tmp, metadata=metadata) as pdf:
        pdf.savefig(fig)
    return path
