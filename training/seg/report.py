"""Learning curves and the model card of a trained segmentation model (written into the model folder)."""

from __future__ import annotations

import json
from pathlib import Path

from inference.atomic import atomic_path


def plot_learning_curves(model_dir: Path, out: Path | None = None) -> Path:
    """PNG of training loss and validation 3D Dice per epoch, from ``history.json``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model_dir = Path(model_dir)
    history = json.loads((model_dir / "history.json").read_text())["history"]
    pretrain_file = model_dir / "history_pretrain.json"  # phase 1 (crops), when training had two phases
    phase_break = None
    if pretrain_file.exists():
        first = json.loads(pretrain_file.read_text())["history"]
        phase_break = len(first) + 0.5
        history = first + [{**h, "epoch": h["epoch"] + len(first)} for h in history]
    epochs = [h["epoch"] for h in history]
    fig, ax1 = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    ax1.plot(epochs, [h["loss"] for h in history], color="tab:blue", label="training loss (Dice + BCE)")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(epochs, [h["val_dice"] for h in history], color="tab:red", label="validation 3D Dice")
    ax2.set_ylabel("validation Dice (model grid)", color="tab:red")
    ax2.set_ylim(0, 1)
    best = max(history, key=lambda h: h["val_dice"])
    ax2.axvline(best["epoch"], color="gray", linestyle=":", linewidth=1)
    if phase_break:
        ax2.axvline(phase_break, color="black", linestyle="--", linewidth=1)
        ax2.text(phase_break, 0.03, " crops -> whole slices", fontsize=8)
    ax1.set_title("SYNTHETIC cohort: learning curves")
    fig.tight_layout()
    out = Path(out or model_dir / "learning_curves.png")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return out
