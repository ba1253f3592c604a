"""Patient-level prediction: pipeline stages, outputs, clinical values, no-tumor, cancel, batch, measures."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from inference.assets import SAMPLE_PATIENT
from inference.backends.base import SegBackend
from inference.cli import main
from inference.errors import CancelledError, OutputError
from inference.measure import DOI_OFFSET_MM, DOI_SLOPE, measure_mask
from inference.nomogram import ClinicalValueError, format_risk, risk_group_boundaries
from inference.pipeline import STAGES, Pipeline, load_clinical
from inference.volume import Geometry, Volume
from tests.inference.test_cli import tree_digest
from tests.inference.test_nomogram import example

CLINICAL = {"age": 62, "sex": "M", "ct_stage": "T2", "cn_status": 0, "doi_mm": 7.5}


@pytest.fixture(autouse=True)
def _user_data_dir(tmp_path, monkeypatch):
    """`otscc predict` audits with a pseudonym key from the user data folder: keep it out of the real home."""
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))


@pytest.fixture(scope="module")
def nomogram_file(tmp_path_factory) -> Path:
    """A valid nomogram on two features every extraction has (shape once, CE-T1 first order)."""
    data = example()
    data["radscore"]["features"] = ["original_shape_Sphericity", "cet1_original_firstorder_Mean"]
    data["radscore"]["means"] = [0.6, 400.0]
    data["radscore"]["sds"] = [0.1, 100.0]
    path = tmp_path_factory.mktemp("nomo") / "nomogram.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def pipeline(nomogram_file) -> Pipeline:
    return Pipeline(nomogram=nomogram_file, backend="litert", threads=2)


@pytest.fixture(scope="module")
def prepared(pipeline):
    return pipeline.prepare(SAMPLE_PATIENT, register="auto")  # registered: see tests/inference/conftest.py


@pytest.fixture(scope="module")
def prediction(pipeline, prepared):
    seen = []
    pred = pipeline.predict(prepared, dict(CLINICAL), progress=lambda stage, f: seen.append((stage, f)))
    pred.progress_seen = seen
    return pred


def test_prediction_result(prediction, pipeline):
    r = prediction.to_json()
    assert r["status"] == "ok" and 0 < r["probability"] < 1
    assert r["risk_group"] in {"low", "intermediate", "high"}
    assert set(r["points"]) == set(pipeline.nomogram.model["variables"])
    assert r["total_points"] == pytest.approx(sum(r["points"].values()), abs=0.05)
    assert set(r["features_used"]) == {"original_shape_Sphericity", "cet1_original_firstorder_Mean"}
    assert r["tumor"]["volume_ml"] > 0 and r["doi_mm_estimated"] is False
    assert r["backend"]["backend"] == "litert" and len(r["nomogram_sha256"]) == 64
    assert r["synthetic_training_data"] is True and "SYNTHETIC" in r["disclaimer"]
    assert {"preprocess", "segment", "radiomics", "nomogram"} <= set(r["timings_s"])
    import datetime

    computed = datetime.datetime.fromisoformat(r["computed_at"])  # when, with the UTC offset: unambiguous
    assert computed.tzinfo is not None and abs(computed - datetime.datetime.now(datetime.UTC)).total_seconds() < 3600
    assert prediction.to_json()["computed_at"] == r["computed_at"]  # fixed at scoring, not at each to_json()
    json.dumps(r)  # plain JSON


def test_progress_reports_every_stage_in_order(prediction):
    stages = [s for s, f in prediction.progress_seen if f == 0.0 or f == 1.0]
    firsts = list(dict.fromkeys(stages))
    assert firsts == [s for s in STAGES if s not in ("load", "register")]
    assert all(0.0 <= f <= 1.0 for _, f in prediction.progress_seen)


def test_probability_matches_nomogram(prediction, pipeline):
    again = pipeline.nomogram.score(prediction.features.features, CLINICAL)
    assert prediction.score.probability == pytest.approx(again.probability)


def test_write_outputs(prediction, pipeline, tmp_path):
    paths = pipeline.write(prediction, tmp_path)
    folder = tmp_path / prediction.patient_id
    assert {p.name for p in folder.iterdir()} == {"mask.nii.gz", "result.json", "report.pdf"}
    mask = sitk.ReadImage(str(paths["mask"]))
    reference = sitk.ReadImage(str(SAMPLE_PATIENT / "cet1.nii.gz"))
    assert mask.GetSize() == reference.GetSize()
    assert np.allclose(mask.GetSpacing(), reference.GetSpacing())
    assert np.allclose(mask.GetOrigin(), reference.GetOrigin(), atol=1e-4)
    assert np.allclose(mask.GetDirection(), reference.GetDirection(), atol=1e-6)
    assert sitk.GetArrayFromImage(mask).sum() == prediction.mask.array.sum()
    assert paths["report"].read_bytes()[:5] == b"%PDF-"
    assert json.loads(paths["result"].read_text())["probability"] == pytest.approx(prediction.score.probability,
                                                                                   abs=1e-4)
    pipeline.write(prediction, tmp_path, report=False)  # over the first set: its report must go with it
    assert {p.name for p in folder.iterdir()} == {"mask.nii.gz", "result.json"}
    assert "report" not in json.loads(paths["result"].read_text())["outputs"]


def test_doi_auto_uses_the_estimate_and_says_so(pipeline, prediction):
    again = pipeline.rescore(prediction, clinical={**CLINICAL, "doi_mm": "auto"})
    assert again.doi_estimated and again.clinical["doi_mm"] == round(prediction.measures.doi_estimate_mm, 1)
    assert any("ESTIMATED" in w for w in again.warnings)
    assert again.edited is False
    assert again.features is prediction.features  # a clinical change reuses the mask's features


def test_rescore_after_mask_edit(pipeline, prediction):
    mask = prediction.mask.array.copy()
    z = int(np.argmax(mask.sum(axis=(1, 2))))
    ys = np.nonzero(mask[z])[0]
    mask[z, : int(np.median(ys))] = 0  # erase the front half of the largest slice
    edited = pipeline.rescore(prediction, mask=prediction.mask.with_array(mask))
    assert edited.edited and edited.to_json()["mask_edited"] is True
    assert edited.measures.volume_ml < prediction.measures.volume_ml
    assert edited.features.features != prediction.features.features
    # the edit undone: the automatic mask again, and the result says so (it stayed "mask_edited: true")
    undone = pipeline.rescore(edited, mask=prediction.mask.with_array(prediction.mask.array.copy()),
                              automatic=prediction.mask)
    assert not undone.edited and undone.to_json()["mask_edited"] is False
    assert pipeline.rescore(undone, mask=edited.mask, automatic=prediction.mask).edited


@pytest.mark.parametrize("drop", ["age", "doi_mm", "cn_status"])
def test_missing_clinical_value_is_named(pipeline, prediction, drop):
    clinical = {k: v for k, v in CLINICAL.items() if k != drop}
    with pytest.raises(ClinicalValueError, match=drop):
        pipeline.score(prediction.prepared, prediction.mask, clinical)


class ZeroBackend(SegBackend):
    name = "zero"

    def predict(self, batch):
        return np.zeros(batch.shape[:3], np.float32)


def test_no_tumor_gives_no_risk(pipeline, prepared, monkeypatch):
    monkeypatch.setattr(pipeline, "backend", ZeroBackend())
    pred = pipeline.predict(prepared, dict(CLINICAL))
    r = pred.to_json()
    assert r["status"] == "no_tumor"
    assert r["probability"] is None and r["risk_group"] is None and r["points"] is None
    assert pred.features is None and any("no tumor" in w for w in r["warnings"])
    from inference.report import build_page  # the report of a no-tumor result: no risk, no patient dots

    page = build_page(pred, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir)
    assert "No tumor found by the model: no radiomics and no risk are reported." in page.texts
    assert any(t.startswith("Warning: no tumor was found") for t in page.texts)
    assert not any(" re " not in op and op.endswith(" c f") for op in page.ops)  # no patient dot drawn


def test_a_tumor_wider_than_a_tongue_or_cut_by_the_scan_is_flagged(pipeline, prediction):
    """A brain MR given as the three sequences got a confident 74 % for a 168 mm 'tumor' without a word."""
    band = np.zeros_like(prediction.mask.array)
    band[0:3, 126:129, 10:240] = 1  # 230 voxels of 0.78 mm in-plane: ~180 mm across; from the first slice on
    wide = pipeline.score(prediction.prepared, prediction.mask.with_array(band), dict(CLINICAL))
    assert any(w.startswith("the tumor found is 179 mm across") for w in wide.warnings), wide.warnings
    assert any(w.startswith("the tumor found reaches the edge of the CE-T1 volume") for w in wide.warnings)
    assert not any("mm across" in w or "reaches the" in w for w in prediction.warnings)  # the sample's tumor
    side = np.zeros_like(band)
    side[8:11, 120:130, 0:5] = 1  # at an in-plane border: as cut as at an end slice
    assert any("reaches the edge" in w for w in pipeline.score(prediction.prepared, prediction.mask.with_array(side),
                                                               dict(CLINICAL)).warnings)


def test_clinical_json_with_a_byte_order_mark_and_capitalised_keys(tmp_path):
    (tmp_path / "clinical.json").write_bytes(b"\xef\xbb\xbf" + json.dumps({"Age": 61, " SEX ": "F"}).encode())
    assert load_clinical(tmp_path) == {"age": 61, "sex": "F"}


def test_report_page_says_what_the_result_says(pipeline, prediction):
    from inference.pipeline import DISCLAIMER
    from inference.report import build_page

    page = build_page(prediction, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir)
    r = prediction.to_json()
    assert f"otscc-edge report: patient {r['patient_id']}" in page.texts
    near = f", BORDERLINE: near {r['borderline']['boundary']:.0%}" if r["borderline"] else ""
    shown = format_risk(r["probability"], risk_group_boundaries(r["risk_groups"]))
    risk = f"Risk of cervical lymph-node metastasis: {shown} ({r['risk_group']} risk{near})"
    assert risk in page.texts
    assert " ".join(t for t in page.texts if len(t) > 3 and t in DISCLAIMER) == DISCLAIMER  # all of it, wrapped
    assert sum(op.endswith(" c f") for op in page.ops) == len(pipeline.nomogram.axes()) + 2  # patient dots
    assert len(page.images) == 4 and all(im.dtype == np.uint8 for im in page.images)
    outline_ops = [op for op in page.ops if "1.000 0.188 0.188 RG" in op]  # the red mask outline
    assert outline_ops  # the sample's tumor is on its largest slice
    from dataclasses import replace  # warning lines beyond the room under the risk are counted, never dropped silently

    wordy = replace(prediction, warnings=[f"warning {i}: " + "a long explanation " * 30 for i in range(4)])
    texts = build_page(wordy, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir).texts
    (more,) = [t for t in texts if t.startswith("... ")]
    assert re.fullmatch(r"\.\.\. (1 more warning|\d+ more warnings): see result\.json", more), more
    # a risk beyond the nomogram's fitted range: the warning stands under the risk, in full, not in the footer
    young = pipeline.rescore(prediction, clinical={**CLINICAL, "age": 5})
    (warning,) = [w for w in young.warnings if "outside the range" in w]
    texts = build_page(young, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir).texts
    start = next(i for i, t in enumerate(texts) if t.startswith("Risk of cervical lymph-node metastasis: "))
    body = " ".join(texts[start + 1:])
    assert f"Warning: {warning}" in body and body.count("outside the range") == 1


def test_a_risk_near_a_group_boundary_is_flagged_everywhere(pipeline, prediction, monkeypatch, capsys):
    from inference.commands.predict import _print_result
    from inference.nomogram import Nomogram
    from inference.report import build_page

    p = prediction.score.probability
    groups = [{"name": "low", "below": p + 0.01}, {"name": "intermediate", "below": min(p + 0.4, 0.99)},
              {"name": "high", "below": 1.01}]
    monkeypatch.setattr(pipeline, "nomogram", Nomogram({**pipeline.nomogram.data, "risk_groups": groups}))
    near = pipeline.rescore(prediction, clinical=dict(CLINICAL))
    r = near.to_json()
    assert r["probability"] == pytest.approx(p, abs=1e-4) and r["risk_group"] == "low"
    assert r["borderline"] == {"boundary": p + 0.01, "margin": 0.06, "groups": ("low", "intermediate")}
    assert sum(w.startswith("BORDERLINE") for w in r["warnings"]) == 1
    assert json.loads(json.dumps(r))["borderline"]["groups"] == ["low", "intermediate"]
    page = build_page(near, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir)
    assert any(t.endswith(f"(low risk, BORDERLINE: near {p + 0.01:.0%})") for t in page.texts)
    _print_result(near, {}, 1.0, Path("audit.jsonl"))
    assert f"(low risk; BORDERLINE: near the {p + 0.01:.0%} low/intermediate boundary)" in capsys.readouterr().out
    # far from every boundary: no flag, no warning
    far = [{"name": "low", "below": p + 0.2}, {"name": "intermediate", "below": 0.995}, {"name": "high", "below": 1.01}]
    monkeypatch.setattr(pipeline, "nomogram", Nomogram({**pipeline.nomogram.data, "risk_groups": far}))
    clear = pipeline.rescore(prediction, clinical=dict(CLINICAL)).to_json()
    assert clear["borderline"] is None and not any(w.startswith("BORDERLINE") for w in clear["warnings"])


def test_cancel_stops_before_anything_is_written(pipeline, prepared):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(CancelledError):
        pipeline.predict(prepared, dict(CLINICAL), cancelled=cancelled)


def test_load_clinical_precedence(tmp_path):
    folder = tmp_path / "P1"
    folder.mkdir()
    (folder / "clinical.json").write_text(json.dumps({"age": 50, "sex": "F", "doi_mm": None, "lnm": 1}))
    table = tmp_path / "clin.csv"
    table.write_text("patient_id,age,ct_stage,doi_mm\nP1,55,T3,\nP2,70,T1,3\n")
    assert load_clinical(folder) == {"age": 50, "sex": "F"}
    assert load_clinical(folder, table) == {"age": "55", "sex": "F", "ct_stage": "T3"}
    (folder / "clinical.json").write_text("{not json")
    with pytest.raises(ClinicalValueError, match="clinical.json"):
        load_clinical(folder)


def box_mask(shape_zyx, spacing_xyz, box_zyx) -> Volume:
    array = np.zeros(shape_zyx, np.uint8)
    array[box_zyx] = 1
    size = tuple(int(s) for s in shape_zyx[::-1])
    return Volume(array, Geometry(size, tuple(spacing_xyz), (0.0, 0.0, 0.0)))


def test_measures_of_a_box():
    # 10 (x) by 20 (y) voxels of 1 mm on 4 slices of 3 mm: the thinnest extent is 10 mm along x
    mask = box_mask(shape_zyx=(12, 40, 40), spacing_xyz=(1.0, 1.0, 3.0), box_zyx=(slice(4, 8), slice(10, 30),
                                                                                     slice(15, 25)))
    m = measure_mask(mask)
    assert m.volume_ml == pytest.approx(4 * 20 * 10 * 3 / 1000)
    assert m.thickness_mm == pytest.approx(10.0, abs=0.01)
    assert m.doi_estimate_mm == pytest.approx(DOI_SLOPE * 10.0 + DOI_OFFSET_MM)
    diagonal = np.sqrt(9 ** 2 + 19 ** 2 + 9 ** 2) + 1.0  # centre-to-centre plus one in-plane voxel
    assert m.largest_diameter_mm == pytest.approx(diagonal, rel=1e-6)
    assert m.slices == 4
    assert measure_mask(mask.with_array(np.zeros_like(mask.array))).volume_ml == 0


# -- command line ---------------------------------------------------------------------------------------
def test_predict_cli_single_patient(nomogram_file, tmp_path, capsys):
    before = tree_digest(SAMPLE_PATIENT)
    out = tmp_path / "out"
    code = main(["predict", str(SAMPLE_PATIENT), "--out", str(out), "--nomogram", str(nomogram_file),
                 "--register", "never", "--doi-mm", "auto", "--age", "71", "--no-report", "--backend", "litert"])
    text = capsys.readouterr().out
    assert code == 0
    assert "risk of cervical lymph-node metastasis" in text and "ESTIMATED" in text and "stage timings" in text
    result = json.loads((out / "sample_patient" / "result.json").read_text())
    assert result["clinical"]["age"] == 71.0  # command line overrides clinical.json (68)
    assert result["clinical"]["sex"] == "M"  # from clinical.json
    assert result["doi_mm_estimated"] is True
    assert tree_digest(SAMPLE_PATIENT) == before  # nothing written into the input


def test_predict_cli_refuses_output_inside_input(nomogram_file, tmp_path, capsys):
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    code = main(["predict", str(patient), "--out", str(patient / "results"), "--nomogram", str(nomogram_file)])
    assert code == OutputError.exit_code
    assert "inside the input folder" in capsys.readouterr().err
    assert not (patient / "results").exists()


def test_predict_cli_refuses_the_folder_that_holds_the_patient(nomogram_file, tmp_path, capsys):
    """--out set to the patient folder's parent: out/<patient_id> *is* the patient folder (its reference mask.nii.gz
    used to be replaced by the predicted one)."""
    patient = tmp_path / "sample_patient"
    shutil.copytree(SAMPLE_PATIENT, patient)
    before = tree_digest(patient)
    code = main(["predict", str(patient), "--out", str(tmp_path), "--nomogram", str(nomogram_file),
                 "--register", "never", "--no-report", "--backend", "litert"])
    assert code == OutputError.exit_code
    assert f"would be written to {patient}, which is the input folder" in capsys.readouterr().err
    assert tree_digest(patient) == before


def test_predict_cli_keeps_another_patients_results_of_the_same_folder_name(nomogram_file, tmp_path, capsys):
    first, second = tmp_path / "a" / "P1", tmp_path / "b" / "P1"
    shutil.copytree(SAMPLE_PATIENT, first)
    shutil.copytree(SAMPLE_PATIENT, second)
    image = sitk.ReadImage(str(second / "cet1.nii.gz"))
    sitk.WriteImage(sitk.Cast(image, sitk.sitkFloat32) * 1.02, str(second / "cet1.nii.gz"))  # other images
    out = tmp_path / "out"

    def predict(patient: Path, *extra: str) -> int:
        return main(["predict", str(patient), "--out", str(out), "--nomogram", str(nomogram_file), "--register",
                     "never", "--no-report", "--backend", "litert", *extra])

    assert predict(first) == 0
    kept = tree_digest(out / "P1")
    capsys.readouterr()
    assert predict(second) == OutputError.exit_code
    err = capsys.readouterr().err
    assert "already holds results computed from OTHER images" in err and "--overwrite" in err
    assert tree_digest(out / "P1") == kept
    assert predict(first) == 0  # the same images again: a re-run replaces its own results
    assert predict(second, "--overwrite") == 0
    assert tree_digest(out / "P1") != kept
    # a mask edited by hand (exported from the GUI) is not replaced by a batch re-run's automatic mask
    result = json.loads((out / "P1" / "result.json").read_text())
    (out / "P1" / "result.json").write_text(json.dumps({**result, "mask_edited": True}))
    edited = tree_digest(out / "P1")
    capsys.readouterr()
    assert predict(second) == OutputError.exit_code and "mask EDITED by the user" in capsys.readouterr().err
    assert tree_digest(out / "P1") == edited


def test_predict_cli_refuses_before_the_slow_stages(nomogram_file, tmp_path, capsys, monkeypatch):
    """Results it must not replace and a missing clinical value are refused as soon as the images are loaded: a
    batch of refused patients no longer runs registration, segmentation and radiomics for each first."""
    import inference.registration

    patient, out = tmp_path / "P1", tmp_path / "out"
    shutil.copytree(SAMPLE_PATIENT, patient)
    (out / "P1").mkdir(parents=True)
    (out / "P1" / "result.json").write_text(json.dumps({"input_sha256": {"cet1": "0" * 64}, "probability": 0.5}))
    kept = tree_digest(out / "P1")

    def slow_stage(*args, **kwargs):
        raise AssertionError("a slow stage ran before the refusal")

    monkeypatch.setattr(inference.registration, "coregister", slow_stage)
    monkeypatch.setattr(Pipeline, "segment", slow_stage)

    def predict(*extra: str) -> int:
        return main(["predict", str(patient), "--out", str(out), "--nomogram", str(nomogram_file), "--no-report",
                     "--backend", "litert", *extra])

    assert predict() == OutputError.exit_code
    assert "already holds results computed from OTHER images" in capsys.readouterr().err
    (patient / "clinical.json").unlink()
    assert predict("--overwrite") == ClinicalValueError.exit_code
    assert "missing clinical value(s): age, sex" in capsys.readouterr().err
    assert tree_digest(out / "P1") == kept


def test_predict_cli_batch_skips_a_bad_patient(nomogram_file, tmp_path, capsys):
    batch = tmp_path / "batch"
    shutil.copytree(SAMPLE_PATIENT, batch / "good")
    bad = batch / "bad"
    bad.mkdir()
    for name in ("cet1", "t2", "t1"):
        (bad / f"{name}.nii.gz").write_bytes(b"not an image at all")
    nodata = batch / "noclinical"
    shutil.copytree(SAMPLE_PATIENT, nodata)
    (nodata / "clinical.json").unlink()
    (nodata / "mask.nii.gz").unlink()
    alias = batch / "alias"  # files named as the loader reads them, no clinical.json: was not taken as a patient
    alias.mkdir()
    for role, name in (("cet1", "t1ce"), ("t2", "T2w"), ("t1", "T1w")):
        shutil.copy(SAMPLE_PATIENT / f"{role}.nii.gz", alias / f"{name}.nii.gz")
    (batch / "notes").mkdir()  # not a patient: listed as skipped, not passed over in silence
    (batch / "notes" / "readme.txt").write_text("x")
    from inference.assets import ASSETS

    shutil.copytree(ASSETS / "sample_patient_dicom", batch / "dicom", ignore=shutil.ignore_patterns("*.json"))
    out = tmp_path / "out"
    code = main(["predict", str(batch), "--out", str(out), "--nomogram", str(nomogram_file), "--register", "never",
                 "--no-report", "--backend", "litert"])
    assert code == 1
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        rows = {r["folder"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"good", "bad", "noclinical", "alias", "notes", "dicom"}
    assert rows["notes"]["status"] == "skipped" and "a DICOM patient needs a clinical.json" in rows["notes"]["error"]
    assert rows["notes"]["error"].endswith("or run with --batch")  # nothing in it looks like images
    assert rows["dicom"]["status"] == "skipped" and rows["dicom"]["error"].endswith("; it holds image files")
    assert rows["alias"]["status"] == "error" and "missing clinical value" in rows["alias"]["error"]
    assert rows["good"]["status"] == "ok" and 0 < float(rows["good"]["probability"]) < 1
    assert rows["bad"]["status"] == "error" and rows["bad"]["error"]
    assert rows["noclinical"]["status"] == "error" and "missing clinical value" in rows["noclinical"]["error"]
    assert (out / "good" / "result.json").exists() and not (out / "bad").exists()
    near = json.loads((out / "good" / "result.json").read_text())["borderline"]
    assert rows["good"]["borderline"] == (f"{near['boundary']:.0%} {'/'.join(near['groups'])}" if near else "")
    said = capsys.readouterr()
    assert "4 patients done, 3 failed, 2 folders skipped" in said.out and "skipped: notes:" in said.err


def test_holds_images_passes_over_macos_archive_metadata(tmp_path):
    from inference.commands.predict import holds_images

    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "._cet1.nii.gz").write_bytes(b"x")
    (tmp_path / "._t2.nii.gz").write_bytes(b"x")
    assert not holds_images(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "IM0001").write_bytes(b"\0" * 128 + b"DICM")  # DICOM by its preamble, no suffix
    assert holds_images(tmp_path)


def test_dicom_patient_gets_a_pseudonym(pipeline):
    from inference.assets import ASSETS

    prepared = pipeline.prepare(ASSETS / "sample_patient_dicom", register="never")
    pid = prepared.patient.patient_id
    assert pid.startswith("anon-")
    assert Path(pid).name == pid  # safe as a folder name
