"""A model folder used as a model: the runs ``train-seg --no-resume`` moved into ``previous-<UTC time>/`` are not
part of it, so they change none of its hashes (audit, isolation cache key, manifest records)."""

from __future__ import annotations

from inference import isolation
from inference.audit import model_sha256
from inference.backends.manifest import file_records, folder_files


def test_previous_runs_moved_aside_are_not_part_of_the_model(tmp_path):
    model = tmp_path / "run"
    (model / "saved_model" / "variables").mkdir(parents=True)
    for name in ("config.json", "best.weights.h5", "split.json", "previous-notes.txt",
                 "saved_model/variables/variables.index"):
        (model / name).write_text(name)
    before = (model_sha256(model, {}), isolation.model_digest(model))
    listed = [p.relative_to(model).as_posix() for p in folder_files(model)]
    moved = model / "previous-20261130T120000Z"
    (moved / "ckpt").mkdir(parents=True)
    for name in ("config.json", "best.weights.h5", "model_fp32.tflite", "ckpt/ckpt-3.index"):
        (moved / name).write_text(f"old {name}")
    assert (model_sha256(model, {}), isolation.model_digest(model)) == before
    assert [p.relative_to(model).as_posix() for p in folder_files(model)] == listed
    assert "previous-notes.txt" in listed and "saved_model/variables/variables.index" in listed  # files kept
    assert not [r for r in file_records([model], tmp_path) if "/previous-2026" in r["path"]]


def test_a_run_folders_checkpoint_and_stack_cache_are_not_part_of_the_model(tmp_path):
    """``train-seg`` keeps ``ckpt/`` and, by default, ``cache/`` (hundreds of MB of stacks) in its run folder; a run
    folder given as ``--model`` hashed them all on every Keras start."""
    model = tmp_path / "run"
    model.mkdir()
    for name in ("config.json", "best.weights.h5"):
        (model / name).write_text(name)
    before = (model_sha256(model, {}), isolation.model_digest(model))
    for name in ("ckpt/ckpt-3.index", "cache/SYN0001.npz"):
        (model / name).parent.mkdir(exist_ok=True)
        (model / name).write_text(name)
    assert (model_sha256(model, {}), isolation.model_digest(model)) == before
    assert [p.name for p in folder_files(model)] == ["best.weights.h5", "config.json"]


def test_only_a_model_folder_leaves_such_folders_out(tmp_path):
    """A format's own folder (no config.json) keeps a sub-folder that happens to be called cache/ or ckpt/: left out,
    its files would go unrecorded in the manifest and the variant be refused at load."""
    saved = tmp_path / "saved_model"
    (saved / "cache").mkdir(parents=True)
    (saved / "saved_model.pb").write_text("graph")
    (saved / "cache" / "table.bin").write_text("data")
    assert [p.relative_to(saved).as_posix() for p in folder_files(saved)] == ["cache/table.bin", "saved_model.pb"]
