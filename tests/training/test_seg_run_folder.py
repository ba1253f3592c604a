"""train-seg's output folder: nothing written before the inputs are checked, resume vs start over, a previous run
moved aside (never deleted), interrupts between the writes of an epoch, and resume-exact plateau decisions. Fast:
no training (fake cohorts whose patients fail to load when a test needs train() to go that far)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from inference.errors import InputError, MissingSequenceError, OutputError
from training.seg import data, run_folder
from training.seg.model import ModelConfig
from training.seg.train import TrainConfig, train

SMALL = TrainConfig(model=ModelConfig(alpha=0.35, size=64), epochs=2, steps_per_epoch=1, batch_size=2, seed=3)


def fake_cohort(root: Path, n: int) -> Path:
    """Patient folders with a mask file (so list_patients sees them) whose images cannot be read."""
    for i in range(n):
        (root / f"P{i:02d}").mkdir(parents=True)
        (root / f"P{i:02d}" / "mask.nii.gz").write_bytes(b"")
    return root


def shipped_like(out: Path, *, checkpoint: bool = False) -> dict:
    """A model folder as shipped: weights, exports, eval JSONs and a config.json with a "weights" record."""
    out.mkdir(parents=True)
    config = {"train": SMALL.to_dict(), "preprocess_version": "x",
              "weights": {"epoch": 66, "why": "the last epoch, chosen by a rule set before the run"}}
    (out / "config.json").write_text(json.dumps(config))
    for name in ("best.weights.h5", "model_fp32.tflite"):
        (out / name).write_text(name)
    (out / "history.json").write_text(json.dumps({"history": [{"epoch": 1, "val_dice": 0.5, "seconds": 1.0}]}))
    (out / "eval_test.json").write_text("{}")
    (out / "split.json").write_text(json.dumps({"train": ["X1"], "validation": ["X2"], "test": ["X3"]}))
    (out / "cache").mkdir()
    (out / "cache" / "P00-abc.npz").write_text("cached")
    if checkpoint:
        (out / "ckpt").mkdir()
        (out / "ckpt" / "checkpoint").write_text('model_checkpoint_path: "ckpt-3"')
    return config


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failing_run_writes_nothing_into_an_existing_model_folder(tmp_path):
    """A4: config.json was rewritten (epochs, patience changed, "weights" dropped) before the cohort was read."""
    out = tmp_path / "shipcopy"
    shipped_like(out)
    before = snapshot(out)
    cohort = fake_cohort(tmp_path / "c", 6)
    with pytest.raises(InputError, match="no checkpoint to resume"):
        train(cohort, out, replace(SMALL, model=ModelConfig(alpha=1.0, size=64), epochs=1))
    with pytest.raises(InputError, match="cohort folder not found"):
        train(tmp_path / "nope", out, SMALL)
    assert snapshot(out) == before
    fresh = tmp_path / "m_x"
    with pytest.raises(InputError, match="cohort folder not found"):  # a typo'd cohort leaves no config behind
        train(tmp_path / "nope", fresh, SMALL)
    assert not fresh.exists()


def test_resume_refuses_other_architecture_and_says_what_differs(tmp_path):
    """A5: --alpha 1.0 --decoder pix2pix --lr 0.01 into an alpha-0.35 folder trained alpha 0.35 silently."""
    out = tmp_path / "m2"
    shipped_like(out, checkpoint=True)
    before = snapshot(out)
    asked = replace(SMALL, model=ModelConfig(alpha=1.0, size=64, decoder="pix2pix"), learning_rate=0.01)
    with pytest.raises(InputError, match=r"--alpha 0\.35 -> 1\.0.*--decoder light -> pix2pix.*--lr 0\.001 -> 0\.01"
                                         r".*--no-resume"):
        train(fake_cohort(tmp_path / "c", 6), out, asked)
    assert snapshot(out) == before
    # the budget may change on a resume (and is reported); a folder without a checkpoint is a fresh start
    plan = run_folder.plan_run(out, replace(SMALL, epochs=9).to_dict(), resume=True)
    assert plan.mode == "resume" and plan.budget_changes == (("epochs", 2, 9),)
    # a run from before --dice (its config.json has no "dice") trained with the per-slice Dice: not resumed with another
    stored = json.loads((out / "config.json").read_text())
    del stored["train"]["dice"]
    (out / "config.json").write_text(json.dumps(stored))
    with pytest.raises(InputError, match=r"--dice sample -> batch"):
        run_folder.plan_run(out, replace(SMALL, dice="batch").to_dict(), resume=True, defaults=TrainConfig().to_dict())
    assert run_folder.plan_run(out, SMALL.to_dict(), resume=True, defaults=TrainConfig().to_dict()).mode == "resume"
    leftover = tmp_path / "leftover"
    leftover.mkdir()
    (leftover / "config.json").write_text(json.dumps({"train": SMALL.to_dict()}))
    assert run_folder.plan_run(leftover, asked.to_dict(), resume=True).mode == "fresh"


def test_no_resume_moves_the_previous_run_aside_before_writing(tmp_path, capsys):
    """A6: --no-resume wrote the new config.json beside the old weights, tflite and checkpoint."""
    out = tmp_path / "m"
    shipped_like(out, checkpoint=True)
    before = snapshot(out)
    with pytest.raises(InputError, match="cohort patient P0"):  # gets as far as preparing the patients
        train(fake_cohort(tmp_path / "c", 6), out, replace(SMALL, model=ModelConfig(alpha=0.5, size=64)),
              resume=False)
    moved = [p for p in out.iterdir() if p.name.startswith("previous-")]
    assert len(moved) == 1 and f"moved the previous run in {out} to {moved[0].name}/" in capsys.readouterr().out
    assert snapshot(moved[0]) == {k: v for k, v in before.items() if not k.startswith("cache")}
    assert sorted(p.name for p in out.iterdir()) == sorted(["cache", moved[0].name, "split.json"])
    assert (out / "cache" / "P00-abc.npz").read_text() == "cached"  # the cache is kept for the new run


def test_out_is_a_file_and_a_cohort_too_small_for_a_split_give_one_line(tmp_path):
    """C1/C2: a FileExistsError traceback; 'train': [] then 'high <= 0' inside TensorFlow."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OutputError, match="afile is a file, not a folder"):
        train(fake_cohort(tmp_path / "c6", 6), afile, SMALL)
    assert run_folder.min_patients() == 3
    out = tmp_path / "m_c2"
    with pytest.raises(InputError, match="no train patients.*at least 3 patients"):
        train(fake_cohort(tmp_path / "c2", 2), out, SMALL)
    assert not out.exists()


def test_a_cohort_patient_error_names_the_patient_and_no_single_patient_option(tmp_path, monkeypatch):
    """C/B8: train-seg suggested '--t1 PATH', which it does not have, and did not name the patient."""
    def missing_t1(folder):
        raise MissingSequenceError(f"{folder.name}: no T1 file.", cli_hint="Or name the file with --t1 PATH.",
                                   batch_hint="or run the patient alone with --t1 PATH.")

    monkeypatch.setattr(data, "prepare_patient", missing_t1)
    cohort = fake_cohort(tmp_path / "c", 3)
    with pytest.raises(InputError) as err:
        data.load_cases(cohort, ["P01"], None, None)
    assert "cohort patient P01: no T1 file" in str(err.value) and "--t1" not in str(err.value)
    assert "move it out of the cohort" in str(err.value)


class FakeCheckpoint:
    """The bits of tf.train.Checkpoint + CheckpointManager that _commit_epoch uses; ``save`` may be interrupted."""

    def __init__(self, out: Path, interrupt: bool):
        self.out, self.interrupt, self.saved = out, interrupt, None
        self.epoch = self.state = self

    def assign(self, value):
        self.pending = value

    def save(self):
        if self.interrupt:
            raise KeyboardInterrupt
        self.saved = True


@pytest.mark.parametrize("interrupt_at", ["checkpoint", "rename"])
def test_an_interrupt_between_the_writes_of_an_epoch_keeps_a_consistent_pair(tmp_path, monkeypatch, interrupt_at):
    """A9: the best weights were written before the checkpoint and the history: Ctrl+C between them made a resume
    compare later epochs with a stale best, and overwrite the true best weights."""
    from training.seg import train as train_module

    out = tmp_path / "m"
    out.mkdir()
    (out / "best.weights.h5").write_text("epoch 2")  # committed: checkpoint of epoch 3, best epoch 2
    run_folder.stage_weights(out, 4).write_text("epoch 4")  # epoch 4 improved
    state = run_folder.PlateauState(epoch=4, best=0.5, best_epoch=4, lr=1e-3)
    history = [{"epoch": e, "val_dice": d} for e, d in ((1, 0.1), (2, 0.3), (3, 0.2), (4, 0.5))]
    fake = FakeCheckpoint(out, interrupt=interrupt_at == "checkpoint")
    if interrupt_at == "rename":
        monkeypatch.setattr(run_folder, "promote_weights", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        train_module._commit_epoch(fake, fake, out, state, history, SMALL)
    monkeypatch.undo()
    # what a resume does: the checkpoint's state says which weights are committed
    committed_best = 2 if interrupt_at == "checkpoint" else 4
    run_folder.promote_weights(out, committed_best)
    assert (out / "best.weights.h5").read_text() == f"epoch {committed_best}"
    assert not list(out.glob("pending-*"))


def test_plateau_state_makes_a_resumed_run_take_the_same_decisions():
    """A8: with tied validation Dice a resume measured patience from the last tie, reset it and skipped a halving."""
    dice = [0.0] * 12
    kwargs = {"lr_patience": 4, "min_lr": 1e-5, "plateau": True}

    def run(state, values, patience=8):
        lrs = []
        for d in values:
            if state.should_stop(patience):
                break
            state, _, lr = run_folder.plateau_step(state, d, state.lr, **kwargs)
            lrs.append(lr)
        return state, lrs

    straight, lrs = run(run_folder.PlateauState(lr=1e-3), dice)
    first, lrs_a = run(run_folder.PlateauState(lr=1e-3), dice[:7])
    resumed, lrs_b = run(run_folder.PlateauState.from_json(first.to_json()), dice[7:])
    assert lrs_a + lrs_b == lrs and resumed == straight
    assert straight.best_epoch == 1 and straight.epoch == 9 and lrs[4] == 5e-4 and lrs[8] == 2.5e-4
    # a checkpoint saved before the state was stored: the history replayed measures from the first tie
    history = [{"epoch": e + 1, "val_dice": 0.0, "learning_rate": 1e-3} for e in range(7)]
    assert run_folder.replay_history(history, 7, SMALL).since_best == 6


def test_a_checkpoint_of_another_network_is_refused_in_one_line(tmp_path):
    """A6/C3: resuming a folder whose checkpoint is another network's gave ~150 warnings and a traceback."""
    import tensorflow as tf

    from training.seg import train as train_module
    from training.seg.model import build_model

    def checkpoint(alpha: float):
        model = build_model(ModelConfig(alpha=alpha, size=32))
        optimizer = tf.keras.optimizers.Adam(1e-3)
        optimizer.build(model.trainable_variables)
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=tf.Variable(0, dtype=tf.int64),
                                   state=tf.Variable("", dtype=tf.string))
        return ckpt, tf.train.CheckpointManager(ckpt, str(tmp_path / "ckpt"), max_to_keep=1)

    saved, manager = checkpoint(0.35)
    saved.epoch.assign(2)
    saved.state.assign(run_folder.PlateauState(epoch=2, best=0.4, best_epoch=1, since_best=1, lr=5e-4).to_json())
    manager.save()
    ckpt, manager = checkpoint(0.35)
    history, state = train_module._restore(ckpt, manager, tmp_path, SMALL)
    assert state == run_folder.PlateauState(epoch=2, best=0.4, best_epoch=1, since_best=1, lr=5e-4)
    other, manager = checkpoint(1.0)
    with pytest.raises(OutputError, match=r"does not fit the network.*--no-resume") as err:
        train_module._restore(other, manager, tmp_path, SMALL)
    assert "\n" not in str(err.value)


def test_a_left_over_split_drawn_with_another_seed_is_refused(tmp_path):
    """A split.json left by a run that stopped before its first epoch was reused with another --seed (or beside an
    ignored --split-from): the run trained on a split nobody asked for."""
    cohort = fake_cohort(tmp_path / "c", 6)
    ids = data.list_patients(cohort)
    out = tmp_path / "m"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"train": replace(SMALL, seed=5).to_dict()}))
    (out / "split.json").write_text(json.dumps({**data.make_split(ids, 5), "seed": 5}))
    before = snapshot(out)
    with pytest.raises(InputError, match=r"drawn with --seed 5, not --seed 3; to keep it give --seed 5, or pass "
                                         r"--no-resume .*previous-<time>/.*or choose another --out") as err:
        train(cohort, out, SMALL)
    assert "\n" not in str(err.value) and snapshot(out) == before
    other = tmp_path / "other_split.json"
    other.write_text(json.dumps(data.make_split(ids, 8)))
    with pytest.raises(InputError, match=r"not the one in --split-from .*other_split\.json; to keep it leave out"):
        train(cohort, out, replace(SMALL, seed=5), split_from=other)
    assert snapshot(out) == before
    same = tmp_path / "same_split.json"
    same.write_text(json.dumps(data.make_split(ids, 5)))
    for kwargs in ({}, {"split_from": same}):  # the asked split: reused, on to preparing the patients
        with pytest.raises(InputError, match="cohort patient P0"):
            train(cohort, out, replace(SMALL, seed=5), **kwargs)
    with pytest.raises(InputError, match="cohort patient P0"):  # --no-resume: moved aside, a new split drawn
        train(cohort, out, SMALL, resume=False)
    assert json.loads((out / "split.json").read_text())["seed"] == 3


def test_weights_set_aside_by_a_crash_are_deleted_when_the_next_run_starts(tmp_path, monkeypatch):
    """.uncommitted-* weights (an epoch whose checkpoint was never saved) were never cleaned up after a crash."""
    import training.seg.fingerprints

    monkeypatch.setattr(data, "load_cases", lambda *a, **kw: [])  # no patients to prepare: no training either
    monkeypatch.setattr(training.seg.fingerprints, "record_training_patients", lambda *a, **kw: None)
    out = tmp_path / "m"
    (out / "sub").mkdir(parents=True)
    stale = out / ".uncommitted-pending-epoch3.weights.h5"
    kept = [out / ".uncommitted-notes.txt", out / "sub" / ".uncommitted-pending-epoch1.weights.h5"]
    for p in (stale, *kept):
        p.write_text("x")
    summary = train(fake_cohort(tmp_path / "c", 6), out, replace(SMALL, epochs=0))
    assert summary["epochs_run"] == 0 and (out / "config.json").is_file()
    assert not stale.exists() and all(p.exists() for p in kept)  # only that pattern, only in the run folder


def test_a_validation_split_of_fewer_than_5_patients_is_warned_about_once(tmp_path, caplog):
    """D4: 12 patients split 7/1/4, so the best epoch and early stopping hung on one patient, without a word."""
    import logging

    with caplog.at_level(logging.WARNING), pytest.raises(InputError, match="cohort patient P0"):
        train(fake_cohort(tmp_path / "c12", 12), tmp_path / "m", SMALL)
    said = [r.getMessage() for r in caplog.records if "validation split" in r.getMessage()]
    assert len(said) == 1 and "only 1 patient(s) (fewer than 5)" in said[0] and "noisy" in said[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING), pytest.raises(InputError, match="cohort patient P"):
        train(fake_cohort(tmp_path / "c50", 50), tmp_path / "m50", SMALL)  # 5 validation patients
    assert "validation split" not in caplog.text


def test_after_each_epoch_the_run_says_what_is_left_and_what_ends_it_first():
    """A 300-epoch run said only "epoch 5/300": no idea whether it ends in an hour or a day."""
    state = run_folder.PlateauState(epoch=5, best=0.8, best_epoch=3, since_best=2)
    text = run_folder.time_left_text(state, epochs=300, patience=20, epoch_seconds=120)
    assert text == ("left: at most 295 epochs, ~9 h 50 min at 2.0 min per epoch; early stopping after 18 more "
                    "without improvement (~36 min)")
    budget = run_folder.time_left_text(state, epochs=300, patience=20, epoch_seconds=120, budget_left_s=600)
    assert budget.endswith("; the --max-minutes budget runs out in ~10 min (the epoch then running completes)")
    spent = run_folder.time_left_text(state, epochs=300, patience=20, epoch_seconds=120, budget_left_s=-5)
    assert spent.endswith("the --max-minutes budget is spent: the run stops here (resume to continue)")
    near_end = run_folder.time_left_text(replace(state, epoch=298), epochs=300, patience=20, epoch_seconds=30)
    assert near_end == "left: at most 2 epochs, ~1 min at 0.5 min per epoch"  # the stall cannot come first
    assert run_folder.time_left_text(replace(state, epoch=300), epochs=300, patience=20, epoch_seconds=30) == \
        "left: nothing (the planned epochs are done)"
    due = run_folder.time_left_text(replace(state, since_best=20), epochs=300, patience=20, epoch_seconds=120)
    assert due == "left: nothing (early stopping: no validation improvement for 20 epochs)"  # it said ~9 h 50 min


def test_pending_weights_left_by_a_crash_before_the_first_commit_are_deleted_by_a_fresh_run(tmp_path, monkeypatch):
    """pending-epochN weights written just before a crash that came before the run's first checkpoint stayed in the
    folder: the fresh run that followed (no checkpoint to resume) cleaned only the .uncommitted-* ones."""
    import training.seg.fingerprints

    monkeypatch.setattr(data, "load_cases", lambda *a, **kw: [])  # no patients to prepare: no training either
    monkeypatch.setattr(training.seg.fingerprints, "record_training_patients", lambda *a, **kw: None)
    out = tmp_path / "m"
    (out / "sub").mkdir(parents=True)
    stale = [run_folder.stage_weights(out, 1), run_folder.stage_weights(out, 2)]
    kept = [out / "pending-epoch1.weights.h5.txt", out / "pending-notes.h5", out / "sub" / "pending-epoch1.weights.h5"]
    for p in (*stale, *kept):
        p.write_text("x")
    summary = train(fake_cohort(tmp_path / "c", 6), out, replace(SMALL, epochs=0))
    assert summary["epochs_run"] == 0 and (out / "config.json").is_file()
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)  # only what train-seg writes


@pytest.mark.parametrize(("epochs_saved", "args", "says"), [
    (None, [], "stopped before the first epoch was saved; the same command starts the run in "),
    (2, [], "stopped with 2 of 3 epochs saved in "),
    (2, ["--no-resume"], "the same command without --no-resume resumes after epoch 2"),
    (3, [], "stopped after training (3 of 3 epochs saved in "),
])
def test_ctrl_c_says_what_the_run_kept_and_how_to_resume(tmp_path, monkeypatch, capsys, epochs_saved, args, says):
    """Ctrl+C said only 'otscc train-seg: interrupted': nothing told that the same command resumes."""
    from inference.cli import main
    from training.seg.commands import train_seg

    out = tmp_path / "model"
    out.mkdir()
    if epochs_saved:
        (out / "ckpt").mkdir()
        (out / "ckpt" / "checkpoint").write_text("")
        (out / "history.json").write_text(json.dumps({"history": [{"epoch": i + 1} for i in range(epochs_saved)]}))

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_seg, "train", interrupted)
    (tmp_path / "cohort").mkdir()
    code = main(["train-seg", "--cohort", str(tmp_path / "cohort"), "--out", str(out), "--epochs", "3", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130 and err[-1] == "otscc train-seg: interrupted"
    assert says in err[-2] and str(out) in err[-2]
    if epochs_saved == 2 and not args:
        assert err[-2].endswith("the same command resumes after epoch 2")
