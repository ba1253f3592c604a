"""Privacy: no PS3.15 basic-profile identifier of a DICOM study reaches any output, log or audit entry, and the
audit log is append-only, hash-chained, versioned and pseudonymous.

The study's headers are full of unique marker values (every attribute below, descriptions and UIDs, files
named by SOPInstanceUID); the CLI predicts it in a batch at DEBUG logging, the GUI engine predicts and
exports it, and every byte that comes out is searched for the markers (dates also in other spellings).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import logging
import os
import stat
import threading
from pathlib import Path

import pydicom
import pytest

from inference import __version__
from inference.assets import DEFAULT_NOMOGRAM, MODELS
from inference.audit import GENESIS, AuditLog, load_key, prediction_digest
from inference.audit import main as audit_main
from inference.cli import main
from inference.pipeline import file_sha256
from tests.inference.dicom_factory import cet1_spec, t1_spec, t2_spec, write_study
from tests.inference.pdf_reader import pdf_metadata, pdf_text

STUDY_UID = "1.2.826.0.1.3680043.8.498.7719203344551234987"
FRAME_UID = "1.2.826.0.1.3680043.8.498.8820314455662345098"
# PS3.15 Table E.1-1 basic-profile attributes, each with a value found nowhere else.
IDENTIFIERS = {
    "PatientName": "Zqfamily^Zqgiven", "PatientID": "ZQPID4711", "PatientBirthDate": "19450607",
    "PatientBirthTime": "031729.418253", "OtherPatientIDs": "ZQOTHERPID88",
    "OtherPatientNames": "Zqotherfam^Zqothergiven", "PatientAddress": "Zqstreet 12, Zqtown",
    "PatientTelephoneNumbers": "ZQTEL0155501", "PatientMotherBirthName": "Zqmother^Zqmaiden",
    "MedicalRecordLocator": "ZQMRL2211", "PatientComments": "ZQCOMMENT lives alone",
    "AdditionalPatientHistory": "ZQHISTORY prior neck dissection", "PatientAge": "078Y",
    "PatientWeight": "61.2349", "PatientSize": "1.72953", "EthnicGroup": "ZQETHNIC", "Occupation": "ZQOCCUPATION",
    "AccessionNumber": "ZQACC90210", "StudyID": "ZQSTUDY77",
    "StudyDate": "20190321", "StudyTime": "141516.271828", "SeriesDate": "20190322", "SeriesTime": "151617.314159",
    "AcquisitionDate": "20190323", "AcquisitionTime": "161718.161803",
    "ContentDate": "20190324", "ContentTime": "171819.141421",
    "InstitutionName": "ZQINSTITUTION Hospital", "InstitutionAddress": "ZQINSTADDRESS Road 5",
    "InstitutionalDepartmentName": "ZQDEPARTMENT", "ReferringPhysicianName": "Zqreferring^Zqrefgiven",
    "PerformingPhysicianName": "Zqperforming^Zqperfgiven", "OperatorsName": "Zqoperator^Zqopgiven",
    "PhysiciansOfRecord": "Zqrecord^Zqrecgiven", "NameOfPhysiciansReadingStudy": "Zqreading^Zqreadgiven",
    "RequestingPhysician": "Zqrequesting^Zqreqgiven", "StationName": "ZQSTATION01",
    "DeviceSerialNumber": "ZQSERIAL31337", "StudyDescription": "ZQSTUDYDESC neck MRI",
}
# Free text the role detection must still read: a marker appended to normal wording.
DESCRIPTION_MARK, PROTOCOL_MARK, AGENT_MARK = "ZQSERDESC", "ZQPROTOCOL", "ZQAGENT"
CLINICAL_ARGS = ["--age", "61", "--sex", "F", "--ct-stage", "T2", "--cn-status", "0", "--doi-mm", "auto"]


def _date_spellings(da: str) -> list[str]:
    y, m, d = da[:4], da[4:6], da[6:]
    return [da, f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{m}/{d}/{y}", f"{d}/{m}/{y}", f"{y}/{m}/{d}"]


def _time_spellings(tm: str) -> list[str]:
    return [tm, f"{tm[:2]}:{tm[2:4]}:{tm[4:6]}"]  # bare HHMMSS is too short to search among numbers


def _markers(uids: set[str]) -> list[str]:
    found = []
    for keyword, value in IDENTIFIERS.items():
        if keyword.endswith("Date"):
            found += _date_spellings(value)
        elif keyword.endswith("Time"):
            found += _time_spellings(value)
        else:
            found += [value, *value.split("^"), value.split()[0]]
    return sorted({m for m in found + [DESCRIPTION_MARK, PROTOCOL_MARK, AGENT_MARK, *uids] if m})


def _leaks(text: str | bytes, markers: list[str]) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    low = text.lower()
    return [m for m in markers if m.lower() in low]


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, list[str]]:
    """A 3-series MR study full of identifiers, files named by SOPInstanceUID; (folder, markers)."""
    root = tmp_path_factory.mktemp("batch") / "study01"
    specs = [
        t1_spec(description=f"Ax T1 PRE {DESCRIPTION_MARK}", protocol=f"Ax T1 PRE {PROTOCOL_MARK}"),
        t2_spec(description=f"AX T2 FSE {DESCRIPTION_MARK}", protocol=f"AX T2 FSE {PROTOCOL_MARK}", n_slices=10,
                slice_gap=4.0, origin=(-24.0, -28.0, 8.0), pixel_spacing=(0.9, 0.9),
                localizers_mixed_in=1),  # ignored with a warning that names the series: it reaches every output
        cet1_spec(description=f"T1 TSE AX +C FS {DESCRIPTION_MARK}", protocol=f"T1 +C {PROTOCOL_MARK}",
                  contrast_agent=f"{AGENT_MARK} Gadovist 7.5ml"),
    ]
    write_study(root, specs, naming="sop", junk=3, study_uid=STUDY_UID, frame_uid=FRAME_UID,
                patient_name=IDENTIFIERS["PatientName"], patient_id=IDENTIFIERS["PatientID"], extra_tags=IDENTIFIERS)
    uids = set()
    for path in root.rglob("*.dcm"):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        uids |= {ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, ds.FrameOfReferenceUID}
    assert {STUDY_UID, FRAME_UID} <= uids and len(uids) == 2 + 3 + 35  # 3 series, 12 + 11 + 12 images
    markers = _markers(uids)
    raw = b"".join(p.read_bytes() for p in root.rglob("*.dcm")).decode("latin-1").lower()
    for keyword, value in IDENTIFIERS.items():  # the study really carries every identifier
        assert value.lower() in raw, keyword
    return root, markers


def _pdf_texts(pdf: Path) -> list[str]:
    """The PDF's raw bytes (document information is not compressed), its metadata and its text as a reader sees
    them (the page's content stream is compressed, so the raw bytes alone would not show a leak there)."""
    return [pdf.read_bytes().decode("latin-1"), *pdf_metadata(pdf).values(), pdf_text(pdf)]


def _nifti_texts(mask: Path) -> list[str]:
    import SimpleITK as sitk

    image = sitk.ReadImage(str(mask))
    meta = [f"{k}={image.GetMetaData(k)}" for k in image.GetMetaDataKeys()]
    return [gzip.decompress(mask.read_bytes()).decode("latin-1"), *meta]  # header incl. descrip + extensions


def test_cli_outputs_logs_and_audit_carry_no_identifier(study, tmp_path, monkeypatch, caplog, capfd):
    root, markers = study
    batch = root.parent
    bad = batch / "ZQFOLDERNAME"  # a folder named by the user: outputs may show it, the audit log never
    bad.mkdir(exist_ok=True)
    (bad / "cet1.nii.gz").write_bytes(b"not an image")
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "out"

    code = main(["--debug", "predict", str(batch), "--batch", "--out", str(out), "--backend", "litert",
                 "--threads", "2", *CLINICAL_ARGS])
    inspected = main(["inspect", str(root), "--json"])
    captured = capfd.readouterr()

    assert code == 1 and inspected == 0  # the bad folder failed, the study did not
    with open(out / "summary.csv", newline="", encoding="utf-8-sig") as fh:
        rows = {r["folder"]: r for r in csv.DictReader(fh)}
    assert rows["study01"]["status"] in ("ok", "no_tumor") and rows["ZQFOLDERNAME"]["status"] == "error"
    pid = rows["study01"]["patient_id"]
    assert pid.startswith("anon-")
    result = json.loads((out / pid / "result.json").read_text())
    assert any("series #4" in w for w in result["warnings"])  # the localizer warning names the series
    folder = out / pid
    assert {p.name for p in folder.iterdir()} == {"mask.nii.gz", "result.json", "report.pdf"}
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG logging really was captured
    places = {
        "result.json": [(folder / "result.json").read_text()],
        "summary.csv": [(out / "summary.csv").read_text()],
        "mask.nii.gz": _nifti_texts(folder / "mask.nii.gz"),
        "report.pdf": _pdf_texts(folder / "report.pdf"),
        "stdout": [captured.out], "stderr": [captured.err],
        "logging": [caplog.text, *(r.getMessage() for r in caplog.records)],
        "audit log": [p.read_text() for p in out.iterdir() if p.name.startswith(("audit", ".audit"))],
        "file names": [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")],
    }
    for where, texts in places.items():
        for text in texts:
            assert not _leaks(text, markers), (where, _leaks(text, markers))
    audit = (out / "audit.jsonl").read_text()
    assert "ZQFOLDERNAME" not in audit and str(tmp_path) not in audit and pid not in audit  # pseudonyms only
    failed, done = sorted(AuditLog(out / "audit.jsonl").read(), key=lambda e: e["status"] != "error")
    assert failed["error"] == "UnreadableFileError" and failed["patient"] == AuditLog(out / "x").pseudonym(bad.name)
    assert done["patient"] == AuditLog(out / "x").pseudonym(pid) and done["status"] == rows["study01"]["status"]
    assert pid in places["report.pdf"][-1]  # the PDF's text really was extracted


def test_cli_audit_entries_carry_versions_and_pseudonyms(study, tmp_path, monkeypatch, capsys):
    root, _ = study
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))
    out = tmp_path / "out"
    assert main(["predict", str(root), "--out", str(out), "--backend", "litert", "--threads", "2", "--no-report",
                 "--register", "never", *CLINICAL_ARGS]) == 0
    capsys.readouterr()

    log = AuditLog(out / "audit.jsonl")  # the CLI's default place; its key is in the user data folder
    (entry,) = log.read()
    result = json.loads(next(out.glob("anon-*/result.json")).read_text())
    assert entry["event"] == "predict" and entry["status"] == result["status"] and entry["prev"] == GENESIS
    assert entry["patient"] == log.pseudonym(result["patient_id"]) and "patient_id" not in entry
    assert entry["source"] == "dicom" and set(entry["input_volumes_sha256"]) == {"cet1", "t2", "t1"}
    assert entry["app"] == {"name": "otscc-edge", "version": __version__}
    manifest = json.loads((MODELS / "manifest.json").read_text())
    model_file = MODELS / "seg" / entry["model"]["file"]
    assert entry["model"]["name"] == "seg" and entry["model"]["version"] == manifest["created_utc"]
    assert entry["model"]["sha256"] == file_sha256(model_file)
    nomogram = json.loads(DEFAULT_NOMOGRAM.read_text())
    assert entry["nomogram"] == {"version": nomogram["created"], "kind": nomogram["kind"],
                                 "sha256": file_sha256(DEFAULT_NOMOGRAM)}
    assert entry["prediction_sha256"] == prediction_digest(result)
    assert entry["outputs_sha256"]["result"] == file_sha256(next(out.glob("anon-*/result.json")))
    key_file = tmp_path / "userdata" / "pseudonym.key"
    assert key_file.is_file() and not list(out.rglob("*.key"))  # the key never sits with the outputs
    if os.name == "posix":
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert log.verify().ok


def test_inspect_hides_descriptions_unless_asked(study, capsys):
    root, markers = study
    assert main(["inspect", str(root)]) == 0
    text = capsys.readouterr().out
    assert "Series found:" in text and "#7" in text and not _leaks(text, markers)
    assert main(["inspect", str(root), "--show-descriptions"]) == 0
    shown = capsys.readouterr().out
    assert DESCRIPTION_MARK in shown  # on request only: the markers are detectable where they do appear


def test_gui_engine_audit_log_file_and_report_page_are_clean(study, tmp_path):
    pytest.importorskip("PySide6")
    from desktop.app import configure_logging
    from desktop.audit import AuditLog as DesktopAuditLog
    from desktop.engine import Engine, EngineSettings
    from inference.report import build_page

    root, markers = study
    data = tmp_path / "userdata"
    levels = {name: logging.getLogger(name).level for name in ("", "radiomics", "PIL", "matplotlib")}
    log_file = configure_logging(data)  # the GUI's log file, as `otscc gui` sets it up
    try:
        engine = Engine(EngineSettings(backend="litert", threads=2), audit=DesktopAuditLog(data / "audit.jsonl"))
        jobs = {"progress": lambda stage, fraction: None, "cancelled": lambda: False}
        loaded = engine.load(root, **jobs)
        clinical = {"age": 61, "sex": "F", "ct_stage": "T2", "cn_status": 0, "doi_mm": "auto"}
        segmented = engine.segment(loaded.prepared, clinical, **jobs)
        prediction = segmented.prediction
        paths = engine.export(prediction, tmp_path / "exports", [root], **jobs)
        pipeline = engine.pipeline()
        page = build_page(prediction, nomogram=pipeline.nomogram, model_dir=pipeline.model_dir)
    finally:
        for handler in [h for h in logging.getLogger().handlers if getattr(h, "otscc_desktop", False)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    texts = page.texts
    assert any(prediction.patient_id in t for t in texts)  # the page's texts really were collected
    places = {"report page": texts, "gui log": [log_file.read_text()], "audit": [(data / "audit.jsonl").read_text()],
              "result.json": [paths["result"].read_text()], "warnings": prediction.warnings}
    for where, found in places.items():
        for text in found:
            assert not _leaks(text, markers), (where, _leaks(text, markers))
    entries = engine.audit.read()
    assert [e["event"] for e in entries] == ["predict", "export"]
    assert {e["patient"] for e in entries} == {engine.audit.pseudonym(prediction.patient_id)}
    assert prediction.patient_id not in (data / "audit.jsonl").read_text()
    assert (data / "pseudonym.key").is_file() and engine.audit.verify().ok


# -- the audit log itself ------------------------------------------------------------------------------
def _entry(i: int) -> dict:
    return {"event": "predict", "status": "ok", "patient_id": f"case{i:03d}", "mask_sha256": f"{i:064x}"}


def test_audit_log_only_appends_and_chains(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl", key_file=tmp_path / "key" / "pseudonym.key")
    for i in range(3):
        log.append(_entry(i))
    before = log.path.read_bytes()

    for i in range(3, 5):
        log.append(_entry(i))

    after = log.path.read_bytes()
    assert after.startswith(before) and len(after) > len(before)  # earlier bytes untouched
    lines = after.splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries[0]["prev"] == GENESIS
    assert all(e["prev"] == hashlib.sha256(prev).hexdigest() for e, prev in zip(entries[1:], lines, strict=False))
    assert all("patient_id" not in e and e["patient"].startswith("psn-") for e in entries)
    assert "case001" not in after.decode()
    assert entries[1]["patient"] == AuditLog(tmp_path / "other.jsonl", key_file=log.key_file).pseudonym("case001")
    assert entries[1]["patient"] != AuditLog(tmp_path / "x.jsonl", key_file=tmp_path / "k2").pseudonym("case001")
    assert log.verify().ok and log.verify().entries == 5
    assert audit_main([str(log.path)]) == 0


@pytest.mark.parametrize("damage", ["edit", "delete_middle", "drop_last", "cut_mid_line", "edit_last", "insert"])
def test_audit_log_tampering_is_detected(tmp_path, damage, capsys):
    log = AuditLog(tmp_path / "audit.jsonl", key_file=tmp_path / "pseudonym.key")
    for i in range(4):
        log.append(_entry(i))
    data = log.path.read_bytes()
    lines = data.splitlines(keepends=True)
    if damage == "edit":
        lines[1] = lines[1].replace(b'"ok"', b'"no_tumor"')
    elif damage == "delete_middle":
        del lines[2]
    elif damage == "drop_last":
        del lines[-1]
    elif damage == "edit_last":
        lines[-1] = lines[-1].replace(b'"ok"', b'"xx"')
    elif damage == "insert":
        lines.insert(2, lines[1])
    log.path.write_bytes(b"".join(lines) if damage != "cut_mid_line" else data[:-20])

    report = log.verify()

    assert not report.ok, damage
    assert audit_main([str(log.path)]) == 1 and "NOT intact" in capsys.readouterr().out
    log.append(_entry(9))  # the log stays usable; the damage stays visible
    assert not log.verify().ok


def test_concurrent_appends_keep_the_chain(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl", key_file=tmp_path / "pseudonym.key")
    threads = [threading.Thread(target=lambda n=n: [log.append(_entry(n * 10 + i)) for i in range(8)])
               for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.verify().ok and log.verify().entries == 32


def test_key_is_created_once_private_and_reused(tmp_path):
    path = tmp_path / "data" / "pseudonym.key"
    key = load_key(path)
    assert len(key) == 32 and load_key(path) == key
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("not hex")
    from inference.audit import AuditError

    with pytest.raises(AuditError, match="pseudonym key"):
        load_key(path)


def test_audit_file_hashes_see_a_same_size_rewrite_that_keeps_the_mtime(tmp_path):
    """The audit's input/output hashes: a same-size file put back with the old mtime (``cp -p``, a FAT
    stick's 2 s mtime) used to get the first file's hash from a cache."""
    from inference.audit import file_sha256_or_none

    path = tmp_path / "t2.nii"
    path.write_bytes(b"a" * 4096)
    before = path.stat()
    first = file_sha256_or_none(path)
    assert first == file_sha256(path)
    path.write_bytes(b"b" * 4096)  # same size, in place
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert file_sha256_or_none(path) == file_sha256(path) != first
    replacement = tmp_path / "new.nii"  # and a same-size file renamed over it, old mtime kept
    replacement.write_bytes(b"c" * 4096)
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, path)
    assert file_sha256_or_none(path) == file_sha256(path)
    assert file_sha256_or_none(tmp_path / "missing.nii") is None
