"""Intake on real scanner files: pydicom / pydicom-data MR slices in every transfer syntax, nibabel's
NIfTI and DICOM test files, and the pyradiomics brain MRI case.

Test data is located by path under the installed packages (pydicom's ``get_testdata_file`` would try to
download, and there is no network here).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from inference import dicom
from inference.errors import GeometryError, InputError, UnreadableFileError
from inference.imagefile import read_image_file
from inference.io import load_patient

SITE = Path(pydicom.__file__).resolve().parent.parent
PYDICOM_FILES = SITE / "pydicom" / "data" / "test_files"
PYDICOM_DATA = SITE / "data_store" / "data"
NIBABEL_DATA = SITE / "nibabel" / "tests" / "data"
RADIOMICS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pyradiomics"

# (file, uncompressed twin holding the same pixels, lossless?)
REAL_MR_SLICES = [
    (PYDICOM_FILES / "MR_small.dcm", None, True),
    (PYDICOM_FILES / "MR_small_bigendian.dcm", None, True),
    (PYDICOM_FILES / "MR_small_expb.dcm", None, True),
    (PYDICOM_FILES / "MR_small_implicit.dcm", None, True),
    (PYDICOM_FILES / "MR_small_padded.dcm", None, True),
    (PYDICOM_FILES / "MR_small_RLE.dcm", None, True),
    (PYDICOM_FILES / "MR_small_jpeg_ls_lossless.dcm", PYDICOM_FILES / "MR_small.dcm", True),
    (PYDICOM_FILES / "MR_small_jp2klossless.dcm", PYDICOM_FILES / "MR_small.dcm", True),
    (PYDICOM_DATA / "MR2_UNCR.dcm", None, True),
    (PYDICOM_DATA / "MR2_J2KR.dcm", PYDICOM_DATA / "MR2_UNCR.dcm", True),
    (PYDICOM_DATA / "MR2_J2KI.dcm", PYDICOM_DATA / "MR2_UNCI.dcm", False),
    (PYDICOM_DATA / "MR-SIEMENS-DICOM-WithOverlays.dcm", None, True),
]
COMPRESSED = {"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}


def _require(*paths: Path) -> None:
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"test data not installed: {', '.join(missing)}")


def _physical(ds: pydicom.Dataset) -> np.ndarray:
    """What the scanner means by the pixels: stored values through the modality rescale."""
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return ds.pixel_array.astype(np.float64) * slope + intercept


def make_stack(source: Path, folder: Path, n_slices: int = 4, gap: float = 2.5) -> list[np.ndarray]:
    """Copy one real slice ``n_slices`` times along its normal as a new series (new Series/SOP UIDs).

    Files are written in reverse order under unordered names, so slice ordering is exercised too.

    Returns:
        The ImagePositionPatient written for slice 0..n-1 (in order along the normal).
    """
    ds = pydicom.dcmread(source)
    orientation = np.array([float(v) for v in ds.ImageOrientationPatient])
    normal = np.cross(orientation[:3], orientation[3:])
    start = np.array([float(v) for v in ds.ImagePositionPatient])
    series_uid = generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    positions = []
    for k in range(n_slices):
        item = copy.deepcopy(ds)
        item.SeriesInstanceUID = series_uid
        item.SOPInstanceUID = generate_uid()
        item.file_meta.MediaStorageSOPInstanceUID = item.SOPInstanceUID
        position = start + k * gap * normal
        item.ImagePositionPatient = [float(v) for v in position]
        item.InstanceNumber = k + 1
        item.save_as(folder / f"img{(n_slices - k) * 37 % 101:03d}")
        positions.append(position)
    return positions


@pytest.mark.filterwarnings("ignore:The pixel data is .* excess padding")
@pytest.mark.parametrize(("source", "twin", "lossless"), REAL_MR_SLICES, ids=lambda v: getattr(v, "name", None))
def test_real_slice_stacked_reads_with_scanner_values(tmp_path: Path, source: Path, twin, lossless: bool) -> None:
    _require(source, *( [twin] if twin else []))
    positions = make_stack(source, tmp_path / "series")
    series, _ = dicom.scan_folder(tmp_path / "series")
    assert len(series) == 1
    syntax = str(pydicom.dcmread(source, stop_before_pixels=True).file_meta.TransferSyntaxUID)

    try:
        volume = dicom.read_series(series[0])
    except UnreadableFileError as exc:
        if syntax in COMPRESSED:
            pytest.skip(f"GDCM in this SimpleITK cannot decode {syntax}: {exc}")
        raise

    # pydicom decodes uncompressed and RLE itself; other syntaxes are compared with their uncompressed twin.
    expected = _physical(pydicom.dcmread(twin or source))
    assert volume.geometry.size[2] == len(positions)
    if lossless:
        for k in range(len(positions)):
            assert np.allclose(volume.array[k], expected, rtol=1e-5, atol=1e-3)
    else:
        assert np.corrcoef(volume.array[0].ravel(), expected.ravel())[0, 1] > 0.99
    for k, position in enumerate(positions):
        assert np.allclose(volume.geometry.index_to_physical(np.array([0, 0, k])), position, atol=1e-3)
    spacing = [float(v) for v in pydicom.dcmread(source, stop_before_pixels=True).PixelSpacing]
    assert np.allclose(volume.geometry.spacing, (spacing[1], spacing[0], 2.5), atol=1e-4)


def test_a_single_real_mr_image_is_refused_as_2d(tmp_path: Path) -> None:
    _require(PYDICOM_FILES / "MR_small.dcm")
    (tmp_path / "one").mkdir()
    shutil.copy(PYDICOM_FILES / "MR_small.dcm", tmp_path / "one" / "IM1")
    series, _ = dicom.scan_folder(tmp_path / "one")

    with pytest.raises(GeometryError, match="a single image"):
        dicom.read_series(series[0])


def test_mosaic_images_are_refused(tmp_path: Path) -> None:
    """nibabel's two real Siemens DTI images are MOSAIC tiles, not slices: refused with the reason."""
    for name in ("0.dcm", "1.dcm"):
        shutil.copy(NIBABEL_DATA / name, tmp_path / name)
    series, _ = dicom.scan_folder(tmp_path)
    with pytest.raises(GeometryError, match="(?i)mosaic"):
        dicom.read_series(series[0])


def test_nibabel_anatomical_nifti_keeps_its_geometry() -> None:
    nib = pytest.importorskip("nibabel")
    path = NIBABEL_DATA / "anatomical.nii"
    _require(path)
    reference = nib.load(path)

    volume = read_image_file(path)

    assert volume.geometry.size == reference.shape
    data = np.asarray(reference.dataobj, dtype=np.float64)
    assert np.allclose(volume.array, data.transpose(2, 1, 0))
    # nibabel's affine is RAS; our geometry is LPS: the same point with x and y negated.
    for index in ([0, 0, 0], [10, 7, 3], [32, 40, 24]):
        ras = reference.affine @ np.array([*index, 1.0])
        lps = ras[:3] * np.array([-1.0, -1.0, 1.0])
        assert np.allclose(volume.geometry.index_to_physical(np.array(index)), lps, atol=1e-4)


@pytest.mark.parametrize("name", ["example4d.nii.gz", "functional.nii"])
def test_nibabel_4d_niftis_are_refused(name: str) -> None:
    _require(NIBABEL_DATA / name)
    with pytest.raises(GeometryError, match="4D image"):
        read_image_file(NIBABEL_DATA / name)


def test_nibabel_nifti2_is_refused_with_a_typed_error() -> None:
    _require(NIBABEL_DATA / "example_nifti2.nii.gz")
    with pytest.raises(InputError):
        read_image_file(NIBABEL_DATA / "example_nifti2.nii.gz")


def _radiomics_case() -> tuple[Path, Path]:
    image, label = RADIOMICS / "brain1_image.nrrd", RADIOMICS / "brain1_label.nrrd"
    if not (image.exists() and label.exists()):
        pytest.skip(f"pyradiomics brain1 case not found under {RADIOMICS}")
    return image, label


def test_radiomics_brain_mri_reads_with_its_geometry() -> None:
    image, _ = _radiomics_case()

    volume = read_image_file(image)

    assert volume.geometry.size == (256, 256, 25)
    assert np.allclose(volume.geometry.spacing, (0.78125, 0.78125, 6.5), atol=1e-3)
    assert volume.array.dtype == np.float32
    assert np.isfinite(volume.array).all()
    assert volume.array.min() >= 0 and 100 < volume.array.max() < 10000
    # A head in the middle of the field of view, background at the corners.
    assert volume.array[:, 96:160, 96:160].mean() > 3 * volume.array[:, :24, :24].mean()


@pytest.mark.parametrize("link", [True, False], ids=["symlinks", "copies"])
def test_radiomics_case_as_a_patient_folder_loads_with_its_mask(tmp_path: Path, link: bool) -> None:
    image, label = _radiomics_case()
    for name in ("cet1", "t2", "t1"):
        target = tmp_path / f"{name}.nrrd"
        target.symlink_to(image) if link else shutil.copy(image, target)
    target = tmp_path / "label.nrrd"
    target.symlink_to(label) if link else shutil.copy(label, target)

    patient = load_patient(tmp_path)

    assert set(patient.volumes) == {"cet1", "t2", "t1"}
    assert patient.mask is not None
    assert patient.mask.geometry.same_space(patient.volumes["cet1"].geometry)
    assert set(np.unique(patient.mask.array)) == {0, 1}
    assert 100 < int(patient.mask.array.sum()) < patient.mask.array.size // 10
    assert patient.patient_id == tmp_path.name  # files layout: named after the folder
