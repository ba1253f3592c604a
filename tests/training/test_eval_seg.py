"""``otscc eval-seg`` honesty: training patients (found by their CE-T1 voxels, not their ids) are left out of the
figures, HD95 says over how many patients it was averaged, the JSON is strict JSON with provenance."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.backends.base import SegBackend
from inference.errors import InputError
from training.seg.commands import eval_seg
from training.seg.data import list_patients
from training.seg.fingerprints import RECORD, load_seen, record_training_patients


class _Bright(SegBackend):
    """'Segments' bright CE-T1 pixels (no TensorFlow, no model file)."""

    name, model_file, format_name, input_size, max_batch = "bright", "model_fp32.tflite", "tflite-fp32", 64, 8

    def predict(self, batch):
        return (batch[..., 0] > 0.75).astype(np.float32) * 0.9


class _Nothing(_Bright):
    """Misses every tumor."""

    def predict(self, batch):
        return np.zeros(batch.shape[:3], np.float32)


def _strict(text: str) -> dict:
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(autouse=True)
def _no_registration(monkeypatch):
    """Registration (seconds a patient) does not change what these tests check."""
    import functools

    from training.seg import evaluate

    monkeypatch.setattr(evaluate, "prepare_patient", functools.partial(evaluate.prepare_patient, register="never"))


@pytest.fixture
def model(tmp_path, tiny_cohort):
    ids = list_patients(tiny_cohort)
    folder = tmp_path / "model"
    folder.mkdir()
    split = {"train": ids[:1], "validation": ids[1:2], "test": ids[2:4]}
    (folder / "split.json").write_text(json.dumps(split))
    (folder / "model_fp32.tflite").write_bytes(b"weights")
    return folder, split


def _run(monkeypatch, capsys, model_dir, cohort, split="all", backend=_Bright):
    monkeypatch.setattr(eval_seg, "load_backend", lambda name, folder: backend())
    monkeypatch.setattr(eval_seg, "self_check", lambda b: None)
    args = argparse.Namespace(model=model_dir, cohort=str(cohort), split=split, backend="litert", save_masks=None,
                              json=True)
    assert eval_seg.run(args) == 0
    return _strict(capsys.readouterr().out)


def test_training_patients_are_found_by_their_voxels_and_left_out(tmp_path, tiny_cohort, model, monkeypatch,
                                                                   capsys, caplog):
    folder, split = model
    record_training_patients(folder, tiny_cohort, split)
    ids = list_patients(tiny_cohort)
    fresh = tmp_path / "fresh"  # the same training patient under another name, and a test patient
    shutil.copytree(tiny_cohort / ids[0], fresh / "NEW0001")
    shutil.copytree(tiny_cohort / ids[3], fresh / "NEW0002")
    with caplog.at_level(logging.WARNING):
        result = _run(monkeypatch, capsys, folder, fresh)
    assert [r["patient_id"] for r in result["seen_in_training"]] == ["NEW0001"]
    assert f"train patient {ids[0]}" in result["seen_in_training"][0]["seen_as"]
    assert [r["patient_id"] for r in result["patients"]] == ["NEW0002"]
    assert result["summary"]["all"]["n"] == 1
    assert "1 of 2 patients left out" in caplog.text and "NEW0001" in caplog.text


def _nudge_one_voxel(cet1: Path) -> None:
    """Change one CE-T1 voxel by 1, as a cohort regenerated on a CPU whose OpenBLAS kernels round otherwise does."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(cet1))
    array = sitk.GetArrayFromImage(image)
    array.flat[array.size // 2] += 1
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(image)
    sitk.WriteImage(out, str(cet1))


def test_a_regenerated_synthetic_training_patient_is_left_out_though_a_voxel_differs(tmp_path, tiny_cohort, model,
                                                                                       monkeypatch, capsys):
    folder, split = model
    record_training_patients(folder, tiny_cohort, split)
    assert set(json.loads((folder / RECORD).read_text())["synthetic"]) == set(split["train"] + split["validation"])
    regen = tmp_path / "regenerated"
    pid, test_pid = split["train"][0], split["test"][0]
    for p in (pid, test_pid):
        shutil.copytree(tiny_cohort / p, regen / p)
        _nudge_one_voxel(regen / p / "cet1.nii.gz")
    real = tmp_path / "real"  # the same nudged voxels, but not written by otscc synth: only voxels can tell
    shutil.copytree(regen / pid, real / "PAT1")
    (real / "PAT1" / "truth.json").unlink()
    result = _run(monkeypatch, capsys, folder, regen)
    assert [r["patient_id"] for r in result["seen_in_training"]] == [pid]
    assert "same synthetic patient, 5:" in result["seen_in_training"][0]["seen_as"]
    assert [r["patient_id"] for r in result["patients"]] == [test_pid]
    assert _run(monkeypatch, capsys, folder, real)["seen_in_training"] == []


def test_split_all_on_the_training_cohort_scores_only_test_patients(tiny_cohort, model, monkeypatch, capsys):
    folder, split = model
    record_training_patients(folder, tiny_cohort, split)
    result = _run(monkeypatch, capsys, folder, tiny_cohort)
    assert sorted(r["patient_id"] for r in result["seen_in_training"]) == sorted(split["train"] + split["validation"])
    assert len(result["patients"]) == 4 and result["summary"]["all"]["n"] == 4
    # train/validation: diagnostics on the model's own patients, unchanged
    train = _run(monkeypatch, capsys, folder, tiny_cohort, split="train")
    assert [r["patient_id"] for r in train["patients"]] == split["train"] and not train["seen_in_training"]


def test_a_model_without_the_record_gets_a_note(tiny_cohort, model, monkeypatch, capsys, caplog):
    folder, split = model
    with caplog.at_level(logging.WARNING):
        result = _run(monkeypatch, capsys, folder, tiny_cohort, split="test")
    assert f"has no {RECORD}" in caplog.text and "cannot be checked" in caplog.text
    assert len(result["patients"]) == len(split["test"])


def test_patients_of_the_init_weights_model_count_as_seen(tmp_path, tiny_cohort, model):
    folder, split = model
    ids = list_patients(tiny_cohort)
    parent = tmp_path / "parent"
    parent.mkdir()
    (parent / "split.json").write_text(json.dumps({"train": ids[4:5], "validation": [], "test": ids[:4]}))
    (parent / "best.weights.h5").write_bytes(b"parent weights")
    record_training_patients(folder, tiny_cohort, split, init_weights=parent / "best.weights.h5")
    record = json.loads((folder / RECORD).read_text())
    assert record["init_weights"]["path"] == str((parent / "best.weights.h5").resolve())
    assert len(record["init_weights"]["sha256"]) == 64
    seen = load_seen(folder)
    assert seen.match(ids[4], "no such fingerprint") and any("matched by id" in n for n in seen.notes)
    record_training_patients(parent, tiny_cohort, {"train": ids[4:5], "validation": []})  # fingerprints now
    seen = load_seen(folder)
    assert len(seen.fingerprints) == 3 and not seen.ids and not seen.notes
    record_training_patients(folder, tiny_cohort, split)  # resumed without --init-weights: still started from them
    assert json.loads((folder / RECORD).read_text())["init_weights"] == record["init_weights"]
    record_training_patients(folder, tiny_cohort, split, resume=False)  # started over from scratch
    assert json.loads((folder / RECORD).read_text())["init_weights"] is None


def test_missed_tumors_are_counted_beside_hd95_and_the_json_is_strict(tiny_cohort, model, monkeypatch, capsys):
    folder, split = model
    result = _run(monkeypatch, capsys, folder, tiny_cohort, split="test", backend=_Nothing)
    summary = result["summary"]["all"]
    assert summary["n"] == len(split["test"]) and summary["hd95_n"] == 0 and summary["n_missed"] == len(split["test"])
    assert summary["hd95_mm"] is None and all(r["hd95_mm"] is None for r in result["patients"])


def test_the_json_records_provenance(tiny_cohort, model, monkeypatch, capsys):
    folder, _ = model
    result = _run(monkeypatch, capsys, folder, tiny_cohort, split="test")
    prov = result["provenance"]
    assert prov["model_dir"] == str(folder.resolve()) and prov["model_file"] == "model_fp32.tflite"
    assert prov["model_sha256"] == __import__("hashlib").sha256(b"weights").hexdigest()
    assert prov["cohort_path"] == str(tiny_cohort.resolve()) and prov["versions"]["otscc-edge"]
    assert prov["created"][-6] in "+-"  # a UTC offset
    assert len(result["cohort_fingerprint"]) == 64


def test_a_fallback_to_another_variant_is_said(tiny_cohort, model, monkeypatch, capsys, caplog):
    class _Int8(_Bright):
        model_file, format_name = "model_int8.tflite", "tflite-int8"

    folder, _ = model
    with caplog.at_level(logging.WARNING):
        result = _run(monkeypatch, capsys, folder, tiny_cohort, split="test", backend=_Int8)
    assert "has no model_fp32.tflite: evaluating model_int8.tflite (tflite-int8)" in caplog.text
    assert result["provenance"]["format"] == "tflite-int8"


def test_a_missing_model_folder_is_named(tiny_cohort, tmp_path):
    from training.seg.evaluate import select_patients

    with pytest.raises(InputError, match="model folder not found"):
        select_patients(tiny_cohort, tmp_path / "missing", "all")


def test_training_writes_the_record_with_its_init_weights(tiny_cohort, tmp_path):
    """train-seg records its train/validation patients and ``--init-weights`` (path and sha256) in the model."""
    import hashlib

    from training.seg.model import ModelConfig, build_model
    from training.seg.train import TrainConfig, train

    cfg = TrainConfig(model=ModelConfig(alpha=0.35, size=64), epochs=1, steps_per_epoch=1, batch_size=2, seed=3)
    init = tmp_path / "parent" / "best.weights.h5"
    init.parent.mkdir()
    build_model(cfg.model).save_weights(str(init))
    out = tmp_path / "model"
    train(tiny_cohort, out, cfg, init_weights=str(init))
    record, split = json.loads((out / RECORD).read_text()), json.loads((out / "split.json").read_text())
    assert {s: sorted(record["patients"][s]) for s in ("train", "validation")} == \
        {s: sorted(split[s]) for s in ("train", "validation")}
    assert record["init_weights"] == {"path": str(init.resolve()),
                                      "sha256": hashlib.sha256(init.read_bytes()).hexdigest()}
    assert load_seen(out).checked and any("no longer has" in n for n in load_seen(out).notes)  # parent: no split


def test_scores_on_the_models_own_patients_are_labelled_diagnostic(tiny_cohort, model, monkeypatch, capsys):
    """`--split train` printed "7 patients (train)" and a table like any other: nothing said it measures nothing."""
    folder, _ = model
    train = _run(monkeypatch, capsys, folder, tiny_cohort, split="train")
    assert train["diagnostic"].startswith("diagnostic only: the model was fitted on these training patients")
    assert _run(monkeypatch, capsys, folder, tiny_cohort, split="validation")["diagnostic"].startswith(
        "diagnostic only: these validation patients chose the kept epoch")
    assert _run(monkeypatch, capsys, folder, tiny_cohort, split="test")["diagnostic"] is None
    args = argparse.Namespace(model=folder, cohort=str(tiny_cohort), split="train", backend="litert",
                              save_masks=None, json=False)
    assert eval_seg.run(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "(train)" in lines[0] and lines[1].startswith("DIAGNOSTIC ONLY: the model was fitted on these training")
