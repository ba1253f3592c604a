"""Counts in user-facing lines read in their number ("1 thread", not "1 threads")."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from inference.backends.base import SegBackend
from inference.wording import plural


class _Backend(SegBackend):
    name, format_name = "litert", "tflite-int8"

    def predict(self, batch):
        return np.zeros(batch.shape[:3], np.float32)


@pytest.mark.parametrize(("count", "expected"), [(0, "0 runs"), (1, "1 run"), (2, "2 runs"), (-1, "-1 run")])
def test_plural(count, expected):
    assert plural(count, "run") == expected


def test_plural_of_an_irregular_noun():
    assert plural(1, "entry", "entries") == "1 entry" and plural(5, "entry", "entries") == "5 entries"


@pytest.mark.parametrize(("threads", "expected"), [(1, "tflite-int8 on litert (cpu, 1 thread)"),
                                                   (2, "tflite-int8 on litert (cpu, 2 threads)"),
                                                   (None, "tflite-int8 on litert (cpu)")])
def test_backend_summary_counts_its_threads(threads, expected):
    """``--threads 1`` read "(cpu, 1 threads)" in the GUI's status bar and the CLI's output."""
    backend = _Backend()
    backend.threads = threads
    assert backend.summary() == expected


@pytest.mark.parametrize(("notes", "expected"), [(["a"], "(1 higher-priority candidate unavailable here;"),
                                                 (["a", "b"], "(2 higher-priority candidates unavailable here;")])
def test_the_backend_line_counts_the_candidates_passed_over(notes, expected):
    """It said "(1 higher-priority candidate(s) unavailable here; ...)"."""
    from inference.commands.predict import backend_line

    assert f"litert model_int8.tflite {expected} reasons in result.json" in backend_line(
        {"backend": "litert", "variant": "model_int8.tflite", "notes": notes})


@pytest.mark.parametrize(("skipped", "expected"), [(1, "0 of 0 patients done, 0 failed, 1 folder skipped; "),
                                                   (2, "0 of 0 patients done, 0 failed, 2 folders skipped; ")])
def test_the_batch_summary_counts_the_folders_skipped(tmp_path, capsys, skipped, expected):
    """The batch's closing line said "1 folder(s) skipped"."""
    from inference.commands.predict import _run_batch

    folders = [tmp_path / f"notes{i}" for i in range(skipped)]  # no images, no clinical.json: skipped, exit code 0
    for folder in folders:
        folder.mkdir()
    args = argparse.Namespace(out=str(tmp_path / "out"), json=False, age=None, sex=None, ct_stage=None,
                              cn_status=None, doi_mm=None)
    assert _run_batch(None, [], args, argparse.Namespace(path=tmp_path / "audit.jsonl"), folders) == 0
    assert capsys.readouterr().out.startswith(expected)


@pytest.mark.parametrize(("counts", "expected"), [
    ((1, 1, 1, 1), "0 of 1 patient done, 1 failed, 1 folder skipped (1 holding images: exit code 1)"),
    ((2, 1, 2, 0), "1 of 2 patients done, 1 failed, 2 folders skipped"),
    ((3, 0, 0, 0), "3 of 3 patients done, 0 failed")])
def test_batch_summary(counts, expected):
    from inference.commands.predict import batch_summary

    assert batch_summary(*counts) == expected


@pytest.mark.parametrize(("warnings", "expected"), [([], "no_tumor"),
                                                    (["w"], "no_tumor (1 warning: see its result.json)"),
                                                    (["w", "v"], "no_tumor (2 warnings: see its result.json)")])
def test_a_batch_patient_line_counts_its_warnings(warnings, expected):
    """A patient's line in a batch said "(1 warning(s): see its result.json)"."""
    from inference.commands.predict import batch_outcome

    assert batch_outcome({"status": "no_tumor", "warnings": warnings}) == expected


def _series(slices: list) -> object:
    from types import SimpleNamespace

    return SimpleNamespace(label="series #7", slices=slices, warnings=[])


def _slice(name: str, z: float, *, rows: int = 4, sop_uid: str = "") -> object:
    from types import SimpleNamespace

    return SimpleNamespace(path=name, position=np.array([0.0, 0.0, z]), orientation=np.array([1.0, 0, 0, 0, 1, 0]),
                           rows=rows, cols=4, image_type=("ORIGINAL",), sop_uid=sop_uid)


@pytest.mark.parametrize(("dropped", "expected"), [
    (1, "series #7: 1 image with another orientation/size or ImageType LOCALIZER was mixed into the series"),
    (2, "series #7: 2 images with another orientation/size or ImageType LOCALIZER were mixed into the series")])
def test_the_localizers_note_counts_them(dropped, expected):
    from inference.dicom_stack import _drop_localizers

    series = _series([_slice(f"{z}", z) for z in range(5)] + [_slice(f"L{i}", i, rows=8) for i in range(dropped)])
    assert len(_drop_localizers(series)) == 5
    assert series.warnings == [expected + " and ignored"]


@pytest.mark.parametrize(("copies", "expected"), [
    (1, "series #7: 1 file is a copy of another file of the series (same SOPInstanceUID) and was ignored"),
    (2, "series #7: 2 files are copies of another file of the series (same SOPInstanceUID) and were ignored")])
def test_the_copies_note_counts_them(copies, expected):
    from inference.dicom_stack import _drop_copies

    slices = [_slice(f"IM{z}", z, sop_uid=f"1.{z}") for z in range(4)]
    series = _series(slices)
    kept = _drop_copies(series, slices + [_slice(f"IM{z} (1)", z, sop_uid=f"1.{z}") for z in range(copies)])
    assert len(kept) == 4 and series.warnings == [expected]
