"""Atomic writes: a failure mid-write keeps the previous file and leaves no temporary behind; a staged set is
committed whole; stale temporaries of dead writers are removed; file-system refusals become clear errors."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import SimpleITK as sitk

from inference import atomic
from inference.atomic import atomic_path, is_temp, remove_stale_temps, staged_files, write_json
from inference.errors import OutputError, OutputWriteError


def test_failed_write_keeps_previous_file(tmp_path):
    target = tmp_path / "result.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"v": 2, "partial')
        raise RuntimeError("crash mid-write")
    assert target.read_text() == '{\n  "v": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_temporary_keeps_suffix_and_replaces(tmp_path):
    target = tmp_path / "sub" / "model.weights.h5"
    with atomic_path(target, durable=True) as tmp:
        assert tmp.name.endswith(".weights.h5") and tmp.parent == target.parent and is_temp(tmp)
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_temporaries_are_unique_per_call(tmp_path):
    with atomic_path(tmp_path / "a.json") as one, atomic_path(tmp_path / "a.json") as two:
        assert one != two  # two threads exporting the same patient cannot write into each other's file
        one.write_text("1")
        two.write_text("2")
    assert (tmp_path / "a.json").read_text() == "1"  # the outer one replaced last
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_staged_set_is_committed_in_order_or_not_at_all(tmp_path):
    folder = tmp_path / "P1"
    with staged_files(folder) as stage:
        for name in ("mask.nii.gz", "report.pdf", "result.json"):
            stage.path(name).write_text(f"old {name}")
        assert stage.staged == ("mask.nii.gz", "report.pdf", "result.json")
        stage.commit()
    before = {p.name: p.read_text() for p in folder.iterdir()}
    with pytest.raises(RuntimeError), staged_files(folder) as stage:
        stage.path("mask.nii.gz").write_text("new mask")
        stage.path("report.pdf").write_text("new rep")  # half written
        raise RuntimeError("killed while staging the report")
    assert {p.name: p.read_text() for p in folder.iterdir()} == before
    with staged_files(folder) as stage:
        stage.path("mask.nii.gz").write_text("new mask")
        record = stage.record("mask.nii.gz")
        done = stage.commit()
    assert record["bytes"] == 8 and len(record["sha256"]) == 64 and list(done) == ["mask.nii.gz"]
    assert (folder / "mask.nii.gz").read_text() == "new mask" and not any(map(is_temp, folder.iterdir()))


def _old_set(folder, names) -> dict[str, str]:
    """Commit ``old <name>`` files and return the folder's contents."""
    with staged_files(folder) as stage:
        for name in names:
            stage.path(name).write_text(f"old {name}")
        stage.commit()
    return {p.name: p.read_text() for p in folder.iterdir()}


def _refuse_renames_onto(monkeypatch, target: str):
    """Make renames onto ``target`` fail as a file open in a viewer does on Windows; returns the real replace."""
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(target):
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    return real_replace


@pytest.mark.parametrize("had_report", [True, False])
def test_a_rename_that_fails_mid_commit_puts_the_previous_set_back(tmp_path, monkeypatch, had_report):
    """report.pdf open in a viewer on Windows: its rename fails after the mask's. The mask is restored (or
    removed when there was none), so "outputs already in it were left unchanged" stays true."""
    folder = tmp_path / "P1"
    names = ("mask.nii.gz", "report.pdf", "result.json") if had_report else ("result.json",)
    before = _old_set(folder, names)
    _refuse_renames_onto(monkeypatch, "report.pdf")
    with pytest.raises(OutputWriteError, match="left unchanged"), staged_files(folder) as stage:
        for name in ("mask.nii.gz", "report.pdf", "result.json"):
            stage.path(name).write_text(f"new {name}")
        stage.commit()
    assert {p.name: p.read_text() for p in folder.iterdir()} == before


def test_a_folder_flush_failure_after_a_complete_commit_is_not_reported_as_unchanged(tmp_path, monkeypatch):
    folder = tmp_path / "P1"
    monkeypatch.setattr(atomic, "fsync_dir", lambda path: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with staged_files(folder) as stage:
        stage.path("result.json").write_text("new")
        stage.commit()
    assert (folder / "result.json").read_text() == "new"


def test_commit_refuses_a_set_with_a_missing_file(tmp_path):
    folder = tmp_path / "P1"
    with pytest.raises(FileNotFoundError), staged_files(folder) as stage:
        stage.path("mask.nii.gz").write_text("mask")
        stage.path("result.json")  # named but never written
        stage.commit()
    assert list(folder.iterdir()) == []  # nothing renamed: the check runs before the first rename


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_stale_temporaries_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead = tmp_path / f".tmp-{_dead_pid()}-0123abcd-report.pdf"
        mine = tmp_path / f".tmp-{os.getpid()}-0123abcd-mask.nii.gz"
        other = tmp_path / f".tmp-{live.pid}-0123abcd-result.json"
        ancient = tmp_path / f".tmp-{live.pid}-4567abcd-result.json"
        output = tmp_path / "result.json"
        for path in (dead, mine, other, ancient, output):
            path.write_text("x")
        os.utime(ancient, (time.time() - 2 * atomic.STALE_AFTER_S,) * 2)
        removed = remove_stale_temps(tmp_path)
        assert sorted(removed) == sorted([dead, ancient])
        assert mine.exists() and other.exists() and output.exists()
    finally:
        live.kill()
        live.wait()


def test_next_staged_write_cleans_up_after_a_killed_writer(tmp_path):
    folder = tmp_path / "P1"
    folder.mkdir()
    leftover = folder / f".tmp-{_dead_pid()}-0123abcd-mask.nii.gz"
    leftover.write_bytes(b"half a mask")
    with staged_files(folder) as stage:
        stage.path("mask.nii.gz").write_bytes(b"whole mask")
        stage.commit()
    assert [p.name for p in folder.iterdir()] == ["mask.nii.gz"]


def test_disk_full_inside_the_block_becomes_a_clear_output_error(tmp_path):
    target = tmp_path / "summary.csv"
    write_json(target, {"v": 1})
    with pytest.raises(OutputWriteError) as info, atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device")  # what write() raises on a full disk
    error = info.value
    assert isinstance(error, OutputError) and isinstance(error, OSError) and error.errno == errno.ENOSPC
    assert "disk is full" in str(error) and str(tmp_path) in str(error) and "Free some space" in str(error)
    assert target.read_text() == '{\n  "v": 1\n}' and [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_input_errors_inside_the_block_are_not_relabelled(tmp_path):
    elsewhere = tmp_path / "inputs" / "missing.nii.gz"
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "out" / "x.json") as tmp:
        tmp.write_bytes(elsewhere.read_bytes())
    with pytest.raises(PermissionError) as info, atomic_path(tmp_path / "out" / "x.json"):
        raise PermissionError(errno.EACCES, "Permission denied", str(elsewhere))
    assert not isinstance(info.value, OutputError)  # an unreadable input is not an output problem


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"),
                                             (errno.EACCES, "permission denied"), (errno.EIO, "Input/output error")])
def test_output_error_messages_say_what_and_what_to_do(tmp_path, code, words):
    error = atomic.output_error(OSError(code, os.strerror(code)), tmp_path)
    text = str(error)
    assert words in text and str(tmp_path) in text and "left unchanged" in text and "\n" not in text
    assert error.errno == code and error.exit_code == OutputError.exit_code


def test_image_write_that_silently_truncates_is_caught(tmp_path, monkeypatch):
    """SimpleITK reports success for a .nii.gz cut short by a full disk; the read-back check catches it."""
    image = sitk.GetImageFromArray((np.random.default_rng(0).random((8, 64, 64)) > 0.5).astype(np.uint8))
    real_write = sitk.WriteImage

    def truncating(img, path, compress):
        real_write(img, path, compress)
        with open(path, "r+b") as handle:
            handle.truncate(200)

    monkeypatch.setattr(sitk, "WriteImage", truncating)
    target = tmp_path / "mask.nii.gz"
    with pytest.raises(OSError, match="could not be written completely"):
        atomic.write_image_verified(image, target)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(sitk, "WriteImage", real_write)
    atomic.write_image_verified(image, target)
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(target))), sitk.GetArrayFromImage(image))


def test_a_retired_file_goes_with_the_commit_and_comes_back_when_it_fails(tmp_path, monkeypatch):
    """predict --no-report over an earlier run: the old report.pdf must not stay beside the new result."""
    folder = tmp_path / "P1"
    before = _old_set(folder, ("mask.nii.gz", "report.pdf", "result.json"))
    real_replace = _refuse_renames_onto(monkeypatch, "result.json")
    with pytest.raises(OutputWriteError), staged_files(folder) as stage:
        stage.retire("report.pdf")
        for name in ("mask.nii.gz", "result.json"):
            stage.path(name).write_text(f"new {name}")
        stage.commit()
    assert {p.name: p.read_text() for p in folder.iterdir()} == before  # the report is back too
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    with staged_files(folder) as stage:
        stage.retire("report.pdf")
        stage.retire("never-there.txt")
        for name in ("mask.nii.gz", "result.json"):
            stage.path(name).write_text(f"new {name}")
        done = stage.commit()
    assert list(done) == ["mask.nii.gz", "result.json"]
    assert {p.name: p.read_text() for p in folder.iterdir()} == {"mask.nii.gz": "new mask.nii.gz",
                                                                 "result.json": "new result.json"}
