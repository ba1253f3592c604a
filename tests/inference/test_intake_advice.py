"""What the intake's refusals advise, for awkward patient folders: several studies, DICOM beside a stray image file,
hints that work in a batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.errors import AmbiguousSequenceError
from inference.io import load_patient
from tests.inference.dicom_factory import standard_specs, write_study


def test_two_studies_in_one_folder_are_said_with_how_to_go_on(tmp_path: Path) -> None:
    """Each role had two candidates and the error said only 'choose one with --cet1', not that two studies (two
    patients?) were found."""
    folder = tmp_path / "patient"
    write_study(folder / "a", standard_specs(), patient_id="A")
    write_study(folder / "b", standard_specs(), patient_id="B")

    with pytest.raises(AmbiguousSequenceError) as info:
        load_patient(folder)

    text = str(info.value)
    assert "patient holds 2 DICOM studies (study anon-" in text
    assert "CE-T1, T2 and T1 must come from one of them" in text
    assert "If they are different patients, give each study its own folder and run their parent folder with --batch" \
        in text
    assert "--cet1/--t2/--t1 (by SeriesInstanceUID" in text
    assert len(info.value.candidates) == 2  # the GUI's role dialog still gets them
    in_batch = info.value.in_batch()  # a batch refuses --batch and --cet1/--t2/--t1: its advice works there
    assert "give each study its own patient folder in the batch" in in_batch and "with --batch" not in in_batch


def test_dicom_beside_a_stray_named_image_file_is_not_passed_over_in_silence(tmp_path: Path) -> None:
    """A ``t2.nii.gz`` beside a DICOM study made the folder a folder of named files; the error then said 'no CE-T1
    file' as if there were no DICOM."""
    import numpy as np
    import SimpleITK as sitk

    from inference.errors import MissingSequenceError

    write_study(tmp_path, standard_specs())
    sitk.WriteImage(sitk.GetImageFromArray(np.ones((4, 8, 8), np.int16)), str(tmp_path / "t2.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(np.ones((4, 8, 8), np.int16)), str(tmp_path / "scout.nii.gz"))

    with pytest.raises(MissingSequenceError) as info:
        load_patient(tmp_path)

    assert "no CE-T1 file" in str(info.value)
    assert ("The folder also holds 3 DICOM series (series #3 (12 images), series #4 (10 images), series #7 (12 "
            "images)), which are not read while image files named by sequence lie at its top: to use the DICOM, move "
            "'t2.nii.gz' out of the folder.") in info.value.problem
