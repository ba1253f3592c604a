"""Train the U-Net: Dice + BCE, Adam, best checkpoint and early stopping on validation 3D Dice, resumable.

Output folder layout (nothing is written into the cohort):
    config.json            model + training configuration
    split.json             patient-level split (reused on resume and by eval-seg)
    cache/                 model-grid stacks per patient (safe to delete)
    ckpt/                  tf.train.Checkpoint of model + optimizer + epoch + early-stopping/plateau state (resume)
    best.weights.h5        weights with the best validation Dice (with keep="last": the last epoch's, named in
                           config.json "weights"); written as pending-epochN.weights.h5 and renamed once the
                           checkpoint of epoch N is saved (training.seg.run_folder)
    history.json           per-epoch loss and validation Dice
    previous-<UTC time>/   a previous run, moved aside by --no-resume (never deleted)
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from inference.atomic import atomic_path
from inference.preprocess import PREPROCESS_VERSION, ModelGrid
from training.progress import PatientProgress
from training.seg import data, run_folder
from training.seg.model import ModelConfig, build_model

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    fov_mm: float = 160.0
    epochs: int = 40
    steps_per_epoch: int = 100
    batch_size: int = 8
    crop: int | None = None  # train on random crops (fully convolutional); None = whole slices
    learning_rate: float = 1e-3
    patience: int = 8
    lr_patience: int = 4  # halve the learning rate after this many epochs without improvement (0 = never)
    min_learning_rate: float = 2e-5
    schedule: str = "plateau"  # plateau: halve after lr_patience epochs without improvement; cosine: fixed decay
    keep: str = "best"  # best: the best-validation epoch's weights; last: the last epoch's (config "weights")
    dice: str = "sample"  # soft Dice over each slice ("sample") or over the whole batch ("batch", nnU-Net's batch Dice)
    tumor_fraction: float = 0.6
    tumor_contrast_aug: float = 0.0  # AugmentConfig.tumor_contrast_p
    rotation_deg: float = data.AugmentConfig.max_rotation_deg
    flip_ud: bool = data.AugmentConfig.flip_ud
    site_balance: float = 0.0  # data.site_weights exponent: 0 = patients uniform, 1 = tumor sites uniform
    seed: int = 0
    strategy: str = "default"  # default | mirrored | multiworker

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        d["model"] = ModelConfig.from_dict(d["model"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _strategy(name: str):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":  # reads TF_CONFIG; a single worker without it
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; use default, mirrored or multiworker")


def cosine_learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch`` under the cosine schedule: from ``learning_rate`` at the first epoch
    down to ``min_learning_rate`` at the last planned one (``epochs``), whatever the validation does."""
    span = max(1, cfg.epochs - 1)
    t = min(epoch, span) / span
    return cfg.min_learning_rate + (cfg.learning_rate - cfg.min_learning_rate) * 0.5 * (1.0 + np.cos(np.pi * t))


def dice_bce_loss(y_true, y_pred, batch_dice: bool = False):
    """Soft Dice + binary cross-entropy, one value per slice (Keras averages them).

    ``batch_dice=False`` computes the Dice of each slice on its own: on a slice without tumor (most of the 40 %
    of training slices drawn from anywhere in the volume) it is ``1 - 1/(predicted mass + 1)``, so a single
    pixel's worth of probability costs as much as half the overlap of a tumor slice. ``batch_dice=True`` (nnU-Net's
    batch Dice) pools every slice of the batch into one Dice term: a false positive on an empty slice costs what it
    costs beside the batch's tumors, and the smallest tumor sections no longer weigh as much as the largest.
    """
    import tensorflow as tf

    eps = 1.0
    y_pred = tf.clip_by_value(y_pred, 1e-6, 1 - 1e-6)
    axes = [0, 1, 2, 3] if batch_dice else [1, 2, 3]
    inter = tf.reduce_sum(y_true * y_pred, axis=axes)
    denom = tf.reduce_sum(y_true, axis=axes) + tf.reduce_sum(y_pred, axis=axes)
    dice = 1.0 - (2.0 * inter + eps) / (denom + eps)
    bce = tf.reduce_mean(tf.keras.backend.binary_crossentropy(y_true, y_pred), axis=[1, 2, 3])
    return dice + bce


def batch_dice_bce_loss(y_true, y_pred):
    """``dice_bce_loss`` with the Dice pooled over the batch (``--dice batch``)."""
    return dice_bce_loss(y_true, y_pred, batch_dice=True)


LOSSES = {"sample": dice_bce_loss, "batch": batch_dice_bce_loss}


def predict_case(model, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """Probabilities (z, H, W) for a case's model-grid stack."""
    out = model.predict(images.astype(np.float32), batch_size=batch_size, verbose=0)
    return out[..., 0]


def volume_dice(prob: np.ndarray, mask: np.ndarray) -> float:
    pred, truth = prob >= 0.5, mask.astype(bool)
    denom = pred.sum() + truth.sum()
    return 1.0 if denom == 0 else float(2.0 * np.logical_and(pred, truth).sum() / denom)


def train(cohort: Path, out_dir: Path, cfg: TrainConfig, *, resume: bool = True,
          init_weights: str | None = None, max_patients: int | None = None, cache_dir: Path | None = None,
          max_seconds: float | None = None, split_from: Path | None = None) -> dict:
    """Train and return a summary (best epoch, best validation Dice, seconds).

    Everything is checked (options, the cohort and its size, the folder's previous run and its settings) before
    anything is written into ``out_dir``; ``config.json`` is written once training starts, keeping the records
    it already holds on a resume. With ``resume=False`` a previous run is moved into ``out_dir/previous-<time>/``.

    ``split_from``: a ``split.json`` to reuse (e.g. a shipped model's), so a new run keeps its test patients
    unseen and its validation patients comparable; written only when ``out_dir`` has no split yet. A split.json
    already in ``out_dir`` is reused only when it is the one asked for (the same ``--seed``, or ``split_from``'s).

    Raises:
        InputError: an unusable cohort, split or option, or settings that differ from the run being resumed.
        OutputError: ``out_dir`` is a file, or its checkpoint does not fit the network its config.json describes.
    """
    import tensorflow as tf

    if cfg.schedule not in ("plateau", "cosine"):
        raise ValueError(f"unknown schedule {cfg.schedule!r}; use plateau or cosine")
    if cfg.keep not in ("best", "last"):
        raise ValueError(f"unknown keep {cfg.keep!r}; use best or last")
    if cfg.dice not in LOSSES:
        raise ValueError(f"unknown dice {cfg.dice!r}; use sample or batch")
    out_dir = Path(out_dir)
    run_folder.check_out_dir(out_dir)
    ids = data.list_patients(cohort)[:max_patients]
    plan = run_folder.plan_run(out_dir, cfg.to_dict(), resume=resume, defaults=TrainConfig().to_dict())
    if plan.mode == "resume":  # the stored settings are the asked ones but for the budget, which the asked one sets
        stored = TrainConfig.from_dict(json.loads((out_dir / "config.json").read_text())["train"])
        cfg = replace(stored, **{k: getattr(cfg, k) for k in run_folder.BUDGET_KEYS})
    _check_split_source(out_dir if plan.mode == "resume" or not plan.move_aside else None, split_from, ids, cfg,
                        max_patients)
    if plan.move_aside:
        moved = run_folder.move_previous_run(out_dir)
        print(f"moved the previous run in {out_dir} to {moved.name}/ (--no-resume)", flush=True)  # noqa: T201
    out_dir.mkdir(parents=True, exist_ok=True)
    if split_from is not None and not (out_dir / "split.json").exists():
        given = data.load_or_make_split(Path(split_from), ids, cfg.seed, create=False)
        data.write_json_atomic(out_dir / "split.json", {**given, "from": str(split_from)})
    split = data.load_or_make_split(out_dir / "split.json", ids, cfg.seed)
    if len(split["validation"]) < run_folder.MIN_VALIDATION_PATIENTS:
        log.warning("the validation split has only %d patient(s) (fewer than %d): the validation Dice that chooses "
                    "the kept epoch, early stopping and the learning-rate halvings will be noisy; a larger cohort "
                    "steadies it", len(split["validation"]), run_folder.MIN_VALIDATION_PATIENTS)
    grid = ModelGrid(cfg.model.size, cfg.fov_mm)
    cache_dir = Path(cache_dir) if cache_dir else out_dir / "cache"
    with PatientProgress("preparing ") as progress:
        train_cases = data.load_cases(cohort, split["train"], grid, cache_dir, progress)
        val_cases = data.load_cases(cohort, split["validation"], grid, cache_dir, progress)
    # after load_cases, which names a bad cohort patient in a cohort's words: eval-seg leaves these patients out
    from training.seg.fingerprints import record_training_patients
    with PatientProgress("fingerprinting ") as progress:
        record_training_patients(out_dir, cohort, split, init_weights=init_weights, resume=resume, progress=progress)
    case_p = data.site_weights(cohort, split["train"], cfg.site_balance)
    tf.keras.utils.set_random_seed(cfg.seed)
    strategy = _strategy(cfg.strategy)
    with strategy.scope():
        # Crops train a same-weights network built at the crop size; validation runs whole slices.
        model = build_model(replace(cfg.model, size=cfg.crop or cfg.model.size), init_weights=init_weights)
        full = build_model(cfg.model) if cfg.crop else model
        optimizer = tf.keras.optimizers.Adam(cfg.learning_rate)
        model.compile(optimizer=optimizer, loss=LOSSES[cfg.dice])
        optimizer.build(model.trainable_variables)  # slots exist before a checkpoint is restored into them
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=tf.Variable(0, dtype=tf.int64),
                               state=tf.Variable("", dtype=tf.string))
    manager = tf.train.CheckpointManager(ckpt, str(out_dir / "ckpt"), max_to_keep=1)
    history, state = [], run_folder.PlateauState(lr=cfg.learning_rate)
    if plan.mode == "resume":
        history, state = _restore(ckpt, manager, out_dir, cfg)
        optimizer.learning_rate.assign(state.lr)
        print(f"resuming {out_dir} from epoch {state.epoch} (best validation Dice {state.best:.4f} at epoch "  # noqa: T201
              f"{state.best_epoch})" + (f"; changed: {run_folder.describe(plan.budget_changes)}"
                                        if plan.budget_changes else ""), flush=True)
    # after the restore, which sets aside what its checkpoint did not commit; a fresh run has no checkpoint: any
    # pending weights there are a crashed run's
    run_folder.remove_uncommitted(out_dir, fresh=plan.mode == "fresh")
    config_path = out_dir / "config.json"
    data.write_json_atomic(config_path, run_folder.merged_config(
        out_dir, {"train": cfg.to_dict(), "preprocess_version": PREPROCESS_VERSION},
        keep_existing=plan.mode == "resume"))
    start_epoch = state.epoch
    t0 = time.perf_counter()
    already = history[-1]["seconds"] if history else 0.0  # training time before this (resumed) run
    verbose = 1 if sys.stdout.isatty() else 2  # no progress-bar clutter (\r, \b) in a log file
    for epoch in range(start_epoch, cfg.epochs):
        if state.should_stop(cfg.patience):
            log.info("early stopping: no validation improvement for %d epochs", cfg.patience)
            break
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            print(f"time budget of {max_seconds / 60:.0f} min reached; resume to continue", flush=True)  # noqa: T201
            break
        if cfg.schedule == "cosine":
            optimizer.learning_rate.assign(cosine_learning_rate(cfg, epoch))
        dataset = _dataset(train_cases, cfg, epoch, case_p)
        print(f"epoch {epoch + 1}/{cfg.epochs}", flush=True)  # noqa: T201 (training console output)
        fit = model.fit(dataset, epochs=1, steps_per_epoch=cfg.steps_per_epoch, verbose=verbose)
        if full is not model:
            full.set_weights(model.get_weights())
        val = [volume_dice(predict_case(full, c.images), c.mask) for c in val_cases]
        record = {"epoch": epoch + 1, "loss": float(fit.history["loss"][-1]), "val_dice": float(np.mean(val)),
                  "seconds": round(already + time.perf_counter() - t0, 1)}
        history.append(record)
        print(f"  loss {record['loss']:.4f}  val Dice {record['val_dice']:.4f}", flush=True)  # noqa: T201
        state, improved, lr = run_folder.plateau_step(
            state, record["val_dice"], float(optimizer.learning_rate.numpy()), lr_patience=cfg.lr_patience,
            min_lr=cfg.min_learning_rate, plateau=cfg.schedule == "plateau")
        if lr != float(optimizer.learning_rate.numpy()):
            optimizer.learning_rate.assign(lr)
            print(f"  learning rate -> {lr:.2e}", flush=True)  # noqa: T201
        record["learning_rate"] = float(optimizer.learning_rate.numpy())
        if cfg.keep == "last" or improved:
            _save_weights_atomic(model, run_folder.stage_weights(out_dir, epoch + 1))
        _commit_epoch(ckpt, manager, out_dir, state, history, cfg)
        spent = time.perf_counter() - t0
        print("  " + run_folder.time_left_text(  # noqa: T201
            state, epochs=cfg.epochs, patience=cfg.patience, epoch_seconds=spent / (epoch + 1 - start_epoch),
            budget_left_s=None if max_seconds is None else max_seconds - spent), flush=True)
    best_rec = max(history, key=lambda h: h["val_dice"]) if history else {}
    return {"best_epoch": best_rec.get("epoch"), "best_val_dice": best_rec.get("val_dice"),
            "epochs_run": len(history), "seconds": round(time.perf_counter() - t0, 1), "split": split}


def _check_split_source(out_dir: Path | None, split_from: Path | None, ids: list[str], cfg: TrainConfig,
                        max_patients: int | None) -> None:
    """Check, writing nothing, the split the run will use: ``out_dir``'s split.json (``out_dir`` None: it is moved
    aside), which must be the one asked for (``--seed``, ``--max-patients``: ``ids``, ``--split-from``), else
    ``split_from``'s, else a new one drawn from the seed."""
    path = out_dir / "split.json" if out_dir is not None and (out_dir / "split.json").exists() else None
    source = path or (Path(split_from) if split_from is not None else None)
    if source is not None:
        split = data.load_or_make_split(source, ids, cfg.seed, create=False)
        if path is not None:  # reused: it must be the split asked for (--seed, --split-from)
            given = data.load_or_make_split(Path(split_from), ids, cfg.seed, create=False) if split_from else None
            run_folder.check_split_origin(path, json.loads(path.read_text()), seed=cfg.seed, patients=len(ids),
                                          max_patients=max_patients, given=given, split_from=split_from)
    else:
        source, split = f"a cohort of {len(ids)} patients", data.make_split(ids, cfg.seed)
    run_folder.check_split(split, len(ids), source)


def _restore(ckpt, manager, out_dir: Path, cfg: TrainConfig) -> tuple[list[dict], run_folder.PlateauState]:
    """Restore the checkpoint; return the history up to its epoch and its early-stopping/plateau state (promoting
    the kept weights its epoch saved, when an interrupt came between the checkpoint and the rename).

    Raises:
        OutputError: a checkpoint of another network than the folder's config.json describes.
    """
    import tensorflow as tf

    from inference.errors import OutputError

    core = tf.train.Checkpoint(model=ckpt.model, optimizer=ckpt.optimizer, epoch=ckpt.epoch)
    try:
        # expect_partial: the checkpoint also holds the plateau state, restored below; without it every resume
        # warned that the checkpoint had "unrestored values", as if it did not fit
        core.restore(manager.latest_checkpoint).assert_existing_objects_matched().expect_partial()
    except (AssertionError, ValueError, tf.errors.OpError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise OutputError(f"{out_dir}/ckpt: the checkpoint does not fit the network config.json describes "
                          f"({first}); pass --no-resume to move that run aside and start over") from exc
    tf.train.Checkpoint(state=ckpt.state).restore(manager.latest_checkpoint).expect_partial()
    epoch = int(ckpt.epoch.numpy())
    history = [h for h in _load_history(out_dir) if h["epoch"] <= epoch]
    state = run_folder.PlateauState.from_json(ckpt.state.numpy().decode())
    if state is None:  # a checkpoint saved before the state was stored with it
        state = run_folder.replay_history(history, epoch, cfg)
        state = replace(state, epoch=epoch, lr=float(ckpt.optimizer.learning_rate.numpy()))
    _promote(out_dir, state, cfg)
    return history, state


def _commit_epoch(ckpt, manager, out_dir: Path, state, history: list[dict], cfg: TrainConfig) -> None:
    """Save an epoch so that an interrupt anywhere leaves a consistent folder: history first (a resume ignores
    records past the checkpoint's epoch), then the checkpoint with the plateau state (the commit), then the kept
    weights take their name (a resume finishes that step when the interrupt came just before it)."""
    data.write_json_atomic(out_dir / "history.json", {"history": history})
    ckpt.epoch.assign(state.epoch)
    ckpt.state.assign(state.to_json())
    manager.save()
    _promote(out_dir, state, cfg)


def _promote(out_dir: Path, state, cfg: TrainConfig) -> None:
    """The kept weights of the checkpoint's state take the name best.weights.h5 (with keep="last", config.json
    "weights" names their epoch)."""
    if run_folder.promote_weights(out_dir, state.epoch if cfg.keep == "last" else state.best_epoch) and \
            cfg.keep == "last":
        data.write_json_atomic(out_dir / "config.json", run_folder.merged_config(out_dir, {
            "weights": {"epoch": state.epoch, "why": "the last epoch (keep=last): chosen before training, not by "
                                                     "validation Dice"}}, keep_existing=True))


def _save_weights_atomic(model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save_weights(str(tmp))


def _load_history(out_dir: Path) -> list[dict]:
    path = out_dir / "history.json"
    return json.loads(path.read_text())["history"] if path.exists() else []


def _augment_config(cfg: TrainConfig) -> data.AugmentConfig:
    return data.AugmentConfig(tumor_contrast_p=cfg.tumor_contrast_aug, max_rotation_deg=cfg.rotation_deg,
                              flip_ud=cfg.flip_ud)


def _dataset(cases, cfg: TrainConfig, epoch: int, case_p=None):
    import tensorflow as tf

    size = cfg.crop or cfg.model.size

    def gen():
        yield from data.batches(cases, cfg.batch_size, cfg.steps_per_epoch, seed=cfg.seed * 100003 + epoch,
                                aug=_augment_config(cfg), crop=cfg.crop,
                                tumor_fraction=cfg.tumor_fraction, case_p=case_p)

    spec = (tf.TensorSpec((None, size, size, 3), tf.float32), tf.TensorSpec((None, size, size, 1), tf.float32))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(2).with_options(options)


