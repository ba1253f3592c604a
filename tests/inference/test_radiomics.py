"""Radiomics wrapper: pyradiomics' published baseline on a real MR case, parameter file, provenance."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from inference.errors import CancelledError
from inference.imagefile import read_image_file
from inference.radiomics import (
    DEFAULT_PARAMS,
    RadiomicsError,
    extract_features,
    extract_patient,
    load_params,
    make_extractor,
)
from inference.volume import Geometry, Volume

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pyradiomics"
CLASSES = ("firstorder", "glcm", "gldm", "glrlm", "glszm", "ngtdm", "shape")


def _baseline_columns():
    """(feature class, configuration) pairs of brain1 in the baseline CSVs."""
    if not DATA.is_dir():
        return []
    pairs = []
    for cls in CLASSES:
        with open(DATA / "baseline" / f"baseline_{cls}.csv", newline="") as fh:
            header = next(csv.reader(fh))
        pairs += [(cls, col) for col in header[1:] if col.startswith("brain1")]
    return pairs


def _read_baseline(cls: str, column: str) -> tuple[dict, dict, dict]:
    with open(DATA / "baseline" / f"baseline_{cls}.csv", newline="") as fh:
        rows = {r["featureName"]: r[column] for r in csv.DictReader(fh)}
    settings = ast.literal_eval(rows["diagnostics_Configuration_Settings"])  # literals only, never eval
    image_types = ast.literal_eval(rows["diagnostics_Configuration_EnabledImageTypes"])
    values = {k: float(v) for k, v in rows.items() if not k.startswith("diagnostics_") and v not in ("", None)}
    return settings, image_types, values


@pytest.fixture(scope="module")
def brain1():
    if not DATA.is_dir():
        pytest.skip(f"{DATA} is absent (a fresh clone without ../shared): real-data baseline not checked")
    image = read_image_file(DATA / "brain1_image.nrrd").to_image()
    mask = sitk.Cast(read_image_file(DATA / "brain1_label.nrrd").to_image(), sitk.sitkUInt8)
    return image, mask


@pytest.mark.parametrize(("cls", "column"), _baseline_columns() or [pytest.param("none", "none", marks=pytest.mark.skip(
    reason="../shared/data/pyradiomics is absent"))])
def test_reproduces_published_baseline(brain1, cls, column):
    settings, image_types, expected = _read_baseline(cls, column)
    params = {"setting": settings, "imageType": image_types, "featureClass": {cls: None}}
    ours = extract_features(*brain1, params)
    assert set(expected) <= set(ours), sorted(set(expected) - set(ours))[:5]
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, rel=0.03, abs=1e-9), name


def test_shipped_params_are_valid_and_documented():
    params = load_params()
    make_extractor(params)  # pyradiomics validates against its schema
    assert params["setting"]["preCrop"] is True
    assert set(params["imageType"]) == {"Original", "LoG", "Wavelet"}
    text = DEFAULT_PARAMS.read_text()
    for key in ("normalize", "binWidth", "resampledPixelSpacing", "preCrop"):
        line = next(i for i, t in enumerate(text.splitlines()) if t.strip().startswith(f"{key}:"))
        above = text.splitlines()[max(0, line - 3):line + 1]
        assert any("#" in t for t in above), f"{key} has no comment saying why"


def test_invalid_params_are_refused():
    with pytest.raises(RadiomicsError, match="invalid radiomics parameters"):
        make_extractor({"setting": {"binWidth": "wide"}})


def _phantom(seed=0):
    geometry = Geometry((64, 64, 12), (0.8, 0.8, 3.0), (0.0, 0.0, 0.0))
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(np.arange(12), np.arange(64), np.arange(64), indexing="ij")
    blob = (((x - 32) / 12.0) ** 2 + ((y - 30) / 10.0) ** 2 + ((z - 6) / 3.0) ** 2) <= 1
    base = 100 + rng.normal(0, 10, blob.shape)
    vols = {"cet1": Volume((base + 80 * blob).astype(np.float32), geometry),
            "t2": Volume((base + 40 * blob + rng.normal(0, 20, blob.shape)).astype(np.float32), geometry),
            "t1": Volume(base.astype(np.float32), geometry)}
    return vols, Volume(blob.astype(np.uint8), geometry)


def test_multiparametric_extraction_and_provenance():
    vols, mask = _phantom()
    params = load_params()
    params = {**params, "imageType": {"Original": {}}}  # fast: the filters are covered by the timing check
    result = extract_patient(vols, mask, params)
    names = result.features
    assert "cet1_original_firstorder_Mean" in names and "t2_original_glcm_Contrast" in names
    assert "original_shape_MeshVolume" in names  # once, unprefixed
    assert not any(n.startswith("t2_original_shape") for n in names)
    assert names["cet1_original_firstorder_Mean"] > names["t2_original_firstorder_Mean"]
    prov = result.provenance
    assert prov["pyradiomics"] and prov["settings"]["setting"]["binWidth"] == 25
    assert len(prov["mask_sha256"]) == 64 and set(prov["image_sha256"]) == {"cet1", "t2"}
    changed = dict(vols, cet1=vols["cet1"].with_array(vols["cet1"].array + 1))
    assert extract_patient(changed, mask, params).provenance["image_sha256"]["cet1"] != prov["image_sha256"]["cet1"]


def test_empty_mask_is_a_clear_error():
    vols, mask = _phantom()
    with pytest.raises(RadiomicsError, match="empty"):
        extract_patient(vols, mask.with_array(np.zeros_like(mask.array)))


def test_a_speck_of_a_mask_is_said_in_a_users_words():
    """A painted speck gave pyradiomics' 'Size of the ROI is too small (minimum size: 20, ROI size: 7' (unclosed)."""
    vols, mask = _phantom()
    speck = np.zeros_like(mask.array)
    speck[5, 30:32, 30:33] = 1  # 6 voxels (pyradiomics counts fewer after its resampling)
    with pytest.raises(RadiomicsError, match=r"^the tumor mask is too small for radiomics \(\d voxels; at least 20 are "
                                             r"needed\): paint the whole tumor, or check the mask$"):
        extract_patient(vols, mask.with_array(speck))


def test_extraction_stops_between_filtered_images_when_cancelled():
    """A risk update could not be cancelled mid-radiomics; now the check runs before the shape features and each
    filtered image (original, LoG, wavelet) of each sequence, and stops at the first yes."""
    vols, mask = _phantom()
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) >= 4  # before CE-T1, its shape features, its original image, then its first LoG image

    with pytest.raises(CancelledError, match="radiomics cancelled"):
        extract_patient(vols, mask, load_params(), cancelled=cancelled)
    assert len(asked) == 4
