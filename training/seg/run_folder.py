"""What a ``train-seg`` output folder holds, and the decisions taken on it before and during training.

Kept free of TensorFlow so each decision (resume or start over, which settings may change on a resume, when to
halve the learning rate or stop) can be checked without training:

- ``plan_run`` reads the folder and the requested settings and says whether to resume, start fresh, or refuse;
  nothing is written. ``move_previous_run`` moves a previous run aside (``--no-resume``): never deleted.
- ``PlateauState`` is the early-stopping / learning-rate-plateau state; it is saved with the checkpoint so a
  resumed run takes the same decisions as an uninterrupted one.
- ``stage_weights`` / ``promote_weights``: the kept weights of an epoch are written under a pending name first
  and take the name ``best.weights.h5`` only once the checkpoint that records them is saved, so an interrupt at
  any point leaves the previous weights with the previous checkpoint, or the new ones with the new checkpoint.
  Pending weights of an epoch whose checkpoint was never saved are set aside as ``.uncommitted-*`` and deleted by
  ``remove_uncommitted`` when the next run starts; so are pending weights a crash left before a run's first
  checkpoint, when the next run starts fresh (no checkpoint: nothing could promote or set them aside).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from inference.errors import InputError, OutputError
from inference.wording import plural

log = logging.getLogger(__name__)

WEIGHTS = "best.weights.h5"
#: settings that only set how long (or on what hardware) a run goes on: a resume may change them (and says so)
BUDGET_KEYS = ("epochs", "patience", "lr_patience", "min_learning_rate", "strategy")
#: files whose presence means the folder holds a trained (or training) model
TRAINED_GLOBS = (WEIGHTS, "history.json", "ckpt", "model_*.tflite", "model.onnx", "openvino_*")
#: the command-line option of each setting, for messages (TrainConfig field or "model.<field>")
OPTIONS = {"model.alpha": "--alpha", "model.decoder": "--decoder", "model.head_skip": "--head-skip",
           "model.size": "--size", "fov_mm": "--fov-mm", "epochs": "--epochs", "steps_per_epoch": "--steps",
           "batch_size": "--batch", "crop": "--crop", "learning_rate": "--lr", "patience": "--patience",
           "lr_patience": "--lr-patience", "schedule": "--schedule", "keep": "--keep", "dice": "--dice",
           "tumor_contrast_aug": "--tumor-contrast-aug", "rotation_deg": "--rotation", "flip_ud": "--flip-ud",
           "site_balance": "--site-balance", "seed": "--seed", "strategy": "--strategy"}
#: below this many validation patients the validation Dice (kept epoch, early stopping, plateau) is noisy: warned
MIN_VALIDATION_PATIENTS = 5
_PENDING = re.compile(r"^pending-epoch(\d+)\.weights\.h5$")
_UNCOMMITTED = re.compile(r"^\.uncommitted-pending-epoch\d+\.weights\.h5$")


def min_patients() -> int:
    """The smallest cohort whose split (``data.make_split``) leaves at least one training patient."""
    from training.seg.data import make_split

    return next(n for n in range(1, 100) if make_split([f"P{i}" for i in range(n)], 0)["train"])


def check_out_dir(out_dir: Path) -> None:
    """Refuse an ``--out`` that is a file (or lies below one) before anything is read or written.

    Raises:
        OutputError: naming the file and what to do.
    """
    for p in (out_dir, *out_dir.parents):
        if p.exists():
            if not p.is_dir():
                raise OutputError(f"--out {out_dir}: {p} is a file, not a folder; choose a model folder to write to")
            return


def check_split(split: dict, n_patients: int, source: Path | str) -> None:
    """Refuse a split without training or validation patients (a 2-patient cohort), before TensorFlow fails.

    Raises:
        InputError: naming the split, the cohort size and the minimum.
    """
    empty = [k for k in ("train", "validation") if not split.get(k)]
    if empty:
        raise InputError(f"{source}: the split has no {' and no '.join(empty)} patients (cohort of {n_patients}); "
                         f"training needs at least {min_patients()} patients: give a larger cohort (otscc synth "
                         "--patients N)")


def check_split_origin(path: Path, stored: dict, *, seed: int, patients: int, max_patients: int | None,
                       given: dict | None, split_from: Path | None) -> None:
    """Refuse to reuse the split.json already in ``--out`` (left by a run that stopped before its first epoch, or
    the run resumed) when it was not made as asked: drawn with another ``--seed`` or from another number of patients
    than the run's ``patients`` (``--max-patients``), or not the ``--split-from`` split (``given``: its
    train/validation/test). A split without a seed (from ``--split-from``) fits any seed; one without a patient count
    (written before it was recorded, as shipped) fits any count. A split recording neither a seed nor the
    ``--split-from`` file it came from is reused with a warning that its origin is unknown.

    Raises:
        InputError: naming both seeds (both patient counts, or both splits) and the ways out.
    """
    way_out = (f"or pass --no-resume to move it aside into {path.parent}/previous-<time>/ with the rest of that "
               "run, or choose another --out")
    if given is not None:
        if any(sorted(stored.get(k, [])) != sorted(given[k]) for k in ("train", "validation", "test")):
            raise InputError(f"{path}: the split already there is not the one in --split-from {split_from}; to "
                             f"keep it leave out --split-from, {way_out}")
        return
    if "seed" in stored and stored["seed"] != seed:
        raise InputError(f"{path}: the split already there was drawn with --seed {stored['seed']}, not --seed "
                         f"{seed}; to keep it give --seed {stored['seed']}, {way_out}")
    drawn = stored.get("drawn_from_patients")
    if drawn is not None and drawn != patients:
        asked = "no --max-patients" if max_patients is None else f"--max-patients {max_patients}"
        raise InputError(f"{path}: the split already there was drawn from {drawn} patients, not the {patients} this "
                         f"run has ({asked}); to keep it give --max-patients {drawn}, {way_out}")
    if "seed" not in stored and "from" not in stored:
        log.warning("%s: the split already there records neither the --seed it was drawn with nor a --split-from file "
                    "it came from: its origin is unknown, and it is reused as is (pass --no-resume to draw a new one)",
                    path)


def flat_settings(train: dict) -> dict:
    """TrainConfig.to_dict() flattened: model fields as ``model.<field>``."""
    flat = {k: v for k, v in train.items() if k != "model"}
    flat.update({f"model.{k}": v for k, v in train.get("model", {}).items()})
    return flat


def setting_changes(stored: dict, requested: dict, defaults: dict | None = None) -> list[tuple[str, object, object]]:
    """(setting, stored value, requested value) for each setting that differs (TrainConfig dicts). A setting the
    stored run does not record (added to TrainConfig after it was trained, e.g. ``dice``) had the value it has in
    ``defaults``; without ``defaults`` it is not compared."""
    old = {**flat_settings(defaults or {}), **flat_settings(stored)}
    new = flat_settings(requested)
    order = list(OPTIONS)
    changed = sorted((k for k in new if k in old and old[k] != new[k]),
                     key=lambda k: (order.index(k) if k in order else len(order), k))
    if "model.decoder" in changed:  # the filters follow the decoder: one difference, said once
        changed = [k for k in changed if k != "model.decoder_filters"]
    return [(k, old[k], new[k]) for k in changed]


def describe(changes: list[tuple[str, object, object]]) -> str:
    return ", ".join(f"{OPTIONS.get(k, k)} {old} -> {new}" for k, old, new in changes)


@dataclass(frozen=True)
class RunPlan:
    """What ``train`` does with the folder: ``mode`` "fresh" or "resume"; ``move_aside`` a previous run first."""

    mode: str
    move_aside: bool = False
    budget_changes: tuple = ()


def trained_files(out_dir: Path) -> list[Path]:
    return sorted({p for pattern in TRAINED_GLOBS for p in out_dir.glob(pattern)}) if out_dir.is_dir() else []


def has_checkpoint(out_dir: Path) -> bool:
    return (out_dir / "ckpt" / "checkpoint").is_file()


def plan_run(out_dir: Path, requested: dict, *, resume: bool, defaults: dict | None = None) -> RunPlan:
    """Decide, from the folder alone, how a run with ``requested`` settings (TrainConfig dict) goes on; ``defaults``
    (TrainConfig().to_dict()) stand in for settings the stored run does not record.

    A folder without a checkpoint (a run that failed before its first epoch) is started fresh: its left-over
    config.json imposes nothing.

    Raises:
        InputError: resuming with other architecture/data settings than the stored run's (each one listed), or a
            folder holding a trained model without the checkpoint a resume needs.
    """
    out_dir = Path(out_dir)
    previous = [p for p in (out_dir.iterdir() if out_dir.is_dir() else [])
                if p.name != "cache" and not p.name.startswith(("previous-", "."))]
    if not resume:
        return RunPlan("fresh", move_aside=bool(previous))
    way_out = (f"choose another --out, or pass --no-resume to move that run aside into {out_dir}/previous-<time>/ "
               "and start over")
    config = out_dir / "config.json"
    if not has_checkpoint(out_dir):
        trained = trained_files(out_dir)
        if trained:
            raise InputError(f"{out_dir} holds a trained model ({', '.join(p.name for p in trained)}) but no "
                             f"checkpoint to resume from; {way_out}")
        return RunPlan("fresh")
    try:
        stored = json.loads(config.read_text())["train"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{out_dir} holds a checkpoint but no readable config.json 'train' settings ({exc}), so "
                         f"its network is unknown; {way_out}") from exc
    changes = setting_changes(stored, requested, defaults)
    fixed = [c for c in changes if c[0] not in BUDGET_KEYS]
    if fixed:
        raise InputError(f"{out_dir} holds a run trained with other settings: {describe(fixed)} (stored -> asked). "
                         f"To resume it, give its settings; or {way_out}")
    return RunPlan("resume", budget_changes=tuple(c for c in changes if c[0] in BUDGET_KEYS))


def move_previous_run(out_dir: Path) -> Path:
    """Move everything of a previous run in ``out_dir`` (all but ``cache/`` and earlier ``previous-*``) into
    ``out_dir/previous-<UTC time>/`` and return that folder. Nothing is deleted."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out_dir / f"previous-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = out_dir / f"previous-{stamp}-{n}"
    target.mkdir()
    for p in sorted(out_dir.iterdir()):
        if p != target and p.name != "cache" and not p.name.startswith(("previous-", ".")):
            shutil.move(str(p), str(target / p.name))
    return target


def merged_config(out_dir: Path, records: dict, *, keep_existing: bool) -> dict:
    """config.json content with ``records`` set; with ``keep_existing`` every other key already there is kept (a
    resume must not drop the "weights" record or any provenance another step wrote)."""
    path = Path(out_dir) / "config.json"
    existing = {}
    if keep_existing and path.is_file():
        try:
            existing = json.loads(path.read_text())
        except ValueError as exc:
            raise OutputError(f"{path}: not valid JSON ({exc}); move it aside and run again") from exc
    return {**existing, **records}


@dataclass(frozen=True)
class PlateauState:
    """Early-stopping and learning-rate-plateau state after ``epoch`` epochs (``lr`` None: not yet known)."""

    epoch: int = 0
    best: float = -1.0
    best_epoch: int = 0
    since_best: int = 0
    lr: float | None = None

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> PlateauState | None:
        return cls(**json.loads(text)) if text else None

    def should_stop(self, patience: int) -> bool:
        return self.since_best >= patience


def plateau_step(state: PlateauState, val_dice: float, lr: float, *, lr_patience: int, min_lr: float,
                 plateau: bool) -> tuple[PlateauState, bool, float]:
    """The state after one more epoch with validation Dice ``val_dice`` trained at ``lr``.

    Returns:
        (new state, whether the epoch is the new best, the learning rate for the next epoch). A tie is no
        improvement: the first epoch reaching a value stays the best.
    """
    epoch = state.epoch + 1
    if val_dice > state.best:
        return PlateauState(epoch, val_dice, epoch, 0, lr), True, lr
    since = state.since_best + 1
    if plateau and lr_patience and since % lr_patience == 0:
        lr = max(min_lr, lr / 2)
    return replace(state, epoch=epoch, since_best=since, lr=lr), False, lr


def replay_history(history: list[dict], upto: int, cfg) -> PlateauState:
    """The state of a checkpoint saved before states were stored with it: the history (up to epoch ``upto``)
    replayed through ``plateau_step`` (the learning rates are the ones recorded)."""
    state = PlateauState()
    for h in history:
        if h["epoch"] > upto:
            break
        lr = h.get("learning_rate", cfg.learning_rate)
        state, _, _ = plateau_step(state, h["val_dice"], lr, lr_patience=0, min_lr=cfg.min_learning_rate,
                                   plateau=False)
        state = replace(state, lr=lr)
    return state


def stage_weights(out_dir: Path, epoch: int) -> Path:
    """Where the kept weights of ``epoch`` are written before their checkpoint is saved."""
    return Path(out_dir) / f"pending-epoch{epoch}.weights.h5"


def promote_weights(out_dir: Path, weights_epoch: int) -> bool:
    """After the checkpoint recording ``weights_epoch`` as the kept weights is saved (or found on resume): the
    pending weights of that epoch become ``best.weights.h5``; pending weights of other epochs (an epoch whose
    checkpoint was never saved) are moved out of the way. Returns whether weights were promoted."""
    promoted = False
    for p in sorted(Path(out_dir).glob("pending-epoch*.weights.h5")):
        m = _PENDING.match(p.name)
        if m and int(m.group(1)) == weights_epoch:
            os.replace(p, Path(out_dir) / WEIGHTS)
            promoted = True
        elif m:
            os.replace(p, p.with_name(f".uncommitted-{p.name}"))  # a dot-name: never taken for a model file
            log.info("%s: weights of an epoch whose checkpoint was not saved; left as .uncommitted-*", p)
    return promoted


def remove_uncommitted(out_dir: Path, *, fresh: bool = False) -> list[Path]:
    """Delete the ``.uncommitted-pending-epochN.weights.h5`` files ``promote_weights`` set aside in ``out_dir`` (not
    below it): weights of an epoch a crash or Ctrl+C cut short, which the run about to start trains again. With
    ``fresh`` (a run that starts from epoch 0, so no checkpoint commits any) the ``pending-epochN.weights.h5`` files
    too: a crash before a run's first checkpoint left them, and no resume will promote or set them aside. Only
    these names: never another file. Returns the files deleted."""
    names = (_UNCOMMITTED, _PENDING) if fresh else (_UNCOMMITTED,)
    stale = sorted(p for p in Path(out_dir).iterdir() if any(n.match(p.name) for n in names) and p.is_file())
    for p in stale:
        p.unlink()
    if stale:
        log.info("%s: deleted %d weights file(s) of epochs whose checkpoint was never saved", out_dir, len(stale))
    return stale


def _duration(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def time_left_text(state: PlateauState, *, epochs: int, patience: int, epoch_seconds: float,
                   budget_left_s: float | None = None) -> str:
    """What is left of a run after an epoch, at ``epoch_seconds`` per epoch (the mean of this invocation's): the
    planned epochs, the early stop if validation Dice stalls from now on, and the ``--max-minutes`` budget (each
    ends the run; the first to come does). A line for the console: a run of hundreds of epochs said only
    "epoch 5/300"."""
    left = epochs - state.epoch
    if left <= 0:
        return "left: nothing (the planned epochs are done)"
    if state.should_stop(patience):
        return f"left: nothing (early stopping: no validation improvement for {plural(state.since_best, 'epoch')})"
    parts = [f"left: at most {plural(left, 'epoch')}, ~{_duration(left * epoch_seconds)} at "
             f"{epoch_seconds / 60:.1f} min per epoch"]
    stall = patience - state.since_best
    if 0 < stall < left:
        parts.append(f"early stopping after {stall} more without improvement (~{_duration(stall * epoch_seconds)})")
    if budget_left_s is not None and budget_left_s <= 0:
        parts.append("the --max-minutes budget is spent: the run stops here (resume to continue)")
    elif budget_left_s is not None and budget_left_s < left * epoch_seconds:
        parts.append(f"the --max-minutes budget runs out in ~{_duration(budget_left_s)} (the epoch then running "
                     "completes)")
    return "; ".join(parts)
