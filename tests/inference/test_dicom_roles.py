"""DICOM intake: role assignment from realistic multi-series studies, overrides, privacy and geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference import dicom
from inference.errors import AmbiguousSequenceError, MissingSequenceError
from inference.io import load_patient
from inference.roles import SeriesInfo, classify_series, role_from_name
from tests.inference.dicom_factory import (
    FAKE_BIRTH_DATE,
    FAKE_PATIENT_ID,
    FAKE_PATIENT_NAME,
    SeriesSpec,
    cet1_spec,
    dwi_specs,
    localizer_spec,
    standard_specs,
    t1_spec,
    t2_spec,
    write_study,
)

# Series numbers of standard_specs(): T1 pre #3, T2 #4, CE-T1 #7.
STANDARD_NUMBERS = {"t1": "3", "t2": "4", "cet1": "7"}


def _full_study(root: Path, naming: str) -> dict:
    specs = standard_specs() + [localizer_spec()] + dwi_specs()
    return write_study(root, specs, naming=naming, junk=6, seed=11)


@pytest.mark.parametrize("naming", ["sequential", "random", "nested"])
def test_full_study_gets_the_right_roles(tmp_path: Path, naming: str) -> None:
    written = _full_study(tmp_path / "export", naming)

    patient = load_patient(tmp_path / "export")

    assert patient.source_kind == "dicom"
    for role, number in STANDARD_NUMBERS.items():
        assert patient.roles[role].key == written[int(number)].series_uid, role
        assert patient.volumes[role].meta["SeriesNumber"] == number
    assert len(patient.series) == 6  # localizer, T1, T2, DWI, ADC, CE-T1 all listed
    # README.TXT and notes.xml are passed over (text beside the series); the other 4 junk files are counted
    assert any("4 files skipped" in note for note in patient.notes), patient.notes


def test_each_role_reason_names_its_evidence(tmp_path: Path) -> None:
    _full_study(tmp_path, "nested")

    roles = load_patient(tmp_path).roles

    assert "ContrastBolusAgent set" in roles["cet1"].reason and "Gadovist" not in roles["cet1"].reason
    assert "post-contrast" in roles["cet1"].reason
    assert "description says T2" in roles["t2"].reason and "TR 4200/TE 95" in roles["t2"].reason
    assert "description says T1" in roles["t1"].reason and "pre-contrast" in roles["t1"].reason


def test_roles_from_tr_te_when_descriptions_say_nothing(tmp_path: Path) -> None:
    specs = [
        SeriesSpec("AX SE 3MM", 2, tr=480.0, te=9.0),
        SeriesSpec("AX TSE 4MM", 3, tr=3800.0, te=102.0, phantom="t2"),
        SeriesSpec("AX SE 3MM", 9, tr=480.0, te=9.0, contrast_agent="Dotarem", phantom="cet1"),
    ]
    written = write_study(tmp_path, specs, naming="random")

    roles = load_patient(tmp_path).roles

    assert roles["t2"].key == written[3].series_uid
    assert "TR 3800/TE 102 ms is T2-weighted (description silent)" in roles["t2"].reason
    assert roles["t1"].key == written[2].series_uid
    # The contrast tag is the only thing that tells the two identical T1 series apart.
    assert roles["cet1"].key == written[9].series_uid
    assert "ContrastBolusAgent set" in roles["cet1"].reason


def test_contrast_from_the_agent_tag_alone(tmp_path: Path) -> None:
    specs = [t1_spec(description="T1 AX", number=3), t2_spec(),
             t1_spec(description="T1 AX", number=8, contrast_agent="GADOTERATE", phantom="cet1")]
    written = write_study(tmp_path, specs)

    roles = load_patient(tmp_path).roles

    assert roles["cet1"].key == written[8].series_uid
    assert roles["t1"].key == written[3].series_uid
    assert "no contrast agent tag" in roles["t1"].reason


def _two_cet1(root: Path, naming: str = "nested") -> dict:
    specs = standard_specs() + [cet1_spec(description="COR T1 POST GD", number=9, contrast_agent=None)]
    return write_study(root, specs, naming=naming)


def test_two_cet1_candidates_are_ambiguous(tmp_path: Path) -> None:
    written = _two_cet1(tmp_path)

    with pytest.raises(AmbiguousSequenceError) as info:
        load_patient(tmp_path)

    message = str(info.value)
    assert "2 candidates for CE-T1" in message and "--cet1" in message
    assert "series #7 (12 images)" in message and "series #9 (12 images)" in message
    assert "T1 TSE AX" not in message and "COR T1 POST GD" not in message  # descriptions are never quoted
    keys = {c["key"] for c in info.value.candidates}
    assert keys == {written[7].series_uid, written[9].series_uid}
    assert all(c["reason"] for c in info.value.candidates)


@pytest.mark.parametrize("how", ["number", "number_int", "uid"])
def test_override_by_series_resolves_ambiguity(tmp_path: Path, how: str) -> None:
    written = _two_cet1(tmp_path)
    choice = {"number": "9", "number_int": 9, "uid": written[9].series_uid}[how]

    patient = load_patient(tmp_path, cet1=choice)

    assert patient.roles["cet1"].key == written[9].series_uid
    assert "override" in patient.roles["cet1"].reason
    assert patient.volumes["cet1"].meta["SeriesDescription"] == "COR T1 POST GD"
    assert patient.roles["t2"].key == written[4].series_uid


def test_override_by_folder_inside_the_study_resolves_ambiguity(tmp_path: Path) -> None:
    written = _two_cet1(tmp_path, naming="nested")  # each series in its own S#### folder

    patient = load_patient(tmp_path, cet1=tmp_path / "S0009")

    assert patient.volumes["cet1"].meta["series_uid"] == written[9].series_uid
    assert "chosen by the user" in patient.roles["cet1"].reason
    assert patient.roles["t1"].key == written[3].series_uid


def test_override_by_folder_outside_supplies_a_missing_role(tmp_path: Path) -> None:
    write_study(tmp_path / "study", [t1_spec(), t2_spec()])
    outside = write_study(tmp_path / "elsewhere", [cet1_spec()])

    patient = load_patient(tmp_path / "study", cet1=tmp_path / "elsewhere")

    assert patient.volumes["cet1"].meta["series_uid"] == outside[7].series_uid
    assert set(patient.volumes) == {"cet1", "t2", "t1"}


def test_overrides_win_over_a_clear_assignment(tmp_path: Path) -> None:
    written = write_study(tmp_path, standard_specs())

    # Swapping T1 and CE-T1 on purpose: the user's word is final, even against the headers.
    patient = load_patient(tmp_path, cet1="3", t1="7")

    assert patient.roles["cet1"].key == written[3].series_uid
    assert patient.roles["t1"].key == written[7].series_uid
    assert patient.roles["t2"].key == written[4].series_uid


def test_missing_t2_lists_what_was_seen(tmp_path: Path) -> None:
    write_study(tmp_path, [t1_spec(), cet1_spec(), localizer_spec()] + dwi_specs(), naming="random")

    with pytest.raises(MissingSequenceError) as info:
        load_patient(tmp_path)

    message = str(info.value)
    assert "no T2 series found" in message and "--t2" in message
    assert "--t2" not in info.value.problem and "series #3 " in info.value.problem  # what the GUI shows
    for seen in ("series #3 ", "series #7 ", "series #1 ", "series #5 ", "series #6 "):  # by number, no text
        assert seen in message
    assert "DWI b1000" not in message and "3-plane loc" not in message
    assert "localizer" in message.lower() and "diffusion" in message  # why those were not T2


def test_patient_identifiers_never_leave_the_intake(tmp_path: Path) -> None:
    study_uid = "1.2.826.0.1.3680043.8.498.4242"
    _full_study_uid = write_study(tmp_path, standard_specs() + dwi_specs(), study_uid=study_uid)
    assert _full_study_uid

    patient = load_patient(tmp_path)

    assert patient.patient_id.startswith("anon-")
    assert patient.patient_id == dicom.pseudonym(study_uid)
    texts = [repr(patient.describe())] + [repr(v.meta) for v in patient.volumes.values()]
    for secret in (FAKE_PATIENT_ID, FAKE_BIRTH_DATE, *FAKE_PATIENT_NAME.split("^")):
        for text in texts:
            assert secret not in text


def test_pseudonym_is_stable_and_depends_on_the_study(tmp_path: Path) -> None:
    write_study(tmp_path / "a", standard_specs(), study_uid="1.2.3.4")
    write_study(tmp_path / "b", standard_specs(), study_uid="1.2.3.4", naming="random")
    write_study(tmp_path / "c", standard_specs(), study_uid="1.2.3.5")

    ids = [load_patient(tmp_path / name).patient_id for name in "abc"]

    assert ids[0] == ids[1] != ids[2]


def _rotation_z(deg: float) -> tuple[float, ...]:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return (c, s, 0.0, -s, c, 0.0)


@pytest.mark.parametrize(
    "orientation",
    [(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), (1.0, 0.0, 0.0, 0.0, 0.0, -1.0), _rotation_z(20.0)],
    ids=["axial", "coronal", "oblique"],
)
def test_geometry_matches_the_written_positions(tmp_path: Path, orientation) -> None:
    spec = t2_spec(orientation=orientation, pixel_spacing=(0.7, 0.95), slice_gap=3.3, origin=(12.5, -40.0, 33.0))
    written = write_study(tmp_path, [spec], naming="random")[spec.number]
    series, _ = dicom.scan_folder(tmp_path)

    volume = dicom.read_series(series[0])

    geometry = volume.geometry
    assert geometry.size == (spec.cols, spec.rows, spec.n_slices)
    assert np.allclose(geometry.spacing, (0.95, 0.7, 3.3), atol=1e-4)
    row, col = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    for k, position in enumerate(written.positions):
        assert np.allclose(geometry.index_to_physical(np.array([0, 0, k])), position, atol=1e-3)
    # Voxel (x=5, y=9) of slice 4 lies 5 column steps along the row axis and 9 row steps down the column axis.
    expected = np.asarray(written.positions[4]) + 5 * 0.95 * row + 9 * 0.7 * col
    assert np.allclose(geometry.index_to_physical(np.array([5, 9, 4])), expected, atol=1e-3)
    # Pixels arrive in slice order with the rescale applied.
    assert np.allclose(volume.array, written.values, atol=1e-3)
    assert volume.array.dtype == np.float32


def test_a_localizer_mixed_into_a_series_is_dropped_with_a_warning(tmp_path: Path) -> None:
    specs = [t1_spec(), t2_spec(localizers_mixed_in=2), cet1_spec()]
    written = write_study(tmp_path, specs)

    patient = load_patient(tmp_path)

    assert patient.volumes["t2"].geometry.size[2] == written[4].spec.n_slices
    said = "2 images with another orientation/size or ImageType LOCALIZER were mixed into the series and ignored"
    assert any(said in w for w in patient.warnings), patient.warnings


# --- classification tables -------------------------------------------------------------------------

# (description, TR, TE, ContrastBolusAgent, expected role, a word the reason must contain)
SERIES_TABLE = [
    ("T1 TSE AX +C FS", 550, 11, None, "cet1", "post-contrast"),
    ("t1_vibe_fs_tra_post", 5.2, 2.3, None, "cet1", "post-contrast"),
    ("COR T1 POST GD", 520, 10, None, "cet1", "post-contrast"),
    ("AX T1 FS POST", 600, 12, "Gadavist", "cet1", "ContrastBolusAgent"),
    ("T1+C", 500, 10, None, "cet1", "post-contrast"),
    ("AX SE", 500, 10, "Dotarem", "cet1", "ContrastBolusAgent set"),
    ("AX T2 FSE", 4200, 95, None, "t2", "description says T2"),
    ("t2_tse_tra_fs", 4000, 90, None, "t2", "description says T2"),
    ("T2 STIR COR", 4000, 60, None, "t2", "description says T2"),
    ("AX TSE", 4000, 100, None, "t2", "TR 4000/TE 100 ms is T2-weighted"),
    ("T1W_TSE", 500, 10, None, "t1", "description says T1"),
    ("Ax T1 PRE", 500, 10, None, "t1", "pre-contrast"),
    ("t1_tse_tra_pre", 500, 10, None, "t1", "pre-contrast"),
    ("Ax T1 PRE", 500, 10, "Gadovist", "t1", "despite ContrastBolusAgent"),
    ("T1 AX", 500, 10, "NONE", "t1", "no contrast agent tag"),
    ("AX SE", 480, 9, None, "t1", "T1-weighted (description silent)"),
    ("DWI b1000", 5200, 78, None, None, "diffusion"),
    ("ADC", 5200, 78, None, None, "diffusion"),
    ("ep2d_diff_tra_b1000", 5200, 78, None, None, "diffusion"),
    ("3-plane loc", 8.6, 4, None, None, "localizer"),
    ("AAHead_Scout_64ch-head-coil", 3, 1.4, None, None, "localizer"),
    ("SUB T1 post-pre", 5, 2, None, None, "subtraction"),
    ("t1_fl3d_tra_dyn", 5, 2, "Gadovist", None, "dynamic"),
    ("AX SE", 1200, 40, None, None, "weighting unknown"),
    # a review with real scanner naming, 2026-11-30
    ("T1W_TSE_postGd", 550, 12, None, "cet1", "description says post-contrast"),
    ("AX T1 C-", 500, 10, "Gadovist", "t1", "pre-contrast despite ContrastBolusAgent"),
    ("AX T1 C+", 500, 10, None, "cet1", "post-contrast"),
    ("PD_TSE_AX", 3000, 30, None, "t2", "description says PD (proton density"),
]


@pytest.mark.parametrize(("description", "tr", "te", "agent", "role", "why"), SERIES_TABLE,
                         ids=[f"{row[0]}-{row[3]}-{row[1]}" for row in SERIES_TABLE])
def test_classify_series_table(description, tr, te, agent, role, why) -> None:
    info = SeriesInfo(key="1.2.3", label=description, description=description, repetition_time=tr,
                      echo_time=te, contrast_agent=agent, n_images=24)

    got, reason = classify_series(info)

    assert got == role, reason
    assert why in reason


def test_classify_series_excludes_non_mr_single_images_and_localizer_tags() -> None:
    base = dict(key="k", label="x", description="T1 AX", repetition_time=500.0, echo_time=10.0, n_images=20)

    assert classify_series(SeriesInfo(**{**base, "modality": "CT"})) == (None, "skipped: modality CT, not MR")
    assert classify_series(SeriesInfo(**{**base, "n_images": 1}))[1] == "skipped: a single image (not a 3D stack)"
    tagged = SeriesInfo(**{**base, "image_type": ("ORIGINAL", "PRIMARY", "LOCALIZER")})
    assert classify_series(tagged) == (None, "skipped: ImageType LOCALIZER")


NAME_TABLE = [
    ("cet1", "cet1"), ("CE-T1", "cet1"), ("T1_Gd", "cet1"), ("t1-ce", "cet1"), ("T1 post", "cet1"),
    ("t1c", "cet1"), ("T1+C", "cet1"), ("T2", "t2"), ("T2W", "t2"), ("t2_fs", "t2"), ("t2-stir", "t2"),
    ("t1", "t1"), ("T1_pre", "t1"), ("T1w", "t1"), ("label", "mask"), ("Segmentation", "mask"),
    ("tumour", "mask"), ("flair", None), ("image", None), ("t1_t2", None), ("dwi", None),
]


@pytest.mark.parametrize(("stem", "role"), NAME_TABLE)
def test_role_from_name_table(stem: str, role: str | None) -> None:
    assert role_from_name(stem) == role


def test_a_file_copied_twice_is_read_once_with_a_warning(tmp_path: Path) -> None:
    """``IM1.dcm`` and ``IM1 (1).dcm``: one image, not a 4D series."""
    import shutil

    written = write_study(tmp_path, [t1_spec(), t2_spec(), cet1_spec()])
    original = load_patient(tmp_path).volumes["t2"].array
    for path in written[4].files[:3]:
        shutil.copy(path, path.with_name(path.stem + " (1)" + path.suffix))

    patient = load_patient(tmp_path)

    assert np.array_equal(patient.volumes["t2"].array, original)
    said = "3 files are copies of another file of the series (same SOPInstanceUID) and were ignored"
    assert any(said in w for w in patient.warnings), patient.warnings


def test_one_image_at_two_positions_is_a_clear_error(tmp_path: Path) -> None:
    import pydicom

    from inference.errors import GeometryError

    written = write_study(tmp_path, [t1_spec(), t2_spec(), cet1_spec()])
    ds = pydicom.dcmread(written[4].files[0])
    ds.ImagePositionPatient = [float(v) + 40.0 for v in ds.ImagePositionPatient]
    ds.save_as(written[4].files[0].with_name("moved.dcm"))
    with pytest.raises(GeometryError, match="same SOPInstanceUID") as error:
        load_patient(tmp_path)
    assert "moved" not in str(error.value) and written[4].files[0].name not in str(error.value)  # no file names


def test_text_files_beside_the_series_are_passed_over_but_other_junk_is_counted(tmp_path: Path) -> None:
    """The DICOM sample's README.txt and clinical.json (read by otscc itself) gave 'Warning: 2 file(s) skipped'
    on every open."""
    (tmp_path / "clinical.json").write_text("{}")
    (tmp_path / "README.txt").write_text("notes")
    (tmp_path / "IM0001").write_bytes(b"not dicom at all")
    series, notes = dicom.scan_folder(tmp_path)
    assert series == [] and notes == ["1 file skipped: non-DICOM or unreadable"]  # not "1 file(s)"
