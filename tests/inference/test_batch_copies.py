"""In a batch, an image identical to one of an earlier patient (a copied or hard-linked file, the same patient
under two folder names) gets a warning in that patient's result, summary row and terminal line: nothing told the
user that two results came from the same images, or that a patient had been given another's T2."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.assets import SAMPLE_PATIENT
from inference.batch_inputs import SeenImages


class _Bare:
    """What ``SeenImages`` reads of a Volume."""

    def __init__(self, array) -> None:
        self.array = array


def test_repeats_name_the_earlier_folder_and_each_role():
    seen = SeenImages()
    a, b, c = (np.full((2, 3, 4), v, np.float32) for v in (0, 1, 2))
    assert seen.repeats(Path("P1"), {"cet1": _Bare(a), "t2": _Bare(b), "t1": _Bare(c)}) == []
    assert seen.repeats(Path("P2"), {"cet1": _Bare(a), "t2": _Bare(b), "t1": _Bare(c)}) == [
        "this patient's CE-T1, T2 and T1 are identical, voxel for voxel, to the CE-T1, T2 and T1 of folder 'P1' "
        "earlier in this batch: the same patient twice, or another patient's file copied into this folder? Check "
        "the folder's images before using this result"]
    third = seen.repeats(Path("P3"), {"cet1": _Bare(a + 5), "t2": _Bare(c), "t1": _Bare(b + 7)})
    assert len(third) == 1 and third[0].startswith("this patient's T2 is identical, voxel for voxel, to the T1 of "
                                                   "folder 'P1'")
    assert seen.warned == {"P1": [], "P2": seen.warned["P2"], "P3": third}


def test_equal_bytes_of_another_shape_or_type_are_not_a_repeat():
    seen = SeenImages()
    seen.repeats(Path("P1"), {"cet1": _Bare(np.zeros((2, 6), np.float32))})
    assert seen.repeats(Path("P2"), {"cet1": _Bare(np.zeros((3, 4), np.float32))}) == []
    assert seen.repeats(Path("P3"), {"cet1": _Bare(np.zeros((2, 6), np.int32))}) == []


@pytest.mark.timeout(300)
def test_a_batch_warns_of_a_copied_and_a_hard_linked_file(tmp_path, monkeypatch, capsys):
    import SimpleITK as sitk

    from inference.cli import main

    batch = tmp_path / "batch"
    shutil.copytree(SAMPLE_PATIENT, batch / "A", ignore=shutil.ignore_patterns("mask*", "truth*"))
    (batch / "B").mkdir()  # another patient, given A's CE-T1 by a copy and A's T2 by a hard link
    shutil.copy(batch / "A" / "cet1.nii.gz", batch / "B" / "cet1.nii.gz")
    os.link(batch / "A" / "t2.nii.gz", batch / "B" / "t2.nii.gz")
    sitk.WriteImage(sitk.ReadImage(str(batch / "A" / "t1.nii.gz")) + 1, str(batch / "B" / "t1.nii.gz"))
    shutil.copy(batch / "A" / "clinical.json", batch / "B" / "clinical.json")
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))
    out = tmp_path / "out"

    assert main(["predict", str(batch), "--out", str(out), "--backend", "litert"]) == 0
    err = capsys.readouterr().err
    warnings = {name: json.loads((out / name / "result.json").read_text())["warnings"] for name in "AB"}
    assert not any("voxel for voxel" in w for w in warnings["A"])
    assert warnings["B"][0].startswith("this patient's CE-T1 and T2 are identical, voxel for voxel, to the CE-T1 "
                                       "and T2 of folder 'A' earlier in this batch")
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as f:
        rows = {row["folder"]: row for row in csv.DictReader(f)}
    assert "voxel for voxel" in rows["B"]["warnings"] and "voxel for voxel" not in rows["A"]["warnings"]
    lines = err.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("[2/2] B: "))
    assert lines[at + 1].startswith("  warning: this patient's CE-T1 and T2 are identical"), lines[at:at + 3]


def _result_with_cet1(out: Path, pid: str, array: np.ndarray) -> None:
    import hashlib

    (out / pid).mkdir(parents=True)
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    (out / pid / "result.json").write_text(json.dumps({"input_sha256": {"cet1": digest}}))


def test_a_cet1_of_another_patients_earlier_results_in_the_output_folder_is_said(tmp_path):
    a, b = np.zeros((2, 3, 4), np.float32), np.ones((2, 3, 4), np.float32)
    out = tmp_path / "out"
    _result_with_cet1(out, "P1", a)
    (out / "P9").mkdir()
    (out / "P9" / "result.json").write_text("not json")  # unreadable: no match, no error
    seen = SeenImages(out)
    assert seen.repeats(Path("P1"), {"cet1": _Bare(a)}, "P1") == []  # its own earlier results: a re-run
    assert seen.repeats(Path("X"), {"cet1": _Bare(b)}, "X") == []
    found = SeenImages(out).repeats(Path("P2"), {"cet1": _Bare(a), "t2": _Bare(b)}, "P2")
    assert found == [f"this patient's CE-T1 is identical, voxel for voxel, to that of the results of 'P1' already in "
                     f"{out} (an earlier run): the same patient under another id, or another patient's file copied "
                     "into this folder? Check the folder's images before using this result"]
    again = SeenImages(out)  # a batch re-run into the same folder: P1 is also this run's, said once, as a repeat
    again.repeats(Path("P1"), {"cet1": _Bare(a)}, "P1")
    assert [w.split(",")[0] for w in again.repeats(Path("P2"), {"cet1": _Bare(a)}, "P2")] == [
        "this patient's CE-T1 is identical"]
    assert "earlier in this batch" in again.warned["P2"][0]
    renamed = SeenImages(out)  # the same, from folders not named by the patient id (results are named by the id)
    renamed.repeats(Path("scan_a"), {"cet1": _Bare(a)}, "P1")
    twice = renamed.repeats(Path("scan_b"), {"cet1": _Bare(a)}, "P2")
    assert len(twice) == 1 and "of folder 'scan_a' earlier in this batch" in twice[0]


def test_a_single_run_warns_of_results_of_the_same_images_under_another_id(tmp_path, monkeypatch, capsys):
    from inference.cli import main

    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))
    out = tmp_path / "out"
    copy = tmp_path / "B"
    shutil.copytree(SAMPLE_PATIENT, copy, ignore=shutil.ignore_patterns("mask*", "truth*"))
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(out), "--backend", "litert"]) == 0
    assert main(["predict", str(copy), "--out", str(out), "--backend", "litert"]) == 0
    warnings = json.loads((out / "B" / "result.json").read_text())["warnings"]
    assert warnings[0].startswith(f"this patient's CE-T1 is identical, voxel for voxel, to that of the results of "
                                  f"'{SAMPLE_PATIENT.name}' already in {out} (an earlier run)")
    assert "identical, voxel for voxel" in capsys.readouterr().out  # printed with the result's warnings
    assert main(["predict", str(copy), "--out", str(out), "--backend", "litert"]) == 0  # its own re-run: no new one
    assert sum("voxel for voxel" in w for w in json.loads((out / "B" / "result.json").read_text())["warnings"]) == 1


def test_a_single_patient_hashes_only_its_cet1(tmp_path, monkeypatch):
    """A single-patient predict hashed the T2 and T1 too (~36 ms each on 30x512x512) for a comparison within the run,
    which has no other patient to compare with; the CE-T1 is still compared with OUT's earlier results."""
    import inference.batch_inputs as batch_inputs

    hashed = []
    monkeypatch.setattr(batch_inputs, "volume_sha256", lambda v: hashed.append(v) or "h")
    a, b = ({r: _Bare(np.full((2, 3, 4), v, np.float32)) for r, v in (("cet1", 0), ("t2", 1), ("t1", 2))}
            for _ in range(2))
    single = SeenImages(tmp_path, within_run=False)
    assert single.repeats(tmp_path / "A", a, "A", cet1_sha256="c") == []
    assert hashed == []  # the caller's CE-T1 digest; T2 and T1 not hashed
    assert single.repeats(tmp_path / "B", b, "B", cet1_sha256="c") == []  # nothing within a single run
    batch = SeenImages(tmp_path)
    batch.repeats(tmp_path / "A", a, "A", cet1_sha256="c")
    assert len(hashed) == 2
