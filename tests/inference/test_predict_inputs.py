"""`otscc predict` with the mistakes users make: clinical CSVs from spreadsheets, duplicate patients in a batch,
an output folder that cannot be written, bad counts, out-of-range values; and what it tells them."""

from __future__ import annotations

import csv
import json
import os
import shutil

import pytest

from inference.assets import SAMPLE_PATIENT
from inference.cli import main
from inference.errors import OutputError
from inference.nomogram import ClinicalValueError
from inference.pipeline import load_clinical, read_clinical_csv
from tests.inference.test_cli import tree_digest

SAMPLE_DICOM = SAMPLE_PATIENT.parent / "sample_patient_dicom"
FAST = ["--register", "never", "--no-report", "--backend", "litert", "--threads", "2"]


@pytest.fixture(autouse=True)
def _user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))


# -- clinical CSV -------------------------------------------------------------------------------------------
def _folder(tmp_path, name="P1"):
    folder = tmp_path / name
    folder.mkdir()
    return folder


def test_a_csv_without_a_patient_id_column_is_an_error_not_ignored(tmp_path):
    table = tmp_path / "clin.csv"
    table.write_text("id,age,sex\nP1,70,M\n")
    with pytest.raises(ClinicalValueError, match=r"clin\.csv: no patient_id column \(first line: 'id,age,sex'\)"):
        load_clinical(_folder(tmp_path), table)


def test_a_csv_with_only_unknown_columns_is_an_error(tmp_path):
    table = tmp_path / "clin.csv"
    table.write_text("patient_id,Alter,Geschlecht\nP1,70,M\n")
    with pytest.raises(ClinicalValueError, match="no clinical column"):
        load_clinical(_folder(tmp_path), table)


@pytest.mark.parametrize("text", [
    "patient_id;age;sex;ct_stage;cn_status;doi_mm\nP1;70;M;T2;0;7,8\n",  # a spreadsheet in a comma-decimal locale
    "patient_id\tage\tsex\tct_stage\tcn_status\tdoi_mm\nP1\t70\tM\tT2\t0\t7.8\n",
    "\ufeffpatient_id,age,sex,ct_stage,cn_status,doi_mm\nP1, 70 ,M,T2,0,7.8\n",  # Excel's byte-order mark, spaces
])
def test_semicolon_tab_and_excel_csvs_are_read(tmp_path, text):
    table = tmp_path / "clin.csv"
    table.write_text(text, encoding="utf-8")
    assert load_clinical(_folder(tmp_path), table) == {"age": "70", "sex": "M", "ct_stage": "T2", "cn_status": "0",
                                                       "doi_mm": "7.8"}


def test_a_windows_excel_csv_in_its_ansi_code_page_is_read(tmp_path):
    table = tmp_path / "clin.csv"
    table.write_bytes("patient_id;age;sex;ct_stage;cn_status;doi_mm;Bemerkung\nP1;70;M;T2;0;7,8;Größe\n"
                      .encode("cp1252"))
    assert load_clinical(_folder(tmp_path), table)["doi_mm"] == "7.8"


def test_two_rows_for_one_patient_are_an_error_naming_the_lines(tmp_path):
    table = tmp_path / "clin.csv"
    table.write_text("patient_id,age,sex\nP1,70,M\nP2,50,F\nP1,40,F\n")
    with pytest.raises(ClinicalValueError, match=r"line 2 \('P1'\), line 4 \('P1'\) all match this patient"):
        load_clinical(_folder(tmp_path), table)
    assert load_clinical(_folder(tmp_path, "P2"), table) == {"age": "50", "sex": "F"}  # other patients still read


def test_short_rows_and_extra_cells_do_not_crash(tmp_path):
    table = tmp_path / "clin.csv"
    table.write_text("patient_id,age,sex\nP1,70\nP2,50,F,extra\n")
    assert [row for _, row in read_clinical_csv(table)] == [{"patient_id": "P1", "age": "70", "sex": ""},
                                                            {"patient_id": "P2", "age": "50", "sex": "F"}]


def test_result_json_holds_canonical_clinical_values_whatever_the_source(tmp_path, capsys):
    table = tmp_path / "clin.csv"
    table.write_text("patient_id,age,sex,ct_stage,cn_status,doi_mm\nsample_patient,70,m,ct2,cN0,7.8\n")
    out = tmp_path / "out"
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(out), "--clinical", str(table), *FAST]) == 0
    capsys.readouterr()
    result = json.loads((out / "sample_patient" / "result.json").read_text())
    assert result["clinical"] == {"age": 70.0, "sex": "M", "ct_stage": "T2", "cn_status": 0, "doi_mm": 7.8}
    assert result["sequences"]["cet1"]["source"].startswith("cet1")  # which file became each sequence
    assert not any("outside the range" in w for w in result["warnings"])


def test_an_age_outside_the_nomogram_fit_gives_a_risk_with_a_warning_everywhere(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(out), "--age", "1", *FAST]) == 0
    text = capsys.readouterr().out
    result = json.loads((out / "sample_patient" / "result.json").read_text())
    (warning,) = [w for w in result["warnings"] if "outside the range" in w]
    assert warning.startswith("age 1 is outside the range of the patients the nomogram was fitted on (24 to ")
    assert f"warning: {warning}" in text


@pytest.mark.parametrize("bad", ['"age": true', '"age": "old"', '"sex": "X"'])
def test_unreadable_clinical_json_values_are_refused_by_name(tmp_path, capsys, bad):
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    (patient / "clinical.json").write_text('{"age": 68, "sex": "M", "ct_stage": "T2", "cn_status": 0, "doi_mm": 7.8, '
                                           + bad + "}")
    assert main(["predict", str(patient), "--out", str(tmp_path / "out"), *FAST]) == 2
    assert bad.split(":")[0].strip('"') in capsys.readouterr().err


@pytest.mark.parametrize(("sex", "stage", "node"), [("f", "t3", "1"), ("female", "cT3", "cN+"), ("F", "3", "N1")])
def test_command_line_reads_the_spellings_clinical_files_use(tmp_path, capsys, sex, stage, node):
    out = tmp_path / "out"
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(out), "--sex", sex, "--ct-stage", stage,
                 "--cn-status", node, *FAST]) == 0
    capsys.readouterr()
    clinical = json.loads((out / "sample_patient" / "result.json").read_text())["clinical"]
    assert (clinical["sex"], clinical["ct_stage"], clinical["cn_status"]) == ("F", "T3", 1)


def test_command_line_names_an_unreadable_spelling(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(SAMPLE_PATIENT), "--out", str(tmp_path / "out"), "--ct-stage", "T4"])
    assert stop.value.code == 2 and "ct_stage must be T1, T2 or T3, got 'T4'" in capsys.readouterr().err


# -- batches --------------------------------------------------------------------------------------------------
def test_two_folders_of_one_dicom_study_do_not_overwrite_each_other(tmp_path, capsys):
    batch = tmp_path / "batch"
    shutil.copytree(SAMPLE_DICOM, batch / "a")
    shutil.copytree(SAMPLE_DICOM, batch / "b")
    clinical = json.loads((batch / "b" / "clinical.json").read_text())
    (batch / "b" / "clinical.json").write_text(json.dumps({**clinical, "cn_status": 1, "ct_stage": "T3"}))
    out = tmp_path / "out"
    assert main(["predict", str(batch), "--out", str(out), *FAST]) == 1  # one patient failed
    captured = capsys.readouterr()
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        rows = {r["folder"]: r for r in csv.DictReader(fh)}
    assert rows["a"]["status"] == "ok" and rows["b"]["status"] == "error"
    assert "was already written from folder 'a' in this batch" in rows["b"]["error"]
    (written,) = [p for p in out.iterdir() if p.is_dir()]
    result = json.loads((written / "result.json").read_text())
    assert result["clinical"]["cn_status"] == 0 and str(result["probability"]) == rows["a"]["probability"]
    assert "1 of 2 patients done, 1 failed" in captured.out


def test_batch_without_patient_folders_is_an_error(tmp_path, capsys):
    assert main(["predict", str(SAMPLE_PATIENT), "--batch", "--out", str(tmp_path / "out")]) == 2
    assert "--batch found no patient folders" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- output folder ---------------------------------------------------------------------------------------------
def test_an_output_path_that_is_a_file_fails_before_any_work(tmp_path, capsys):
    target = tmp_path / "results"
    target.write_text("not a folder")
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(target), *FAST]) == OutputError.exit_code
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and target.read_text() == "not a folder"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user for a read-only dir")
def test_a_read_only_output_folder_fails_before_any_work(tmp_path, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["predict", str(SAMPLE_PATIENT), "--out", str(out), *FAST]) == OutputError.exit_code
        err = capsys.readouterr().err
        assert "cannot write results there" in err and "timings" not in err
    finally:
        out.chmod(0o755)


def test_an_unwritable_output_folder_fails_before_any_work_even_for_root(tmp_path, capsys, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)  # what a read-only folder does to a non-root user
    stages = []
    monkeypatch.setattr("inference.pipeline.Pipeline.prepare", lambda *a, **k: stages.append("prepare"))
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(tmp_path / "out"), *FAST]) == OutputError.exit_code
    assert "cannot write results there (Permission denied)" in capsys.readouterr().err and stages == []


def test_writability_check_leaves_nothing_behind(tmp_path):
    from inference.pipeline import check_writable_dir

    check_writable_dir(tmp_path / "new" / "out")
    assert list(tmp_path.iterdir()) == []  # not even the folder: it is made when the first result is written


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_thread_counts_below_one_are_refused_at_the_command_line(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(SAMPLE_PATIENT), "--out", str(tmp_path / "out"), "--threads", value])
    assert stop.value.code == 2
    assert "--threads" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_dicom_series_choices_are_printed_with_their_reasons(tmp_path, capsys):
    before = tree_digest(SAMPLE_DICOM)
    assert main(["predict", str(SAMPLE_DICOM), "--out", str(tmp_path / "out"), *FAST]) == 0
    text = capsys.readouterr().out
    for role in ("cet1", "t2", "t1"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(role + " "))
        assert "series #" in line and "description says" in line
    assert "skipped" not in text  # its README.txt and clinical.json are not DICOM, and not worth a note
    assert tree_digest(SAMPLE_DICOM) == before


def test_a_series_number_that_is_not_there_lists_the_series_that_are(tmp_path, capsys):
    assert main(["predict", str(SAMPLE_DICOM), "--out", str(tmp_path / "out"), "--cet1", "9", *FAST]) == 2
    err = capsys.readouterr().err
    assert "--cet1 9: no series of sample_patient_dicom has that number" in err
    assert "series found: series #2 (20 images), series #3 (20 images), series #5 (20 images)" in err


def test_a_folder_of_patients_is_not_read_as_one_dicom_patient(tmp_path, capsys):
    from inference.errors import PatientNotFoundError
    from inference.io import load_patient

    root = tmp_path / "patients"
    shutil.copytree(SAMPLE_PATIENT, root / "nifti_one")
    shutil.copytree(SAMPLE_DICOM, root / "dicom_two")
    with pytest.raises(PatientNotFoundError, match=r"a folder of 2 patient folders \(dicom_two, nifti_one\)"):
        load_patient(root)  # was: dicom_two's series taken, nifti_one's files skipped, no error
    assert main(["inspect", str(root)]) == 2
    assert "open one of them" in capsys.readouterr().err
    nested = tmp_path / "one_dicom_patient"
    shutil.copytree(SAMPLE_DICOM, nested / "series_folder")  # one patient whose DICOM sits in a sub-folder
    (nested / "series_folder" / "clinical.json").unlink()
    assert load_patient(nested).source_kind == "dicom"


def test_result_json_names_series_by_number_even_when_chosen_by_uid(tmp_path, capsys):
    import pydicom

    files = sorted(SAMPLE_DICOM.glob("*.dcm"))
    uid = next(ds.SeriesInstanceUID for ds in (pydicom.dcmread(f, stop_before_pixels=True) for f in files)
               if str(ds.SeriesNumber) == "5")
    out = tmp_path / "out"
    assert main(["predict", str(SAMPLE_DICOM), "--out", str(out), "--cet1", uid, *FAST]) == 0
    capsys.readouterr()
    (result_file,) = out.glob("*/result.json")
    result = json.loads(result_file.read_text())
    assert result["sequences"]["cet1"] == {"source": "series #5 (20 images)", "reason": "chosen by the user (override)"}
    assert uid not in result_file.read_text()  # docs/privacy.md: UIDs never reach an output


def test_a_typed_file_name_never_reaches_result_json(tmp_path, capsys):
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    named = tmp_path / "Smith_John_MRN12345.nii.gz"  # a file name that identifies someone, given with --t1
    shutil.move(patient / "t1.nii.gz", named)
    out = tmp_path / "out"
    assert main(["predict", str(patient), "--out", str(out), "--t1", str(named), *FAST]) == 0
    capsys.readouterr()
    text = (out / "p" / "result.json").read_text()
    assert "Smith" not in text and "MRN12345" not in text
    sequence = json.loads(text)["sequences"]["t1"]
    assert sequence == {"source": "given with --t1", "reason": "chosen by the user (override)"}


def _t2_only_patient(folder) -> None:
    import numpy as np
    import SimpleITK as sitk

    folder.mkdir(parents=True)
    sitk.WriteImage(sitk.GetImageFromArray(np.ones((4, 8, 8), np.int16)), str(folder / "t2.nii.gz"))


def test_a_batch_hint_suggests_what_works_in_a_batch(tmp_path, capsys):
    """A batch refuses --cet1/--t2/--t1, yet a patient's missing-file error told it to 'name the file with --cet1
    PATH'."""
    batch = tmp_path / "batch"
    _t2_only_patient(batch / "P1")
    out = tmp_path / "out"
    assert main(["predict", str(batch), "--batch", "--out", str(out), *FAST]) == 1
    capsys.readouterr()
    with open(out / "summary.csv", newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert row["status"] == "error" and "P1: no CE-T1 file" in row["error"]
    assert "Or name the file with --cet1 PATH" not in row["error"]
    assert "In a batch, name the patient's CE-T1 file 'cet1' with its extension" in row["error"]


@pytest.mark.parametrize("name", ["summary.csv", "audit.jsonl", "Summary.CSV"])
def test_a_patient_folder_named_like_a_batch_output_file_is_refused_before_any_work(tmp_path, capsys, name):
    """A patient of named image files writes to OUT/<folder name>: a folder 'summary.csv' took the batch summary's
    place (the summary could not be written), one named 'audit.jsonl' the audit log's."""
    batch = tmp_path / "batch"
    _t2_only_patient(batch / name)
    _t2_only_patient(batch / "P2")
    out = tmp_path / "out"
    assert main(["predict", str(batch), "--batch", "--out", str(out), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"'{name}' would write its results to {out / name}, where the" in err
    assert "Rename the patient folder(s)" in err and "nothing was run" in err
    assert not out.exists()
