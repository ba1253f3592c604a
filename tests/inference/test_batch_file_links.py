"""In a batch, a FILE link in one patient folder into another patient's folder (``A/t2.nii.gz -> ../B/t2.nii.gz``) is
not read, as a folder link to another patient is not followed: patient A silently got patient B's image."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import dicom
from inference.errors import InputError, MissingSequenceError
from inference.folders import other_patients
from inference.io import load_patient
from inference.wording import plural
from tests.inference.dicom_factory import cet1_spec, t2_spec, write_study
from tests.inference.test_io_files import write_volume


def files_batch(root: Path) -> Path:
    """Patients A and B of named image files (cet1/t2/t1/mask), each with its own values."""
    for k, name in enumerate(("A", "B")):
        (root / name).mkdir(parents=True)
        for i, role in enumerate(("cet1", "t2", "t1")):
            write_volume(root / name / f"{role}.nii.gz", value=100 * (i + 1) + 1000 * k, seed=i + 3 * k)
    return root


def test_a_file_link_into_another_patient_of_the_batch_is_not_read_as_this_patients_sequence(tmp_path):
    batch = files_batch(tmp_path / "batch")
    (batch / "A" / "t2.nii.gz").unlink()
    (batch / "A" / "t2.nii.gz").symlink_to(Path("..") / "B" / "t2.nii.gz")
    assert load_patient(batch / "A").roles["t2"].label == "t2.nii.gz"  # one patient alone: the link is read
    with other_patients([batch / "A", batch / "B"]), pytest.raises(MissingSequenceError) as caught:
        load_patient(batch / "A")
    for text in (caught.value.problem, caught.value.in_batch()):
        assert "A: t2.nii.gz is a link into B, another patient folder of the batch" in text and "T2" in text
    assert "\n" not in str(caught.value)
    with other_patients([batch / "A", batch / "B"]):
        assert load_patient(batch / "B").roles["t2"].label == "t2.nii.gz"  # B's own file


def test_a_linked_mask_of_another_patient_is_left_out_with_a_note(tmp_path):
    batch = files_batch(tmp_path / "batch")
    write_volume(batch / "B" / "mask.nii.gz", value=1.0, seed=9)
    (batch / "A" / "mask.nii.gz").symlink_to(batch / "B" / "mask.nii.gz")
    (batch / "A" / "elsewhere").mkdir()
    with other_patients([batch / "A", batch / "B"]):
        patient = load_patient(batch / "A")
    assert patient.mask is None
    assert any("mask.nii.gz is a link into B, another patient folder of the batch" in n for n in patient.notes)


def test_dicom_file_links_into_another_patient_of_the_batch_are_not_read(tmp_path):
    batch = tmp_path / "batch"
    write_study(batch / "A", [cet1_spec(number=7)])
    b_t2 = write_study(batch / "B", [cet1_spec(number=9), t2_spec(number=10)])[10].files
    write_study(tmp_path / "store", [t2_spec(number=4)])
    (batch / "A" / "linked").mkdir()
    for k, path in enumerate(b_t2):
        (batch / "A" / "linked" / f"b{k}.dcm").symlink_to(path)
    (batch / "A" / "store.dcm").symlink_to(next(p for p in (tmp_path / "store").rglob("*") if p.is_file()))

    assert sorted(s.number for s in dicom.scan_folder(batch / "A")[0]) == ["10", "4", "7"]  # alone: read
    with other_patients([batch / "A", batch / "B"]):
        series, notes = dicom.scan_folder(batch / "A")
        assert sorted(s.number for s in dicom.scan_folder(batch / "B")[0]) == ["10", "9"]
    assert sorted(s.number for s in series) == ["4", "7"]  # a link elsewhere is still read
    assert f"{plural(len(b_t2), 'file link')} into another patient folder of the batch not read" in " ".join(notes)


def test_the_predict_batch_refuses_the_linked_file(tmp_path, monkeypatch):
    from inference.cli import main
    from inference.commands import predict

    batch = files_batch(tmp_path / "batch")
    for name in ("A", "B"):
        (batch / name / "clinical.json").write_text("{}")
    (batch / "A" / "t2.nii.gz").unlink()
    (batch / "A" / "t2.nii.gz").symlink_to(batch / "B" / "t2.nii.gz")
    outcome = {}

    def intake_only(pipeline, folder, *args, **kwargs):
        try:
            outcome[folder.name] = load_patient(folder).roles["t2"].label
        except InputError as exc:
            outcome[folder.name] = exc.in_batch()
        raise InputError("intake only")

    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))
    monkeypatch.setattr(predict, "_predict_one", intake_only)
    assert main(["predict", str(batch), "--out", str(tmp_path / "out"), "--backend", "litert"]) == 1
    assert outcome["B"] == "t2.nii.gz" and "t2.nii.gz is a link into B" in outcome["A"]
