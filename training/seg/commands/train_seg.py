"""``otscc train-seg``: train the multiparametric MobileNetV2 U-Net on a (synthetic) cohort."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.seg.model import ModelConfig
from training.seg.train import TrainConfig, train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d, m = TrainConfig(), ModelConfig()
    a = parser.add_argument
    a("--cohort", required=True, help="cohort folder (<id>/cet1,t2,t1,mask .nii.gz), e.g. from otscc synth")
    a("--out", required=True, help="model folder to write (config, split, checkpoints, weights, tflite)")
    a("--alpha", type=float, default=m.alpha, help=f"MobileNetV2 width multiplier (default: {m.alpha})")
    a("--decoder", choices=("light", "pix2pix"), default=m.decoder, help=f"decoder type (default: {m.decoder})")
    a("--head-skip", action="store_true",
      help="light decoder: feed the 256x256 input to the output convolution too, for sharper edges (default: off)")
    a("--size", type=int, default=m.size, help=f"model input size in pixels (default: {m.size})")
    a("--fov-mm", type=float, default=d.fov_mm, help=f"field of view of the model grid (default: {d.fov_mm})")
    a("--epochs", type=int, default=d.epochs, help=f"maximum epochs (default: {d.epochs})")
    a("--steps", type=int, default=d.steps_per_epoch, help=f"batches per epoch (default: {d.steps_per_epoch})")
    a("--batch", type=int, default=d.batch_size, help=f"batch size (default: {d.batch_size})")
    a("--crop", type=int, default=None, help="train on random crops of this size (default: whole slices)")
    a("--lr", type=float, default=d.learning_rate, help=f"Adam learning rate (default: {d.learning_rate})")
    a("--patience", type=int, default=d.patience, help=f"early-stopping patience in epochs (default: {d.patience})")
    a("--lr-patience", type=int, default=d.lr_patience,
      help=f"halve the learning rate after N epochs without improvement, 0 = never (default: {d.lr_patience})")
    a("--schedule", choices=("plateau", "cosine"), default=d.schedule,
      help="learning rate: plateau = halve after --lr-patience epochs without improvement; cosine = decay from "
           f"--lr to {d.min_learning_rate:g} over --epochs, whatever the validation does (default: {d.schedule})")
    a("--keep", choices=("best", "last"), default=d.keep,
      help="weights to keep: the best validation epoch's, or the last epoch's (a choice made before training, "
           f"named in config.json \"weights\") (default: {d.keep})")
    a("--dice", choices=("sample", "batch"), default=d.dice,
      help="the loss's soft Dice: over each slice, or pooled over the batch (nnU-Net's batch Dice: a slice "
           f"without tumor has no Dice term of its own) (default: {d.dice})")
    a("--split-from", default=None, metavar="SPLIT_JSON",
      help="reuse this split.json (e.g. assets/models/seg/split.json) instead of drawing one: same test and "
           "validation patients as that model (default: draw from --seed)")
    a("--tumor-contrast-aug", type=float, default=d.tumor_contrast_aug, metavar="P",
      help="probability of lowering the tumor's contrast on CE-T1 or T2 in a training slice, so the model learns "
           f"to read the other sequence (default: {d.tumor_contrast_aug})")
    a("--rotation", type=float, default=d.rotation_deg, metavar="DEG",
      help=f"random in-plane rotation of training slices up to +/-DEG degrees (default: {d.rotation_deg:g})")
    a("--flip-ud", action="store_true",
      help="also mirror training slices top-bottom (with --rotation 180: the tumor's position in the slice no "
           "longer tells the model anything; default: left-right only)")
    a("--site-balance", type=float, default=d.site_balance, metavar="EXP",
      help="sample training patients with weight n_site^-EXP by tumor site (truth.json \"site\"): 0 = every "
           f"patient equally often, 1 = every site equally often (default: {d.site_balance:g})")
    a("--seed", type=int, default=d.seed, help=f"seed for split, sampling and init (default: {d.seed})")
    a("--strategy", choices=("default", "mirrored", "multiworker"), default=d.strategy,
      help="tf.distribute strategy: mirrored = all local GPUs, multiworker = TF_CONFIG cluster (default: default)")
    a("--init-weights", default=None, help="start from this weights file of the same architecture, or of the same "
      "network without --head-skip (its new weights then start at zero) (default: none)")
    a("--no-resume", action="store_true",
      help="start over: a previous run in --out is first moved into OUT/previous-<UTC time>/ (default: resume a run "
           "in --out; its network and data settings must be the ones given, its budget (--epochs, --patience, "
           "--lr-patience) may change)")
    a("--cache", default=None, help="folder for preprocessed stacks, shareable between runs (default: OUT/cache)")
    a("--max-minutes", type=float, default=None,
      help="stop after the epoch that passes this wall-clock budget; the same command run again resumes "
      "(default: none)")
    a("--max-patients", type=int, default=None, help="use only the first N patients (default: all)")


def run(args: argparse.Namespace) -> int:
    from inference.pipeline import check_output_dir

    check_output_dir(args.out, [args.cohort])  # the cohort is an input: never written to
    cfg = TrainConfig(
        model=ModelConfig(alpha=args.alpha, size=args.size, decoder=args.decoder, head_skip=args.head_skip),
        fov_mm=args.fov_mm,
        epochs=args.epochs, steps_per_epoch=args.steps, batch_size=args.batch, crop=args.crop,
        learning_rate=args.lr, patience=args.patience, lr_patience=args.lr_patience, seed=args.seed,
        tumor_contrast_aug=args.tumor_contrast_aug, rotation_deg=args.rotation, flip_ud=args.flip_ud,
        site_balance=args.site_balance, strategy=args.strategy, schedule=args.schedule, keep=args.keep,
        dice=args.dice,
    )
    try:
        summary = train(Path(args.cohort), Path(args.out), cfg, resume=not args.no_resume,
                        init_weights=args.init_weights, max_patients=args.max_patients,
                        cache_dir=args.cache, max_seconds=args.max_minutes * 60 if args.max_minutes else None,
                        split_from=Path(args.split_from) if args.split_from else None)
        if summary["best_epoch"] is not None:
            from training.seg.export_tflite import export_fp32

            tflite = export_fp32(Path(args.out))
            summary["tflite"] = str(tflite)
    except KeyboardInterrupt:  # the run folder is consistent after any step: say how to go on, then "interrupted"
        print(resume_note(Path(args.out), args.epochs, args.no_resume), file=sys.stderr, flush=True)
        raise
    summary.pop("split", None)
    print(json.dumps(summary, indent=2))
    return 0


def resume_note(out: Path, epochs: int, no_resume: bool) -> str:
    """What an interrupted run kept in ``out`` and how to go on: Ctrl+C said only "interrupted", which left
    the user to guess that the same command resumes (and that --no-resume would move the kept epochs aside)."""
    from training.seg import run_folder

    again = "the same command without --no-resume" if no_resume else "the same command"
    if not run_folder.has_checkpoint(out):
        return f"stopped before the first epoch was saved; {again} starts the run in {out} again"
    try:
        done = len(json.loads((out / "history.json").read_text())["history"])
    except (OSError, ValueError, KeyError):
        return f"stopped; the epochs saved in {out} are kept, and {again} resumes after the last of them"
    if done >= epochs:
        return f"stopped after training ({done} of {epochs} epochs saved in {out}); {again} writes the model files"
    return f"stopped with {done} of {epochs} epochs saved in {out}; {again} resumes after epoch {done}"
