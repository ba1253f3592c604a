"""Intake refuses one image in two roles and says when T2/T1 miss part of the head or the tumor (a review with real
scanner data, 2026-11-30: both gave confident risks without a word)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import SimpleITK as sitk

from inference.assets import ASSETS, SAMPLE_PATIENT
from inference.errors import InputError
from inference.intake import prepare_patient, tumor_coverage_warnings
from inference.io import read_image_file


def test_one_image_in_two_roles_is_refused(tmp_path):
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    shutil.copy(patient / "t1.nii.gz", patient / "cet1.nii.gz")  # the pre-contrast T1 copied as the CE-T1
    with pytest.raises(InputError, match=r"CE-T1 and T1 are identical images \(cet1.nii.gz and t1.nii.gz\)"):
        prepare_patient(patient, register="never", load_mask="if usable")


def test_one_image_in_two_roles_names_the_options_that_exist_where_they_exist(tmp_path, monkeypatch):
    """It said 'check the files or the --cet1/--t2/--t1 choices' everywhere: in a batch, which refuses those options,
    in the GUI and in training too."""
    import csv

    from inference.cli import main
    from tests.inference.test_predict_inputs import FAST

    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))
    patient = tmp_path / "batch" / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    shutil.copy(patient / "t1.nii.gz", patient / "cet1.nii.gz")
    with pytest.raises(InputError) as caught:
        prepare_patient(patient, register="never", load_mask="if usable")
    assert str(caught.value).endswith("check the files. Or choose the right one with --cet1 or --t1 (a path, a "
                                      "SeriesInstanceUID or a series number).")
    assert "--" not in caught.value.problem  # the GUI and training have no options
    assert main(["predict", str(tmp_path / "batch"), "--out", str(tmp_path / "out"), *FAST]) == 1
    with open(tmp_path / "out" / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["error"] == caught.value.in_batch()
    assert row["error"].endswith("check the files. In a batch, keep one image per sequence in the patient folder, "
                                 "or run the patient alone and choose its series with --cet1, --t2 and --t1.")


def test_a_reference_mask_off_the_grid_does_not_block_a_prediction(tmp_path):
    """predict never uses a mask file; one it cannot use stopped the patient (CLI and GUI) until it was deleted."""
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    shutil.copy(patient / "mask.nii.gz", patient / "label.nii.gz")  # two mask files
    with pytest.raises(InputError, match="several mask files"):
        prepare_patient(patient, register="never")  # training and evaluation need the one reference mask
    prepared = prepare_patient(patient, register="never", load_mask="if usable")
    assert prepared.patient.mask is None
    assert any(n.startswith("reference mask not used: several mask files") for n in prepared.patient.notes)


def test_one_series_chosen_for_two_roles_is_refused():
    with pytest.raises(InputError, match="CE-T1 and T2 are the same series"):
        prepare_patient(ASSETS / "sample_patient_dicom", cet1="5", t2="5", register="never")


def test_a_sequence_that_misses_the_head_or_the_tumor_is_named(tmp_path):
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    t2 = sitk.ReadImage(str(patient / "t2.nii.gz"))
    sitk.WriteImage(t2[:, :, :6], str(patient / "t2.nii.gz"))  # 6 of its 20 slices, where they were
    prepared = prepare_patient(patient, register="never")
    warned = [w for w in prepared.warnings if w.startswith("T2 covers only")]
    assert len(warned) == 1 and "of the CE-T1 head region" in warned[0]
    mask = read_image_file(SAMPLE_PATIENT / "mask.nii.gz")
    tumor = tumor_coverage_warnings(prepared, mask)
    assert len(tumor) == 1 and tumor[0].startswith("T2 covers only") and "of the tumor found" in tumor[0]

    whole = prepare_patient(SAMPLE_PATIENT, register="never")  # its T1 covers 73 % of the head, all of the tumor
    assert not [w for w in whole.warnings if "covers only" in w]
    assert tumor_coverage_warnings(whole, mask) == []


def test_a_series_number_two_series_share_is_ambiguous(tmp_path):
    """The first series with the number was taken silently: with two studies in a folder, their sequences mixed."""
    import pydicom

    from inference.errors import AmbiguousSequenceError

    folder = tmp_path / "d"
    shutil.copytree(ASSETS / "sample_patient_dicom", folder)
    for path in folder.glob("*.dcm"):
        ds = pydicom.dcmread(path)
        if str(ds.SeriesNumber) == "3":
            ds.SeriesNumber = 5
            ds.save_as(path)
    with pytest.raises(AmbiguousSequenceError, match="series number 5 is shared by 2 series"):
        prepare_patient(folder, cet1="5", register="never")


def _dicom_copy(tmp_path, change) -> Path:
    """The DICOM sample with ``change(dataset)`` applied to series #2 (its T1)."""
    import pydicom

    folder = tmp_path / "d"
    shutil.copytree(ASSETS / "sample_patient_dicom", folder)
    for path in folder.glob("*.dcm"):
        ds = pydicom.dcmread(path)
        if str(ds.SeriesNumber) == "2":
            change(ds)
            ds.save_as(path)
    return folder


def test_a_non_mr_series_given_by_hand_is_refused(tmp_path):
    """Automatic choices skip a CT; chosen by --t1 it got a confident 68 % risk."""
    folder = _dicom_copy(tmp_path, lambda ds: setattr(ds, "Modality", "CT"))
    with pytest.raises(InputError, match=r"series #2 \(20 images\) chosen as T1 is CT, not MR"):
        prepare_patient(folder, t1="2", register="never")
    import pydicom

    alone = tmp_path / "ct"  # the same series given as a folder of its own
    alone.mkdir()
    for path in folder.glob("*.dcm"):
        if str(pydicom.dcmread(path, stop_before_pixels=True).SeriesNumber) == "2":
            shutil.copy(path, alone / path.name)
    with pytest.raises(InputError, match="chosen as T1 is CT, not MR"):
        prepare_patient(ASSETS / "sample_patient_dicom", t1=str(alone), register="never")


def test_sequences_of_two_studies_are_named(tmp_path):
    """Another study's T1 beside this one's CE-T1 and T2 only got 'the folder holds 2 studies'."""
    folder = _dicom_copy(tmp_path, lambda ds: setattr(ds, "StudyInstanceUID", ds.StudyInstanceUID + ".9"))
    prepared = prepare_patient(folder, register="never")
    assert any(w.startswith("the sequences come from 2 different studies") for w in prepared.warnings)


def test_a_ce_t1_of_two_slices_is_refused_before_the_work(tmp_path):
    """It used to fail after segmentation and radiomics, with a different internal message on each run."""
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    (patient / "mask.nii.gz").unlink()
    image = sitk.ReadImage(str(patient / "cet1.nii.gz"))
    sitk.WriteImage(image[:, :, 9:11], str(patient / "cet1.nii.gz"))
    with pytest.raises(InputError, match=r"CE-T1 \(cet1.nii.gz\) is 256x256x2 voxels: at least 3 slices"):
        prepare_patient(patient, register="never")


def test_a_sequence_outside_the_ce_t1_field_is_refused_naming_it(tmp_path):
    """With --register never it reached the model as zeros: 'image has no intensity contrast', no sequence named."""
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    (patient / "mask.nii.gz").unlink()
    t2 = sitk.ReadImage(str(patient / "t2.nii.gz"))
    t2.SetOrigin([o + 500.0 for o in t2.GetOrigin()])
    sitk.WriteImage(t2, str(patient / "t2.nii.gz"))
    with pytest.raises(InputError, match="T2 lies outside the CE-T1 field of view"):
        prepare_patient(patient, register="never")


def test_linked_series_folders_are_read_and_enhanced_dicom_is_named(tmp_path):
    import pydicom

    from inference.errors import PatientNotFoundError

    store, linked = tmp_path / "store", tmp_path / "linked"
    shutil.copytree(ASSETS / "sample_patient_dicom", store)
    for other in store.iterdir():
        if other.suffix != ".dcm":
            other.unlink()  # clinical.json would make "series" a patient folder of its own
    linked.mkdir()
    (linked / "series").symlink_to(store, target_is_directory=True)  # a study folder of links: was "nothing found"
    (linked / "series" / "loop").symlink_to(linked, target_is_directory=True)  # and a loop, walked once
    assert prepare_patient(linked, register="never").patient.source_kind == "dicom"
    enhanced = tmp_path / "enhanced"
    enhanced.mkdir()
    ds = pydicom.dcmread(next(store.glob("*.dcm")))
    ds.PerFrameFunctionalGroupsSequence = pydicom.Sequence([])  # enhanced MR: geometry only in functional groups
    del ds.ImagePositionPatient
    ds.save_as(enhanced / "im.dcm")
    with pytest.raises(PatientNotFoundError, match=r"multi-frame \(enhanced\) DICOM, not supported yet"):
        prepare_patient(enhanced, register="never")


def test_a_missing_model_folder_is_said_once(tmp_path, capsys):
    from inference.cli import main

    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(tmp_path / "out"), "--model", str(tmp_path / "no")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'no'}: no such model folder" in err and len(err) < 300  # not one line per backend tried
