"""Learning curves and the model card of a trained segmentation model (written into the model folder)."""

from __future__ import annotations

import json
from pathlib import Path

from inference.atomic import atomic_path
from training.seg.data import AugmentConfig


def earlier_phases(model_dir: Path) -> list[dict]:
    """The training phases before the final one (``history.json``), oldest first: ``[{"history", "train"}]``.

    ``history_pretrain.json`` holds one phase (``{"history", "train"}``) or several (``{"phases": [...]}``);
    missing: the model was trained in one phase.
    """
    path = Path(model_dir) / "history_pretrain.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return list(data["phases"]) if "phases" in data else [data]


def phase_label(before: dict, after: dict) -> str:
    """What changed between two phases' training configurations, in a few words."""
    if before.get("crop") != after.get("crop"):
        return "crops -> whole slices" if not after.get("crop") else f"{after['crop']}-px crops"
    if after.get("tumor_contrast_aug", 0) != before.get("tumor_contrast_aug", 0):
        return f"tumor-contrast augmentation {after.get('tumor_contrast_aug', 0):g}"
    changes = []
    geometry = {"rotation_deg": AugmentConfig.max_rotation_deg, "flip_ud": AugmentConfig.flip_ud}
    if any(after.get(k, d) != before.get(k, d) for k, d in geometry.items()):
        flips = " + top-bottom flips" if after.get("flip_ud") else ""
        changes.append(f"rotations +/-{after.get('rotation_deg', geometry['rotation_deg']):g} deg{flips}")
    if after.get("site_balance", 0) != before.get("site_balance", 0):
        changes.append(f"site balance {after.get('site_balance', 0):g}")
    return ", ".join(changes) or "restart"


def shipped_epoch(config: dict, history: list[dict]) -> dict:
    """The history record of the shipped weights: the one ``config.json`` "weights" names, else the best
    validation epoch."""
    chosen = config.get("weights", {}).get("epoch")
    if chosen is None:
        return max(history, key=lambda h: h["val_dice"])
    return next(h for h in history if h["epoch"] == chosen)


def plot_learning_curves(model_dir: Path, out: Path | None = None) -> Path:
    """PNG of training loss and validation 3D Dice per epoch, from ``history.json`` after any earlier phases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model_dir = Path(model_dir)
    final = {"history": json.loads((model_dir / "history.json").read_text())["history"],
             "train": json.loads((model_dir / "config.json").read_text())["train"]}
    phases = [*earlier_phases(model_dir), final]
    history, breaks = [], []
    for i, phase in enumerate(phases):
        if i:
            breaks.append((len(history) + 0.5, phase_label(phases[i - 1]["train"], phase["train"])))
        history += [{**h, "epoch": h["epoch"] + len(history)} for h in phase["history"]]
    epochs = [h["epoch"] for h in history]
    fig, ax1 = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    ax1.plot(epochs, [h["loss"] for h in history], color="tab:blue", label="training loss (Dice + BCE)")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(epochs, [h["val_dice"] for h in history], color="tab:red", label="validation 3D Dice")
    ax2.set_ylabel("validation Dice (model grid)", color="tab:red")
    ax2.set_ylim(0, 1)
    shipped = shipped_epoch(json.loads((model_dir / "config.json").read_text()), phases[-1]["history"])
    x_shipped = shipped["epoch"] + len(history) - len(phases[-1]["history"])
    ax2.axvline(x_shipped, color="gray", linestyle=":", linewidth=1)
    ax2.text(x_shipped, 0.93, "shipped ", fontsize=8, color="gray", ha="right")
    for k, (x, label) in enumerate(breaks):
        ax2.axvline(x, color="black", linestyle="--", linewidth=1)
        ax2.text(x, 0.03 + 0.07 * k, f" {label}", fontsize=8)
    ax1.set_title("SYNTHETIC cohort: learning curves")
    fig.tight_layout()
    out = Path(out or model_dir / "learning_curves.png")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return out
