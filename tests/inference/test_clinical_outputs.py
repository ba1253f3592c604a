"""What a clinician reads (terminal, result.json, summary.csv, report.pdf) must not mislead: from a review of the
outputs by a clinician on 2026-11-30 (a risk rounded onto a cut-off, a --clinical row that did not match, warnings in
6-point footer text, a tiny false-positive mask scored without a word, every female patient's dot in the 'outside
the fitted range' colour)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import unicodedata
from dataclasses import replace

import numpy as np
import pytest

from inference.assets import DEFAULT_NOMOGRAM, SAMPLE_PATIENT
from inference.cli import main
from inference.nomogram import Nomogram, format_risk, risk_groups_text, round_risk
from inference.pdf import _color
from inference.pipeline import load_clinical
from inference.plausibility import SMALL_TUMOR_ML
from inference.report import RED, build_page, inputs_text
from inference.wording import plural
from tests.inference.conftest import CLINICAL  # the values the shared fixtures score with
from tests.inference.test_predict_inputs import FAST

GROUPS = [{"name": "low", "below": 0.2}, {"name": "intermediate", "below": 0.5}, {"name": "high", "below": 1.0000001}]


@pytest.fixture(autouse=True)
def _user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))


@pytest.mark.parametrize(("probability", "one", "none"), [
    (0.4999, "49.99%", "49.99%"),  # "50.0%" beside "intermediate", whose upper cut-off 50 % starts "high"
    (0.49996, "49.996%", "49.996%"),
    (0.1999, "19.99%", "19.99%"),
    (0.5, "50.0%", "50%"), (0.50004, "50.0%", "50%"),  # at or above a cut-off: in the higher group, as printed
    (0.263, "26.3%", "26%"), (0.0, "0.0%", "0%"),
])
def test_a_risk_is_never_rounded_onto_a_cut_off_it_lies_below(probability, one, none):
    assert format_risk(probability, [0.2, 0.5]) == one and format_risk(probability, [0.2, 0.5], 0) == none
    assert (round_risk(probability, [0.2, 0.5]) < 0.5) == (probability < 0.5)
    assert (round_risk(probability, [0.2, 0.5]) < 0.2) == (probability < 0.2)
    assert round_risk(0.26312, [0.2, 0.5]) == 0.2631


def test_the_cut_offs_are_written_out():
    assert risk_groups_text(GROUPS) == "low < 20%, intermediate 20-50%, high >= 50%"


def test_a_clinical_csv_without_this_patients_row_is_said_and_names_match_in_one_unicode_form(tmp_path):
    name = unicodedata.normalize("NFD", "Müller_Ødegård")  # how macOS stores folder names
    folder = tmp_path / name
    folder.mkdir()
    (folder / "clinical.json").write_text(json.dumps(CLINICAL))
    table = tmp_path / "clin.csv"
    table.write_text(f"patient_id,age\n{unicodedata.normalize('NFC', name)},55\n", encoding="utf-8")
    notes: list[str] = []
    assert load_clinical(folder, table, notes=notes)["age"] == "55" and notes == []
    table.write_text("patient_id,age\nsomeone-else,55\n")
    assert load_clinical(folder, table, notes=notes)["age"] == 62
    (note,) = notes
    assert note.startswith("--clinical clin.csv has no row whose patient_id is") and "clinical.json" in note


def test_predict_warns_when_the_clinical_csv_does_not_name_the_patient(tmp_path, capsys):
    """clin.csv with 'sample-patient' (a dash) scored the sample with its clinical.json's values, saying nothing."""
    table = tmp_path / "clin.csv"
    table.write_text("patient_id,age,sex,ct_stage,cn_status,doi_mm\nsample-patient,55,F,T3,1,12.7\n")
    out = tmp_path / "out"
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(out), "--clinical", str(table), *FAST]) == 0
    text = capsys.readouterr().out
    result = json.loads((out / "sample_patient" / "result.json").read_text())
    assert result["warnings"][0].startswith("--clinical clin.csv has no row whose patient_id is 'sample_patient'")
    assert f"warning: {result['warnings'][0]}" in text
    assert "clinical values used: age 68, sex M, cT2, cN0, DOI 7.8 mm (given)" in text  # what was used, said
    assert result["risk_groups"] == Nomogram.load(DEFAULT_NOMOGRAM).data["risk_groups"]
    assert "risk groups: low < 20%, intermediate 20-50%, high >= 50%" in text
    # and a patient without clinical.json: the error says the CSV had no row for it, not only what is missing
    bare = tmp_path / "bare"
    shutil.copytree(SAMPLE_PATIENT, bare)
    (bare / "clinical.json").unlink()
    assert main(["predict", str(bare), "--out", str(tmp_path / "out2"), "--clinical", str(table), *FAST]) == 2
    assert "--clinical clin.csv has no row whose patient_id is 'bare'" in capsys.readouterr().err


def test_a_batch_lists_warnings_and_clinical_values_in_utf8_and_says_the_data_are_synthetic(tmp_path, capsys):
    batch = tmp_path / "batch"
    shutil.copytree(SAMPLE_PATIENT, batch / "Иванов")
    shutil.copy(batch / "Иванов" / "t2.nii.gz", batch / "Иванов" / "t2_old.nii.gz")  # ignored: said, as for one
    out = tmp_path / "out"
    assert main(["predict", str(batch), "--out", str(out), "--age", "1", *FAST]) == 0
    captured = capsys.readouterr()
    assert "  note: ignored image files with unrecognised names: t2_old.nii.gz" in captured.err  # a batch said nothing
    assert "warning: --age given on the command line apply to EVERY patient of this batch" in captured.err
    # the patient's line says how many warnings it has
    assert re.search(r"\((1 warning|\d+ warnings): see its result\.json\)", captured.err)
    assert "SYNTHETIC" in captured.out
    raw = (out / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark: Excel shows the name, any locale writes it
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["folder"] == "Иванов" and row["age"] == "1.0" and row["sex"] == "M" and row["cn_status"] == "0"
    assert "outside the range of the patients the nomogram was fitted on" in row["warnings"]
    # yes/no, not Python's True/False, and the risk in percent as printed, in a column added at the end
    assert row["doi_mm_estimated"] == "no"
    assert f"{row['risk_percent']}%" == format_risk(float(row["probability"]), [0.2, 0.5]) in captured.err
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    assert header[:17] == ["patient_id", "folder", "status", "probability", "risk_group", "borderline",
                           "tumor_volume_ml", "doi_mm", "doi_mm_estimated", "backend", "seconds", "error", "age",
                           "sex", "ct_stage", "cn_status", "warnings"]  # the order scripts read them in


def test_batch_json_rows_give_the_risk_in_percent_as_a_number():
    from inference.commands.predict import json_row

    row = json_row({"patient_id": "A", "probability": 0.26312, "risk_percent": "26.3", "error": ""})
    assert row == {"patient_id": "A", "probability": 0.26312, "risk_percent": 26.3, "error": None}
    assert json_row({"status": "error", "risk_percent": ""})["risk_percent"] is None


def test_a_very_small_mask_is_flagged(pipeline, prediction):
    """The sample with its tumor painted out gave a 0.11 ml blob on one slice, scored 1.6 % 'low', without a word."""
    assert not any("very small" in w for w in prediction.warnings)  # the sample (a 1.6 ml tumor; 0.82 ml found)
    a = np.zeros_like(prediction.mask.array)
    a[8:10, 120:126, 120:126] = 1  # 72 voxels of 0.78 x 0.78 x 4.5 mm: 0.2 ml on two slices
    small = pipeline.score(prediction.prepared, prediction.mask.with_array(a), dict(CLINICAL))
    assert small.measures.volume_ml < SMALL_TUMOR_ML
    (warning,) = [w for w in small.warnings if "very small" in w]
    assert f"({small.measures.volume_ml:.2f} ml on 2 slices)" in warning
    assert small.status == "ok" and small.score is not None  # still scored: the user judges
    a[:] = 0
    a[8, 115:127, 115:127] = 1  # 144 voxels, 0.39 ml, larger than the limit but on one slice: flagged too
    flat = pipeline.score(prediction.prepared, prediction.mask.with_array(a), dict(CLINICAL))
    assert flat.measures.volume_ml > SMALL_TUMOR_ML
    (warning,) = [w for w in flat.warnings if "slice" in w and "tumor found" in w]
    assert warning.startswith(f"the tumor found lies on a single slice ({flat.measures.volume_ml:.2f} ml on 1 slice)")
    assert "smaller than any tumor" not in warning  # 0.39 ml is not


def test_the_report_puts_every_warning_under_the_risk_and_draws_values_in_range_in_red(pipeline, prediction):
    female = pipeline.rescore(prediction, clinical={**CLINICAL, "sex": "F"})  # the top of the Sex axis
    page = build_page(female, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir)
    dots = [op for op in page.ops if op.endswith(" c f") and " re " not in op]
    assert len(dots) == len(pipeline.nomogram.axes()) + 2
    assert all(op.startswith(_color(RED)) for op in dots), dots  # none in the 'outside the fitted range' orange
    warned = replace(prediction, warnings=["the tumor found reaches the edge of the CE-T1 volume: it may be cut"])
    texts = build_page(warned, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir).texts
    head = next(i for i, t in enumerate(texts) if t.startswith("Risk of cervical lymph-node metastasis: "))
    assert texts[head].endswith("; see the warnings below")
    warning = next(i for i, t in enumerate(texts) if t.startswith("Warning: the tumor found reaches the edge"))
    first_image_title = next(i for i, t in enumerate(texts) if t.startswith("CE-T1"))
    assert head < warning < first_image_title  # under the risk, above the images; not in the footer
    assert any(t.startswith("Risk groups: low < 20%, intermediate 20-50%, high >= 50%") for t in texts)


def test_the_nomogram_axes_cover_the_fitted_range():
    """The Age axis was drawn 40-80 for a fit on ages 24-83: a 30-year-old's dot floated left of it."""
    nomogram = Nomogram.load(DEFAULT_NOMOGRAM)
    for axis in nomogram.axes():
        lo, hi = nomogram.model["axes"][axis.variable]
        xs = [x for _, x in axis.ticks]
        ends = sorted([nomogram.points_of(axis.variable, lo), nomogram.points_of(axis.variable, hi)])
        assert min(xs) == pytest.approx(ends[0], abs=1e-6) and max(xs) == pytest.approx(ends[1], abs=1e-6), axis


def test_the_inputs_and_their_registration_are_in_the_result_and_the_report(pipeline, prediction):
    """Which file became each sequence, and what registration did, were only in `otscc inspect`."""
    r = prediction.to_json()
    assert set(r["registration"]) == {"t2", "t1"} and not any(reg["skipped"] for reg in r["registration"].values())
    texts = " ".join(build_page(prediction, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir).texts)
    assert "Inputs: CE-T1 cet1.nii.gz (the reference grid); T2 t2.nii.gz, registered (shift " in texts
    skipped = {**r, "registration": {"t2": {"skipped": True, "reason": "--register never"}}}
    assert "T2 t2.nii.gz, not registered (--register never)" in inputs_text(skipped)
    moved = {**r, "registration": {"t2": {"skipped": False, "translation_mm": [3.0, 4.0, 0.0],
                                          "rotation_deg": [0.5, -1.25, 0.0]}}}
    assert "T2 t2.nii.gz, registered (shift 5.0 mm, turn 1.2 deg)" in inputs_text(moved)


def test_the_report_cuts_whole_warnings_and_keeps_those_it_says_nowhere_else(pipeline, prediction):
    """Four warnings were cut after five wrapped lines in the order they came, so the last ones (and half of one)
    were lost; BORDERLINE, which the headline says too, goes last."""
    borderline = "BORDERLINE: the risk 17.0% is within 5 percentage points of the 20% boundary " + "x " * 60
    long = [f"warning {i}: the mask may be wrong " + "because " * 25 for i in range(5)]
    page = build_page(replace(prediction, warnings=[borderline, *long]), nomogram=pipeline.nomogram,
                      model_dir=pipeline.model_dir)
    warned = [t for t in page.texts if t.startswith("Warning: ")]
    assert [t.split(":")[1].strip() for t in warned] == [f"warning {i}" for i in range(len(warned))]
    (more,) = [t for t in page.texts if t.startswith("... ")]
    assert more == f"... {plural(6 - len(warned), 'more warning')}: see result.json"  # BORDERLINE among them, cut whole
    assert not any("x x x" in t for t in page.texts)


def test_a_name_the_pdf_fonts_lack_is_told_apart_and_said_to_be_altered(pipeline, prediction, tmp_path):
    """Two Cyrillic patients of one name length both got the title 'patient ??????'."""
    from inference.pdf import text_width, write_pdf
    from inference.report import NOT_SHOWN_EXACTLY
    from tests.inference.pdf_reader import pdf_text

    def page_of(patient_id):
        return build_page(replace(prediction, patient_id=patient_id), nomogram=pipeline.nomogram,
                          model_dir=pipeline.model_dir)

    ascii_page = page_of("sample_patient")
    assert NOT_SHOWN_EXACTLY not in ascii_page.texts
    ivanov = page_of("Иванов_王" * 4)  # long too: the title must not run into the time computed or off the page
    text = pdf_text(write_pdf(ivanov, tmp_path / "r.pdf"))
    # too long for the title at its smallest: cut there, whole in the lines under it
    assert "Patient id in full: " + r"\u0418\u0432\u0430\u043d\u043e\u0432_\u738b" * 4 in text.replace("\n", "")
    assert NOT_SHOWN_EXACTLY in ivanov.texts and "result.json holds it exactly" in text
    assert pdf_text(write_pdf(page_of("Петров_王"), tmp_path / "p.pdf")) != pdf_text(write_pdf(page_of("Иванов_王"),
                                                                                                 tmp_path / "i.pdf"))
    (title,) = [op for op in ivanov.ops if "otscc-edge report: patient" in op]
    size = float(title.split(" Tf")[0].split()[-1])
    x = float(title.split(" Td")[0].split()[-2])
    computed = next(t for t in ivanov.texts if t.startswith("computed "))
    shown = next(t for t in ivanov.texts if t.startswith("otscc-edge report: patient"))  # texts[0] is the time
    assert x + text_width(shown, size, bold=True) < ivanov.width - 30 - text_width(computed, 7)


def test_the_report_says_its_timings_are_those_before_the_report(pipeline, prediction):
    """The terminal listed 'report 0.21 s', the PDF the same stages without it, under 'Stage timings'."""
    timed = replace(prediction, timings={**prediction.timings, "report": 0.5})  # a report written before (GUI)
    texts = " ".join(build_page(timed, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir).texts)
    assert "Stage timings before this report: load " in texts and "report 0.50 s" not in texts


def test_the_result_keys_that_look_alike_are_told_apart_where_result_json_is_described(pipeline, prediction, tmp_path):
    """Two hashes 'of the mask' (b865... and df6d...; sha256sum matched one) and two 'slices', nowhere explained."""
    import hashlib

    import SimpleITK as sitk

    from inference.assets import ASSETS

    written = pipeline.write(prediction, tmp_path)
    r = json.loads(written["result"].read_text())
    voxels = sitk.GetArrayFromImage(sitk.ReadImage(str(written["mask"])))
    assert r["mask_sha256"] == hashlib.sha256(np.ascontiguousarray(voxels).tobytes()).hexdigest()
    for name in ("mask", "report"):
        assert r["outputs"][name]["sha256"] == hashlib.sha256(written[name].read_bytes()).hexdigest()
    assert r["tumor"]["slices"] == int(voxels.reshape(len(voxels), -1).any(axis=1).sum()) < r["backend"]["slices"]
    assert r["backend"]["slices"] == len(voxels)  # the sample is axial: its array's first axis
    readme = " ".join((ASSETS.parent / "README.md").read_text(encoding="utf-8").split())
    assert "`mask_sha256` is the SHA-256 of the mask's voxel values" in readme
    assert "`outputs.mask.sha256` and `outputs.report.sha256` are the SHA-256 of the files written" in readme
    assert "`tumor.slices` is the number of CE-T1 slices the tumor found lies on; `backend.slices` the number" in readme
