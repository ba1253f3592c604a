"""Tests of the SYNTHETIC cohort generator (training/synth)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from training.synth import generate_patient, write_cohort
from training.synth.clinical import stage_t
from training.synth.geometry import FOV_RANGE_MM, SLICE_RANGE, SPACING_RANGE_MM, THICKNESS_RANGE_MM
from training.synth.stats import auc
from training.synth.writers import CLINICAL_COLUMNS

SMALL = 0.3  # size_scale for fast tests


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path):
    write_cohort(tmp_path / "a", 2, seed=11, size_scale=SMALL)
    write_cohort(tmp_path / "b", 2, seed=11, size_scale=SMALL)
    write_cohort(tmp_path / "c", 2, seed=12, size_scale=SMALL)
    a, b, c = (_digest(tmp_path / k) for k in "abc")
    assert a == b
    assert a.keys() == c.keys()
    assert a["SYN0001/cet1.nii.gz"] != c["SYN0001/cet1.nii.gz"]
    assert not list((tmp_path / "a").rglob(".*")), "temporary files left behind"


def test_dicom_bytes_are_deterministic(tmp_path):
    write_cohort(tmp_path / "a", 1, seed=5, fmt="dicom", size_scale=SMALL)
    write_cohort(tmp_path / "b", 1, seed=5, fmt="dicom", size_scale=SMALL)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_size_geometry_within_ranges(seed):
    from training.synth.cohort import _draw_geometry, _rngs

    for pid in ("SYN0001", "SYN0002", "SYN0003", "SYN0004"):
        rng = _rngs(pid, seed)[3]
        series, motions = _draw_geometry(rng, 1.0, None)
        for s in series.values():
            assert 256 <= s.matrix <= 512
            assert FOV_RANGE_MM[0] - 1e-6 <= s.fov_mm <= FOV_RANGE_MM[1] + 1e-6
            assert SPACING_RANGE_MM[0] - 1e-6 <= s.spacing_mm <= SPACING_RANGE_MM[1] + 1e-6
            assert SLICE_RANGE[0] <= s.slices <= SLICE_RANGE[1]
            assert THICKNESS_RANGE_MM[0] <= s.thickness_mm <= THICKNESS_RANGE_MM[1]
        for m in (motions["t2"], motions["t1"]):
            assert np.linalg.norm(m.translation_mm) <= 3.0 + 1e-9
            assert np.linalg.norm(m.angles_deg) <= 3.0 + 1e-9


def test_patient_series_differ_in_geometry_and_mask_is_on_cet1_grid():
    p = generate_patient("SYN0001", 3, size_scale=SMALL)
    geos = {k: v.geometry for k, v in p.volumes.items()}
    assert p.mask.geometry.same_space(geos["cet1"])
    assert p.mask.array.dtype == np.uint8 and set(np.unique(p.mask.array)) <= {0, 1}
    assert p.mask.array.sum() > 0
    assert not geos["t2"].same_space(geos["cet1"])
    assert p.truth["synthetic"] is True
    assert set(p.truth["misalignment"]) == {"t2", "t1"}


@pytest.mark.parametrize(
    ("size", "doi", "stage"),
    [
        (20.0, 5.0, "T1"),
        (15.0, 0.5, "T1"),
        (20.0, 5.1, "T2"),
        (20.0, 10.0, "T2"),
        (20.1, 2.0, "T2"),
        (40.0, 10.0, "T2"),
        (40.1, 1.0, "T3"),
        (10.0, 10.1, "T3"),
        (45.0, 12.0, "T3"),
    ],
)
def test_t_stage_rules(size, doi, stage):
    assert stage_t(size, doi) == stage


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_t_stage_rejects_bad_measurements(bad):
    with pytest.raises(ValueError, match="doi_mm"):
        stage_t(10.0, bad)


def test_auc_mann_whitney():
    assert auc(np.array([1, 2, 3, 4]), np.array([0, 0, 1, 1])) == 1.0
    assert auc(np.array([1, 1, 1, 1]), np.array([0, 1, 0, 1])) == 0.5
    assert auc(np.array([3, 1, 2, 4]), np.array([1, 0, 0, 1])) == 1.0


def test_prevalence_and_clinical_table(tmp_path):
    # Outcome and clinical values do not depend on image size, so a tiny render suffices.
    patients = write_cohort(tmp_path, 40, seed=21, size_scale=0.15)
    prevalence = np.mean([p.clinical.lnm for p in patients])
    assert 0.2 <= prevalence <= 0.6
    with open(tmp_path / "clinical.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == CLINICAL_COLUMNS
        rows = list(reader)
    assert len(rows) == 40
    assert {r["ct_stage"] for r in rows} <= {"T1", "T2", "T3"}
    assert {r["cn_status"] for r in rows} <= {"0", "1"}
    vols = [p.truth["volume_ml"] for p in patients]
    assert min(vols) >= 0.25 and max(vols) <= 32


def test_nifti_output_matches_geometry(tmp_path):
    (p,) = write_cohort(tmp_path, 1, seed=4, size_scale=SMALL)
    img = sitk.ReadImage(str(tmp_path / "SYN0001" / "cet1.nii.gz"))
    mask = sitk.ReadImage(str(tmp_path / "SYN0001" / "mask.nii.gz"))
    assert img.GetSize() == mask.GetSize()
    assert np.allclose(img.GetOrigin(), mask.GetOrigin())
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert img.GetPixelID() == sitk.sitkInt16


def test_dicom_series_tags(tmp_path):
    write_cohort(tmp_path, 1, seed=8, fmt="dicom", size_scale=SMALL)
    folder = tmp_path / "SYN0001"
    series: dict[str, list] = {}
    for f in sorted(folder.rglob("*.dcm")):
        ds = pydicom.dcmread(f)
        series.setdefault(ds.SeriesInstanceUID, []).append(ds)
    assert len(series) == 3
    by_desc = {v[0].SeriesDescription: v for v in series.values()}
    ce = next(v for d, v in by_desc.items() if "+C" in d)
    t2 = by_desc["T2 TSE AX"]
    t1 = by_desc["T1 TSE AX"]
    assert ce[0].ContrastBolusAgent == "Gadoterate"
    assert "ContrastBolusAgent" not in t1[0] and "ContrastBolusAgent" not in t2[0]
    assert float(t2[0].RepetitionTime) > 3000 and float(t2[0].EchoTime) > 80
    assert float(t1[0].RepetitionTime) < 1000 and float(t1[0].EchoTime) < 20
    uids = [ds.SOPInstanceUID for v in series.values() for ds in v]
    assert len(set(uids)) == len(uids)
    assert len({v[0].StudyInstanceUID for v in series.values()}) == 1
    for slices in series.values():
        ds = slices[0]
        assert ds.Modality == "MR" and str(ds.PatientName) == "SYNTHETIC^PATIENT"
        assert ds.PixelRepresentation == 1 and "RescaleSlope" in ds
        z = sorted(float(s.ImagePositionPatient[2]) for s in slices)
        assert np.allclose(np.diff(z), float(ds.SliceThickness), atol=1e-3)
    nifti_like = sitk.ReadImage([str(p) for p in sorted((folder / "cet1").glob("*.dcm"))])
    assert nifti_like.GetSize()[2] == len(ce)


def test_sample_assets_present_and_small():
    root = Path(__file__).resolve().parents[2] / "assets"
    nifti, dicom = root / "sample_patient", root / "sample_patient_dicom"
    for name in ("cet1.nii.gz", "t2.nii.gz", "t1.nii.gz", "mask.nii.gz", "clinical.json"):
        assert (nifti / name).is_file()
    assert (dicom / "clinical.json").is_file() and (dicom / "README.txt").is_file()
    total = sum(f.stat().st_size for d in (nifti, dicom) for f in d.rglob("*") if f.is_file())
    assert total < 15 * 1024 * 1024


def test_dicom_roles_assigned_by_intake(tmp_path):
    from inference.io import load_patient

    write_cohort(tmp_path, 1, seed=9, fmt="dicom", size_scale=0.5)
    patient = load_patient(tmp_path / "SYN0001")
    assert set(patient.volumes) >= {"cet1", "t2", "t1"}
    for role in ("cet1", "t2", "t1"):
        assert patient.roles[role].reason
    assert patient.volumes["cet1"].array.shape[0] == len(list((tmp_path / "SYN0001" / "cet1").glob("*.dcm")))
    assert patient.volumes["t2"].array.shape[0] == len(list((tmp_path / "SYN0001" / "t2").glob("*.dcm")))


def _rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = (np.trace(a.T @ b) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def test_misalignment_is_recoverable_by_registration():
    from inference.registration import register_rigid
    from training.synth.geometry import RigidMotion

    p = generate_patient("SYN0001", 13, size_scale=0.5)
    # Readers hand float32 volumes to registration, as Volume.from_image does.
    vols = {k: v.with_array(v.array.astype(np.float32)) for k, v in p.volumes.items()}
    fixed = vols["cet1"]
    for seq in ("t2", "t1"):
        rec = p.truth["misalignment"][seq]
        truth = RigidMotion(tuple(rec["angles_deg_xyz"]), tuple(rec["translation_mm_xyz"]),
                            tuple(rec["center_mm_xyz"])).to_sitk()
        result = register_rigid(fixed, vols[seq])
        est = result.transform
        # Compare on points spread through the oral cavity (the region registration must get right).
        pts = np.array([[x, y, z] for x in (-30, 0, 30) for y in (-30, 0, 30) for z in (-20, 0, 20)], float)
        err = [np.linalg.norm(np.subtract(est.TransformPoint(tuple(q)), truth.TransformPoint(tuple(q))))
               for q in pts]
        assert max(err) < 1.0, f"{seq}: residual {max(err):.2f} mm"
        m_true = np.asarray(truth.GetMatrix()).reshape(3, 3)
        jac = np.array([np.subtract(est.TransformPoint(tuple(e)), est.TransformPoint((0.0, 0.0, 0.0)))
                        for e in np.eye(3)]).T
        assert _rotation_angle_deg(m_true, jac) < 1.0


def test_cli_writes_cohort_and_summary(tmp_path, capsys, monkeypatch):
    import argparse

    from training.synth import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    for action in parser._actions[1:]:
        assert "default" in action.help
    args = parser.parse_args(["--patients", "1", "--seed", "3", "--out", str(tmp_path), "--preview"])
    import training.synth.cohort as cohort

    real = cohort.generate_patient
    monkeypatch.setattr(cohort, "generate_patient", lambda pid, seed, **kw: real(pid, seed, size_scale=SMALL))
    assert cli.run(args) == 0
    out = capsys.readouterr()
    assert "[1/1] SYN0001" in out.err and "SYNTHETIC" in out.out
    png = (tmp_path / "SYN0001" / "preview.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_cli_never_writes_into_a_folder_that_holds_files(tmp_path, capsys):
    from inference.cli import main

    cohort = tmp_path / "cohort"
    (cohort / "SYN0001").mkdir(parents=True)
    (cohort / "clinical.csv").write_text("patient_id,age\nSYN0001,60\n")
    before = sorted(p.relative_to(cohort) for p in cohort.rglob("*"))
    assert main(["synth", "--patients", "1", "--seed", "5", "--out", str(cohort)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("otscc synth: error: ") and "already holds files" in err
    assert sorted(p.relative_to(cohort) for p in cohort.rglob("*")) == before
    assert (cohort / "clinical.csv").read_text() == "patient_id,age\nSYN0001,60\n"
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["synth", "--patients", "1", "--out", str(afile)]) == 3
    assert "is a file, not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["synth", "--patients", "0", "--out", str(tmp_path / "new")])
    assert stop.value.code == 2 and not (tmp_path / "new").exists()


def test_ctrl_c_leaves_only_whole_patients_and_says_the_folder_is_no_cohort(tmp_path, capsys, monkeypatch):
    """Ctrl+C while a patient's series were written left its folder with CE-T1 and T2 only, which predict and
    training read as a patient; and the command said only 'interrupted'."""
    import training.synth.cohort as cohort
    import training.synth.writers as writers
    from inference.cli import main
    from training.seg.data import list_patients

    real_generate, real_nifti = cohort.generate_patient, writers.write_nifti
    monkeypatch.setattr(cohort, "generate_patient", lambda pid, seed, **kw: real_generate(pid, seed, size_scale=SMALL))
    calls = []

    def nifti(volume, path):
        calls.append(path.name)
        if len(calls) == 7:  # the second patient's mask, after its three series
            raise KeyboardInterrupt
        real_nifti(volume, path)

    monkeypatch.setattr(writers, "write_nifti", nifti)
    out = tmp_path / "cohort"
    assert main(["synth", "--patients", "3", "--seed", "5", "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "otscc synth: interrupted"
    assert err[-2].startswith("stopped after 1 of 3 patients: ") and "delete that folder" in err[-2]
    assert sorted(p.name for p in out.iterdir()) == ["SYN0001"]
    assert sorted(p.name for p in (out / "SYN0001").iterdir()) == [
        "cet1.nii.gz", "mask.nii.gz", "t1.nii.gz", "t2.nii.gz", "truth.json"]
    (out / ".tmp-1-SYN0002").mkdir()  # a writer killed with -9: its staging folder is never read as a patient
    (out / ".tmp-1-SYN0002" / "mask.nii.gz").write_bytes(b"")
    assert list_patients(out) == ["SYN0001"]


def test_a_patient_folder_that_exists_is_never_replaced(tmp_path):
    """Writing whole patients by renaming a staging folder must not delete a folder of the same name (it replaced
    it, with whatever else it held)."""
    (tmp_path / "SYN0001").mkdir()
    (tmp_path / "SYN0001" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="SYN0001 already exists"):
        write_cohort(tmp_path, 1, seed=3, size_scale=SMALL)
    assert [p.name for p in (tmp_path / "SYN0001").iterdir()] == ["notes.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
