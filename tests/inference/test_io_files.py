"""Patients given as folders of image files named by sequence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from inference.errors import AmbiguousSequenceError, GeometryError, MissingSequenceError, PatientNotFoundError
from inference.io import load_patient
from inference.roles import role_from_name


def write_volume(path: Path, value: float = 100.0, size=(40, 36, 6), spacing=(0.7, 0.7, 4.0),
                 origin=(-14.0, -12.0, -10.0), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    array = (value + rng.normal(0, 5, size[::-1])).astype(np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    sitk.WriteImage(image, str(path))
    return path


@pytest.mark.parametrize(
    ("names", "ext"),
    [
        (("cet1", "t2", "t1"), ".nii.gz"),
        (("T1C", "T2W", "T1W"), ".nii"),
        (("t1_gd", "t2", "t1"), ".nrrd"),
        (("T1CE", "t2wi", "T1-native"), ".mha"),
        (("t1-Gd", "T2_TSE", "t1_pre"), ".nii.gz"),
    ],
)
def test_roles_from_names_and_aliases(tmp_path, names, ext):
    for i, name in enumerate(names):
        write_volume(tmp_path / f"{name}{ext}", value=100 * (i + 1), seed=i)
    patient = load_patient(tmp_path)
    assert patient.source_kind == "files"
    assert patient.patient_id == tmp_path.name
    for i, role in enumerate(("cet1", "t2", "t1")):
        assert patient.roles[role].label == f"{names[i]}{ext}"
        assert "file name" in patient.roles[role].reason
        assert abs(float(np.mean(patient.volumes[role].array)) - 100 * (i + 1)) < 2


def test_geometry_is_kept(tmp_path):
    write_volume(tmp_path / "cet1.nii.gz", spacing=(0.5, 0.6, 3.5), origin=(1.0, 2.0, 3.0))
    write_volume(tmp_path / "t2.nii.gz", spacing=(0.8, 0.8, 5.0))
    write_volume(tmp_path / "t1.nii.gz")
    patient = load_patient(tmp_path)
    g = patient.volumes["cet1"].geometry
    assert g.size == (40, 36, 6)
    np.testing.assert_allclose(g.spacing, (0.5, 0.6, 3.5), rtol=1e-5)
    np.testing.assert_allclose(g.origin, (1.0, 2.0, 3.0), atol=1e-4)
    np.testing.assert_allclose(patient.volumes["t2"].geometry.spacing, (0.8, 0.8, 5.0), rtol=1e-5)


def test_junk_and_unknown_images_are_noted_not_fatal(tmp_path):
    for name in ("cet1", "t2", "t1"):
        write_volume(tmp_path / f"{name}.nii.gz")
    write_volume(tmp_path / "flair.nii.gz")
    (tmp_path / "notes.txt").write_text("not an image")
    patient = load_patient(tmp_path)
    assert any("flair.nii.gz" in note for note in patient.notes)


def test_ambiguous_names_list_candidates(tmp_path):
    for name in ("cet1", "t1c", "t2", "t1"):
        write_volume(tmp_path / f"{name}.nii.gz")
    with pytest.raises(AmbiguousSequenceError) as info:
        load_patient(tmp_path)
    assert "cet1.nii.gz" in str(info.value) and "t1c.nii.gz" in str(info.value)
    assert len(info.value.candidates) == 2


def test_override_wins_over_names(tmp_path):
    for name in ("cet1", "t1c", "t2", "t1"):
        write_volume(tmp_path / f"{name}.nii.gz", value=300 if name == "t1c" else 100)
    patient = load_patient(tmp_path, cet1=tmp_path / "t1c.nii.gz")
    assert "override" in patient.roles["cet1"].reason
    assert float(np.mean(patient.volumes["cet1"].array)) > 250


def test_missing_sequence_names_it_and_what_is_there(tmp_path):
    write_volume(tmp_path / "cet1.nii.gz")
    write_volume(tmp_path / "t1.nii.gz")
    with pytest.raises(MissingSequenceError, match=r"no T2 file.*cet1.nii.gz") as info:
        load_patient(tmp_path)
    assert str(info.value).endswith("Or name the file with --t2 PATH.")  # the CLI's advice ...
    assert "--t2" not in info.value.problem and "cet1.nii.gz" in info.value.problem  # ... not the GUI's


def test_mask_must_be_on_cet1_grid(tmp_path):
    for name in ("cet1", "t2", "t1"):
        write_volume(tmp_path / f"{name}.nii.gz")
    write_volume(tmp_path / "mask.nii.gz", value=1, size=(20, 36, 6))
    with pytest.raises(GeometryError, match="mask grid"):
        load_patient(tmp_path)
    assert load_patient(tmp_path, load_mask=False).mask is None


def test_mask_is_loaded_as_labels(tmp_path):
    for name in ("cet1", "t2", "t1"):
        write_volume(tmp_path / f"{name}.nii.gz")
    array = np.zeros((6, 36, 40), np.uint8)
    array[2:4, 10:20, 10:20] = 1
    mask = sitk.GetImageFromArray(array)
    mask.CopyInformation(sitk.ReadImage(str(tmp_path / "cet1.nii.gz")))
    sitk.WriteImage(mask, str(tmp_path / "Label.nii.gz"))
    patient = load_patient(tmp_path)
    assert patient.mask is not None and int(patient.mask.array.sum()) == 200


def test_not_a_folder(tmp_path):
    path = write_volume(tmp_path / "cet1.nii.gz")
    with pytest.raises(PatientNotFoundError, match="folder"):
        load_patient(path)
    with pytest.raises(PatientNotFoundError, match="no such"):
        load_patient(tmp_path / "nope")


@pytest.mark.parametrize(
    ("stem", "role"),
    [("CET1", "cet1"), ("t1c", "cet1"), ("T1_Gd", "cet1"), ("t1ce", "cet1"), ("T2W", "t2"), ("t2", "t2"),
     ("T1w", "t1"), ("t1", "t1"), ("mask", "mask"), ("Label", "mask"), ("flair", None), ("t1c_old", None)],
)
def test_role_from_name(stem, role):
    assert role_from_name(stem) == role


def _nifti2(path: Path) -> Path:
    nib = pytest.importorskip("nibabel")
    array = np.arange(6 * 5 * 4, dtype=np.float32).reshape(6, 5, 4)
    nib.save(nib.Nifti2Image(array, np.diag([0.8, 0.9, 3.0, 1.0])), path)
    return path


@pytest.mark.parametrize("name", ["cet1.nii", "cet1.nii.gz"])
def test_a_nifti2_file_is_named_as_such(tmp_path: Path, name: str) -> None:
    """ITK called NIfTI-2 'not recognized as a NIFTI file', with the address of its reader object in the message."""
    from inference.errors import UnsupportedFormatError
    from inference.imagefile import read_image_file

    with pytest.raises(UnsupportedFormatError, match="a NIfTI-2 file; NIfTI-1 is read") as info:
        read_image_file(_nifti2(tmp_path / name))
    assert "0x" not in str(info.value)


def test_a_gzip_file_named_nii_is_told_to_be_renamed(tmp_path: Path) -> None:
    from inference.errors import UnsupportedFormatError
    from inference.imagefile import read_image_file

    path = tmp_path / "t2.nii"
    path.write_bytes(write_volume(tmp_path / "real.nii.gz").read_bytes())
    with pytest.raises(UnsupportedFormatError, match=r"gzip-compressed, but named '\.nii'.*rename it to 't2\.nii\.gz'"):
        read_image_file(path)


def test_a_nifti_name_that_cannot_be_opened_is_a_typed_error(tmp_path: Path) -> None:
    """A folder named like a NIfTI file raised a bare IsADirectoryError (a traceback) from the format check."""
    from inference.errors import UnreadableFileError
    from inference.imagefile import read_image_file

    (tmp_path / "t2.nii").mkdir()
    with pytest.raises(UnreadableFileError, match=r"t2\.nii"):
        read_image_file(tmp_path / "t2.nii")


def test_itk_messages_carry_no_object_address(tmp_path: Path) -> None:
    from inference.errors import UnreadableFileError
    from inference.imagefile import read_image_file

    path = tmp_path / "cet1.nii"
    path.write_bytes(b"not a nifti header" * 40)
    with pytest.raises(UnreadableFileError, match="not a readable image header") as info:
        read_image_file(path)
    assert "(0x" not in str(info.value)
