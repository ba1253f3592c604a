"""Inputs are read-only (issue 9, item 4): the whole input tree (names, modes, sizes, mtimes, contents) is
fingerprinted before and after predict, inspect and GUI runs on the NIfTI and DICOM samples. The soak tests
check the same on their synthetic batch (tests/reliability/test_soak.py)."""

from __future__ import annotations

import pytest

from inference.assets import SAMPLE_PATIENT
from inference.cli import main
from tests.reliability.tree import diff, fingerprint

SAMPLE_DICOM = SAMPLE_PATIENT.parent / "sample_patient_dicom"
CLINICAL_ARGS = ["--age", "61", "--sex", "M", "--ct-stage", "T2", "--cn-status", "0", "--doi-mm", "auto"]


@pytest.fixture(autouse=True)
def _private_key_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))


def test_tree_fingerprint_sees_every_kind_of_change(tmp_path) -> None:
    """The check itself: a rewrite with the same bytes (mtime), a chmod, a new file and a new empty folder
    are all seen."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.nii").write_bytes(b"x" * 10)
    before = fingerprint(root)
    assert diff(before, fingerprint(root)) == []
    import os

    os.utime(root / "sub" / "a.nii", ns=(1, 1))
    assert diff(before, fingerprint(root))[0].startswith("changed sub/a.nii")
    before = fingerprint(root)
    (root / "sub" / "a.nii").chmod(0o600)
    (root / "new").mkdir()
    (root / ".tmp-1-x").write_bytes(b"")
    changes = diff(before, fingerprint(root))
    assert "added .tmp-1-x" in changes and "added new" in changes and any("changed sub/a.nii" in c for c in changes)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_cli_runs_leave_the_inputs_untouched(tmp_path, capsys) -> None:
    before = {p: fingerprint(p) for p in (SAMPLE_PATIENT, SAMPLE_DICOM)}
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(tmp_path / "nifti"), *CLINICAL_ARGS]) == 0
    assert main(["predict", str(SAMPLE_DICOM), "--out", str(tmp_path / "dicom"), *CLINICAL_ARGS]) == 0
    assert main(["inspect", str(SAMPLE_DICOM)]) == 0
    # an output folder inside the input is refused before anything is written
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(SAMPLE_PATIENT / "out"), *CLINICAL_ARGS]) != 0
    assert "inside the input folder" in capsys.readouterr().err
    for path, fp in before.items():
        assert diff(fp, fingerprint(path)) == [], path


@pytest.mark.slow
@pytest.mark.gui
@pytest.mark.timeout(600)
def test_gui_runs_leave_the_inputs_untouched(qapp, tmp_path) -> None:
    from desktop.qt_compat import guard
    from tests.desktop.conftest import close_window, make_window, wait_job

    guard()
    before = {p: fingerprint(p) for p in (SAMPLE_PATIENT, SAMPLE_DICOM)}
    window = make_window(tmp_path / "userdata", None)
    try:
        for patient in (SAMPLE_DICOM, SAMPLE_PATIENT):
            window.open_patient(patient)
            assert wait_job(window) == ("load", "finished"), window.presenter.reports
            window.session.set_clinical({"age": 61.0, "sex": "M", "ct_stage": "T2", "cn_status": 0,
                                         "doi_mm": "auto"})
            window.segment()
            assert wait_job(window) == ("segment", "finished"), window.presenter.reports
            assert window.export(tmp_path / "out")
            assert wait_job(window) == ("export", "finished"), window.presenter.reports
            window.export(patient)  # into the input: the job refuses before writing anything
            assert wait_job(window) == ("export", "failed")
            assert "inside the input folder" in str(window.presenter.reports[-1])
            assert window.close_patient()
    finally:
        close_window(window)
    for path, fp in before.items():
        assert diff(fp, fingerprint(path)) == [], path
