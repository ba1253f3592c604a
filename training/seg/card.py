"""Write ``model_card.md`` for a trained segmentation model from its config, history and evaluations.

    python -m training.seg.card MODEL_DIR --test eval_test.json --fresh eval_fresh.json

Every figure in the card is read from those files; nothing is typed in by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from training.seg.data import AugmentConfig


def _row(name: str, s: dict) -> str:
    if not s["n"]:
        return f"| {name} | 0 | | | | |"

    def cell(key, fmt):
        v = s[key]
        return "n/a" if v is None else f"{fmt.format(v['mean'])} ({fmt.format(v['median'])})"

    return (f"| {name} | {s['n']} | {cell('dice', '{:.3f}')} | {cell('iou', '{:.3f}')} | "
            f"{cell('hd95_mm', '{:.1f}')} | {s['volume_error_ml']['mean']:+.2f} |")


def metrics_table(result: dict) -> str:
    lines = ["| stratum (true volume) | n | Dice mean (median) | IoU mean (median) | HD95 mm mean (median) | "
             "volume error ml (mean) |", "|---|---|---|---|---|---|"]
    lines += [_row(name, s) for name, s in result["summary"].items()]
    return "\n".join(lines)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _input_text(train_cfg: dict, model_cfg: dict) -> str:
    return f"{train_cfg['crop']}-pixel crops" if train_cfg.get("crop") else f"whole {model_cfg['size']}-pixel slices"


def _loss_note(cfg: dict, final: dict) -> str:
    """Names an earlier phase's loss where it differs from the final phase's."""
    return f", loss {_loss_text(cfg)}" if cfg.get("dice", "sample") != final.get("dice", "sample") else ""


def _pretrain_text(model_dir: Path, final: dict | None = None) -> str:
    from training.seg.report import earlier_phases

    final = final or {}
    text, cfg_before = "", {}
    for i, phase in enumerate(earlier_phases(model_dir), 1):
        history, cfg = phase["history"], phase["train"]
        best = max(history, key=lambda h: h["val_dice"])
        start = "from random initialization" if i == 1 else f"from phase {i - 1}'s {_kept(cfg_before)} weights"
        text += (f"\n- Phase {i} ({start}): batch {cfg['batch_size']} of {_input_text(cfg, cfg['model'])}, "
                 f"{cfg['steps_per_epoch']} steps per epoch, lr {cfg['learning_rate']}{_aug_text(cfg)}, "
                 f"{len(history)} epochs in {history[-1]['seconds'] / 60:.0f} min, best validation Dice "
                 f"{best['val_dice']:.3f}{_schedule_note(cfg)}{_loss_note(cfg, final)}.")
        cfg_before = cfg
    return text + (f"\n- The final phase starts from the previous phase's {_kept(cfg_before)} weights." if text else "")


def _schedule_text(cfg: dict) -> str:
    if cfg.get("schedule") == "cosine":
        return (f"learning rate decayed along a cosine to {cfg.get('min_learning_rate', 2e-5):g} over each phase's "
                f"planned epochs, whatever the validation did")
    return f"learning rate halved after {cfg.get('lr_patience', 4)} epochs without validation gain"


def _schedule_note(cfg: dict) -> str:
    return ", cosine schedule, last epoch kept" if cfg.get("schedule") == "cosine" and _kept(cfg) == "last" else ""


def _loss_text(cfg: dict) -> str:
    """The loss of a training configuration; configs from before ``--dice`` used the per-slice Dice."""
    if cfg.get("dice", "sample") == "batch":
        return "soft Dice pooled over each batch (`--dice batch`) + BCE"
    return "soft Dice of each slice + BCE"


def _kept(cfg: dict) -> str:
    return "last" if cfg.get("keep") == "last" else "best"


def _aug_text(cfg: dict) -> str:
    p = cfg.get("tumor_contrast_aug", 0)
    text = f", tumor faded on CE-T1 or T2 in {p:.0%} of slices" if p else ""
    default = AugmentConfig.max_rotation_deg
    if cfg.get("rotation_deg", default) != default:
        text += f", rotations up to {cfg['rotation_deg']:g} degrees"
    text += ", top-bottom flips" if cfg.get("flip_ud") else ""
    balance = cfg.get("site_balance", 0)
    return text + (f", patients sampled by tumor site (weight n_site^-{balance:g})" if balance else "")


def _weights_text(config: dict, history: list[dict], best: dict) -> str:
    """Which epoch's weights ship: the best validation epoch, or the one ``config.json`` "weights" names."""
    from training.seg.report import shipped_epoch

    best_text = f"best validation 3D Dice (model grid) {best['val_dice']:.3f} at its epoch {best['epoch']}"
    rec = shipped_epoch(config, history)
    if rec["epoch"] == best["epoch"]:
        return best_text + "."
    return (f"shipped weights: its epoch {rec['epoch']} (validation 3D Dice {rec['val_dice']:.3f}, model grid; "
            f"{best_text}), {config['weights']['why']}.")


def write_card(model_dir: Path, test: dict, fresh: dict | None, notes: tuple[str, ...] = ()) -> Path:
    model_dir = Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    history = json.loads((model_dir / "history.json").read_text())["history"]
    split = json.loads((model_dir / "split.json").read_text())
    pretrain = _pretrain_text(model_dir, config["train"])
    best = max(history, key=lambda h: h["val_dice"])
    train_cfg, model_cfg = config["train"], config["train"]["model"]
    text = f"""# Model card: OTSCC tumor segmentation (MobileNetV2 U-Net), SYNTHETIC training data

**Trained only on SYNTHETIC phantoms** generated by `otscc synth` (see `docs/cohort.md`). It has never seen
a real MRI of a real patient. Its figures below describe synthetic test patients and say nothing about
clinical accuracy. Research use only; not a medical device.

## Intended use
Segment the primary tongue tumor from co-registered CE-T1, T2 and T1 axial MRI (channels 0, 1, 2), as the
first stage of the otscc-edge pipeline. Input: 256x256 slices at 0.625 mm over a 160 mm field of view,
prepared by `inference/preprocess.py` (version {config.get('preprocess_version')}). Output: tumor
probability per pixel; the runtime thresholds at 0.5 and post-processes on the CE-T1 grid.

## Model
- MobileNetV2 encoder, width alpha {model_cfg['alpha']}, randomly initialized (no downloaded weights);
  U-Net decoder "{model_cfg['decoder']}" with filters {model_cfg['decoder_filters']}.
- Files: `best.weights.h5` (tf-keras weights, sha256 `{sha256(model_dir / 'best.weights.h5')[:16]}...`),
  `model_fp32.tflite` (LiteRT, batch 1, sha256 `{sha256(model_dir / 'model_fp32.tflite')[:16]}...`),
  `config.json` (architecture and training configuration).

## Training
- Cohort: {len(split['train'])} training and {len(split['validation'])} validation SYNTHETIC patients
  (seed-100 cohort of {len(split['train']) + len(split['validation']) + len(split['test'])}); {len(split['test'])}
  patients held out for test (`split.json`).
- Loss {_loss_text(train_cfg)}, Adam, {_schedule_text(train_cfg)}, tumor slices oversampled to
  {train_cfg['tumor_fraction']:.0%}, flips/rotations/scales/gamma/bias-field/
  noise augmentation, 2 CPU cores.{pretrain}
- Final phase: batch {train_cfg['batch_size']} of {_input_text(train_cfg, model_cfg)}, {train_cfg['steps_per_epoch']}
  steps per epoch, lr {train_cfg['learning_rate']}{_aug_text(train_cfg)}, {len(history)} epochs in
  {history[-1]['seconds'] / 60:.0f} min;
  {_weights_text(config, history, best)}
  Learning curves: `learning_curves.png`.

## Evaluation (original CE-T1 grid, runtime post-processing, LiteRT fp32)
Held-out test patients of the training cohort ({test['summary']['all']['n']} patients):

{metrics_table(test)}
"""
    if fresh:
        text += f"""
Fresh cohort from a seed never used in training (`{fresh.get('cohort', '')}`, {fresh['summary']['all']['n']}
patients, generalization check):

{metrics_table(fresh)}
"""
    overall = test["summary"]["all"]
    reached = overall["dice"]["mean"] >= 0.87 and overall["iou"]["mean"] >= 0.79
    strata = {k: v for k, v in test["summary"].items() if k != "all" and v["n"]}
    hardest = min(strata, key=lambda k: strata[k]["dice"]["mean"])
    text += f"""
Goal set from the paper's test figures (real patients, a different model and data): mean Dice >= 0.87 and
IoU >= 0.79. **{"Reached" if reached else "Not reached"}** on the synthetic test patients (mean Dice
{overall['dice']['mean']:.3f}, IoU {overall['iou']['mean']:.3f}).

## Limits
- Synthetic anatomy is simpler than real anatomy (geometric phantom); real-world accuracy is unknown.
- Weakest stratum on the test patients: {hardest} (mean Dice {strata[hardest]['dice']['mean']:.3f}).
- Fixed field of view of 160 mm centred on the head: tumors outside it are not seen.
- Axial acquisitions expected; other orientations are reformatted with a warning.
"""
    text += "".join(f"- {note}\n" for note in notes)
    out = model_dir / "model_card.md"
    out.write_text(text)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="trained model folder")
    parser.add_argument("--test", required=True, help="eval-seg --json output on the test split")
    parser.add_argument("--fresh", default=None, help="eval-seg --json output on a fresh cohort (default: none)")
    parser.add_argument("--note", action="append", default=[], help="extra limitation to list (repeatable)")
    args = parser.parse_args(argv)
    fresh = json.loads(Path(args.fresh).read_text()) if args.fresh else None
    test = json.loads(Path(args.test).read_text())
    print(write_card(Path(args.model_dir), test, fresh, tuple(args.note)))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
