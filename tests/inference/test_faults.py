"""Faults (issue 9, item 2): a kill mid-write, a full disk, a read-only folder (a model that crashes its runtime:
test_isolation.py).

Run with ``OTSCC_FAULTS_JSON=docs/reliability/faults.json`` to record the recovery times (see ``record_fault``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from inference.assets import SAMPLE_PATIENT
from inference.atomic import atomic_path, is_temp, write_json
from inference.errors import OutputError
from inference.pipeline import Pipeline
from inference.volume import Geometry, Volume
from tests.inference.test_nomogram import example

ROOT = Path(__file__).resolve().parents[2]
CRASH_MODEL = ROOT / "tests" / "data" / "crash_no_subgraphs.tflite"
FAULTS_JSON_ENV = "OTSCC_FAULTS_JSON"
COMMAND = (f"{FAULTS_JSON_ENV}=docs/reliability/faults.json .venv/bin/pytest tests/inference/test_faults.py "
           "tests/inference/test_isolation.py "
           "tests/desktop/test_faults.py")
CLINICAL = {"age": 62, "sex": "M", "ct_stage": "T2", "cn_status": 0, "doi_mm": 7.5}
CLI_CLINICAL = ["--age", "62", "--sex", "M", "--ct-stage", "T2", "--cn-status", "0", "--doi-mm", "7.5"]
OUTPUTS = ("mask.nii.gz", "report.pdf", "result.json")
NOTES = [
    "kill_mid_write: after every kill each output is whole (the previous or the new version); a set can only be "
    "mixed when a kill or power cut falls between the three renames (microseconds), and result.json, renamed "
    "last, names the mask/report SHA-256, so a mixed set is detectable; next_write_s is a whole Pipeline.write "
    "of the set, cleanup of the killed writer's temporaries included",
    "real_full / real_read_only: Pipeline.write to the OutputWriteError on a real 4 MB tmpfs (filled with a file, "
    "then remounted read-only) in a mount namespace; injected_*: the same with the OSError injected at one step",
    "crashing model: the probe is a load-time check on a synthetic slice; a runtime that crashes only on "
    "particular patient data during inference is not caught by it",
    "gui_crashing_model: the patient opens (images need no model); time_to_report_s = Segment -> error shown "
    "(the window never goes away, the patient stays open); good_model_segmented_after_s = switch to a good "
    "model -> same patient segmented (its probe, load, segmentation, radiomics and nomogram included)",
    "probe_cost_shipped_model: child_s = the child process (start, imports, load, one-slice self-check); "
    "cached_s = a repeat in the same process (SHA-256 of the model files only)",
]
posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and mount namespaces are POSIX-only")


def record_fault(key: str, values: dict) -> None:
    """Merge ``values`` under ``faults[key]`` of the JSON named by $OTSCC_FAULTS_JSON (nothing when unset)."""
    target = os.environ.get(FAULTS_JSON_ENV)
    if not target:
        return
    path = Path(target)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data["command"], data["notes"] = COMMAND, NOTES
    data["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    data.setdefault("faults", {})[key] = values
    write_json(path, data)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if is_temp(p))


def cli(args: list[str]) -> tuple[int, str]:
    from inference.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


def outcome_lines(err: str) -> list[str]:
    """The batch's per-patient outcome lines (progress redraws the line with carriage returns)."""
    return [line.split("\r")[-1] for line in err.split("\n") if line.split("\r")[-1].startswith("[")]


def nomogram_file(folder: Path) -> Path:
    data = example()
    data["radscore"].update(features=["original_shape_Sphericity", "cet1_original_firstorder_Mean"],
                            means=[0.6, 400.0], sds=[0.1, 100.0])
    path = folder / "nomogram.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(autouse=True)
def _user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))  # the CLI's audit key stays here


@pytest.fixture(scope="module")
def nomogram(tmp_path_factory) -> Path:
    return nomogram_file(tmp_path_factory.mktemp("nomo"))


@pytest.fixture(scope="module")
def pipeline(nomogram) -> Pipeline:
    return Pipeline(nomogram=nomogram, backend="litert", threads=2)


@pytest.fixture(scope="module")
def prediction(pipeline):
    return pipeline.predict(pipeline.prepare(SAMPLE_PATIENT, register="never"), dict(CLINICAL))


# -- 1. kill -9 in the middle of writing --------------------------------------------------------------
VERSIONS, REPORT_BYTES, KILLS, SEED = 3, 6 << 20, 20, 9
STUB_PIPELINE = SimpleNamespace(nomogram=None, model_dir=Path("stub"))


def stand_in(version: int) -> SimpleNamespace:
    """A prediction-sized output set: a 48x256x256 mask (about 0.5 MB as .nii.gz) and a 6 MB 'report'."""
    rng = np.random.default_rng(version)
    mask = Volume((rng.random((48, 256, 256)) < 0.3).astype(np.uint8), Geometry((256, 256, 48), (0.8, 0.8, 3.0),
                                                                                (0.0, 0.0, 0.0)))
    images = {"input_sha256": {"cet1": "P001 CE-T1"}}  # one patient's images, computed again: replaced each time
    return SimpleNamespace(patient_id="P001", mask=mask, timings={}, report=rng.bytes(REPORT_BYTES), provenance=images,
                           to_json=lambda: {"status": "ok", "version": version, **images})


def fake_write_report(prediction, path, *, nomogram, model_dir) -> Path:
    """Writes like ``inference.report.write_report`` (atomic_path onto the path it is given), 1 MB at a time."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        for start in range(0, len(prediction.report), 1 << 20):
            handle.write(prediction.report[start:start + (1 << 20)])
    return Path(path)


def writer_child(out: str, first: int) -> None:
    """Child of the kill test: writes versions first, first+1, ... through the real ``Pipeline.write``."""
    import inference.report

    inference.report.write_report = fake_write_report
    sets = [stand_in(v) for v in range(VERSIONS)]
    print("READY", flush=True)
    for n in range(first, first + 10_000):
        Pipeline.write(STUB_PIPELINE, sets[n % VERSIONS], out)


def version_of(folder: Path, refs: dict[int, dict[str, bytes]]) -> dict[str, int]:
    """Which complete version each output is (KeyError: a file that is no complete version: partial)."""
    found = {}
    for name in OUTPUTS:
        data = (folder / name).read_bytes()
        found[name] = next(v for v, files in refs.items() if files[name] == data)
    return found


@posix_only
@pytest.mark.slow
def test_kill_mid_write_leaves_whole_files_and_the_next_write_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr("inference.report.write_report", fake_write_report)
    sets = [stand_in(v) for v in range(VERSIONS)]
    refs = {}
    for v, pred in enumerate(sets):
        Pipeline.write(STUB_PIPELINE, pred, tmp_path / f"ref{v}")
        refs[v] = {name: (tmp_path / f"ref{v}" / "P001" / name).read_bytes() for name in OUTPUTS}
    out, rng = tmp_path / "out", random.Random(SEED)
    folder = out / "P001"
    Pipeline.write(STUB_PIPELINE, sets[0], out)
    current, left_temps, mixed, recover_s = 0, 0, 0, []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = ("import sys; from tests.inference.test_faults import writer_child; "
            "writer_child(sys.argv[1], int(sys.argv[2]))")
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", code, str(out), str(current + 1)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert child.stdout.readline().strip() == b"READY"
        time.sleep(rng.uniform(0.0, 0.8))
        child.send_signal(signal.SIGKILL)
        child.wait()
        seen = version_of(folder, refs)  # every output present and byte-identical to one complete version
        r = seen["result.json"]
        new = (r + 1) % VERSIONS  # the only set that can have been in flight past result.json's commit
        assert seen["mask.nii.gz"] in (r, new) and seen["report.pdf"] in (r, new), seen
        assert seen["report.pdf"] == r or seen["mask.nii.gz"] == new, seen  # renamed in order: mask first
        mixed += len(set(seen.values())) > 1
        left_temps += bool(temporaries(folder))
        current = (r + 1) % VERSIONS
        start = time.perf_counter()
        Pipeline.write(STUB_PIPELINE, sets[current], out)  # the next write: succeeds and removes the leftovers
        recover_s.append(time.perf_counter() - start)
        assert temporaries(folder) == [] and version_of(folder, refs) == dict.fromkeys(OUTPUTS, current)
        result = json.loads((folder / "result.json").read_text())
        assert result["outputs"]["mask"]["sha256"] == sha(folder / "mask.nii.gz")
    assert left_temps >= KILLS // 4  # the kills really landed mid-write (temporaries were left behind)
    record_fault("kill_mid_write", {
        "kills": KILLS, "seed": SEED, "kills_that_left_temporaries": left_temps, "mixed_sets_seen": mixed,
        "set": "mask.nii.gz ~0.5 MB + report 6 MB + result.json through Pipeline.write",
        "next_write_s_median": round(float(np.median(recover_s)), 3), "next_write_s_max": round(max(recover_s), 3),
        "recovery": "no repair needed: outputs are whole; the next write removes the killed writer's temporaries"})


def test_commit_window_is_short(tmp_path):
    """The renames of a set (0.5 MB, 6 MB and a small file over their previous versions) are the only moment a
    kill can leave a mixed set; the extra links to the previous files keep block freeing out of it."""
    from inference.atomic import staged_files

    windows = []
    for round_ in range(10):
        with staged_files(tmp_path) as stage:
            for name, size in (("mask.nii.gz", 1 << 19), ("report.pdf", 6 << 20), ("result.json", 2048)):
                stage.path(name).write_bytes(bytes([round_]) * size)
            stage.commit()
        windows.append(stage.window_s)
    assert temporaries(tmp_path) == [] and max(windows[1:]) < 0.05
    record_fault("commit_window", {"median_ms": round(1000 * float(np.median(windows[1:])), 3),
                                   "max_ms": round(1000 * max(windows[1:]), 3),
                                   "what": "three renames over the previous set (0.5 MB, 6 MB, 2 kB), 9 rounds"})


# -- 2. errors while staging, injected (portable) ------------------------------------------------------
def _fail(code: int, what: str):
    def raiser(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(args[1]) if what == "named" and len(args) > 1 else None)
    return raiser


@pytest.mark.parametrize(("point", "code", "words"), [
    ("mask", errno.ENOSPC, "disk is full"), ("report", errno.ENOSPC, "disk is full"),
    ("result", errno.EROFS, "read-only"), ("mask", errno.EACCES, "permission denied"),
    ("fsync", errno.EIO, "Input/output error")])
def test_failure_while_staging_keeps_the_previous_set(pipeline, prediction, tmp_path, monkeypatch, point, code,
                                                      words):
    from inference.atomic import StagedFiles

    pipeline.write(prediction, tmp_path)
    folder = tmp_path / prediction.patient_id
    before = {name: sha(folder / name) for name in OUTPUTS}
    if point == "mask":
        monkeypatch.setattr("inference.atomic.write_image_verified", _fail(code, "named"))
    elif point == "report":
        def half_report(pred, path, **kwargs):
            Path(path).write_bytes(b"%PDF-1.4 half")
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr("inference.report.write_report", half_report)
    elif point == "result":
        real = StagedFiles.path
        monkeypatch.setattr(StagedFiles, "path", lambda self, name: (_fail(code, "")() if name == "result.json"
                                                                     else real(self, name)))
    else:
        monkeypatch.setattr("inference.atomic.fsync_file", _fail(code, ""))
    start = time.perf_counter()
    with pytest.raises(OutputError) as info:
        pipeline.write(prediction, tmp_path)
    seconds = time.perf_counter() - start
    text = str(info.value)
    assert words in text and str(folder) in text and "left unchanged" in text and "\n" not in text
    assert {name: sha(folder / name) for name in OUTPUTS} == before and temporaries(tmp_path) == []
    record_fault(f"injected_{errno.errorcode[code]}_at_{point}", {"time_to_error_s": round(seconds, 3)})


def test_cli_disk_full_is_one_line_and_a_batch_goes_on(nomogram, tmp_path, monkeypatch):
    batch = tmp_path / "batch"
    for name in ("A", "B"):
        shutil.copytree(SAMPLE_PATIENT, batch / name)
    out = tmp_path / "out"
    args = ["--out", str(out), "--nomogram", str(nomogram), "--register", "never", "--backend", "litert",
            "--threads", "2", *CLI_CLINICAL]
    assert cli(["predict", str(batch / "A"), *args])[0] == 0
    before = {name: sha(out / "A" / name) for name in OUTPUTS}
    monkeypatch.setattr("inference.report.write_report", _fail(errno.ENOSPC, ""))
    code, err = cli(["predict", str(batch / "A"), "--json", *args])
    assert code == OutputError.exit_code and len(err.strip().splitlines()) == 1
    assert err.startswith("otscc predict: error: cannot write outputs to") and "disk is full" in err
    code, err = cli(["predict", str(batch), "--batch", *args])
    assert code == 1 and "Traceback" not in err
    lines = outcome_lines(err)
    assert [line.split(":")[0] for line in lines] == ["[1/2] A", "[2/2] B"]
    assert all("error - cannot write outputs" in line and "disk is full" in line for line in lines)
    assert "error" in (out / "summary.csv").read_text()
    assert {name: sha(out / "A" / name) for name in OUTPUTS} == before and temporaries(out) == []


# -- 3. a real full disk and a real read-only folder (mount namespace) -----------------------------------
def namespace_prefix(probe_dir: Path) -> list[str] | None:
    """``unshare -m`` (root) or ``unshare -r -m`` (user namespaces), whichever can mount a tmpfs here."""
    if shutil.which("unshare") is None:
        return None
    probe_dir.mkdir(exist_ok=True)
    for prefix in (["unshare", "-m"], ["unshare", "-r", "-m"]):
        done = subprocess.run([*prefix, "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{probe_dir}' && "
                               f"mount -o remount,ro '{probe_dir}'"], capture_output=True)
        if done.returncode == 0:
            return prefix
    return None


def fill_disk(folder: Path) -> None:
    fd = os.open(folder / "filler.bin", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, bytes(size))
    finally:
        os.close(fd)


def namespace_child(mnt: str, nomo: str, batch: str, report_path: str) -> None:
    """Runs inside the mount namespace, ``mnt`` a fresh 4 MB tmpfs: full disk first, then read-only."""
    out, facts = Path(mnt), {}
    pipeline = Pipeline(nomogram=nomo, backend="litert", threads=2)
    prediction = pipeline.predict(pipeline.prepare(SAMPLE_PATIENT, register="never"), dict(CLINICAL))
    pipeline.write(prediction, out)
    folder = out / prediction.patient_id
    before = {name: sha(folder / name) for name in OUTPUTS}
    changed = pipeline.rescore(prediction, clinical={**CLINICAL, "age": 80})
    args = ["--out", mnt, "--nomogram", nomo, "--register", "never", "--backend", "litert", "--threads", "2",
            *CLI_CLINICAL]
    for fault in ("full", "read_only"):
        if fault == "full":
            fill_disk(out)
        else:
            (out / "filler.bin").unlink()
            subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        start = time.perf_counter()
        try:
            pipeline.write(changed, out)
            facts[fault] = {"error": None}
        except OutputError as exc:
            facts[fault] = {"error": str(exc), "type": type(exc).__name__, "errno": getattr(exc, "errno", None),
                            "time_to_error_s": round(time.perf_counter() - start, 3)}
        facts[fault]["unchanged"] = {name: sha(folder / name) for name in OUTPUTS} == before
        facts[fault]["temporaries"] = temporaries(out)
        facts[fault]["cli"] = cli(["predict", str(SAMPLE_PATIENT), "--json", *args])
        facts[fault]["batch"] = cli(["predict", batch, "--batch", *args])
    Path(report_path).write_text(json.dumps(facts))


@pytest.fixture(scope="module")
def real_faults(tmp_path_factory, nomogram) -> dict:
    root = tmp_path_factory.mktemp("ns")
    prefix = namespace_prefix(root / "probe")
    if prefix is None:
        pytest.skip("no mount namespace here (unshare -m needs root or user namespaces): the real full-disk and "
                    "read-only checks need one; the injected variants above still ran")
    batch, mnt, report = root / "batch", root / "mnt", root / "facts.json"
    for name in ("A", "B"):
        shutil.copytree(SAMPLE_PATIENT, batch / name)
    mnt.mkdir()
    code = ("import sys; from tests.inference.test_faults import namespace_child; namespace_child(*sys.argv[1:])")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OTSCC_EDGE_DATA_DIR": str(root / "data")}
    mount = 'mount -t tmpfs -o size=4m tmpfs "$1" && shift && exec "$@"'
    done = subprocess.run([*prefix, "sh", "-c", mount, "sh", str(mnt), sys.executable, "-c", code, str(mnt),
                           str(nomogram), str(batch), str(report)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(report.read_text())


@posix_only
@pytest.mark.slow
@pytest.mark.parametrize(("fault", "words", "code"), [("full", "disk is full", errno.ENOSPC),
                                                      ("read_only", "read-only file system", errno.EROFS)])
def test_real_full_disk_and_read_only_folder(real_faults, fault, words, code):
    facts = real_faults[fault]
    assert facts["error"] and words in facts["error"] and "sample_patient" in facts["error"], facts
    assert facts["type"] == "OutputWriteError" and facts["errno"] == code
    assert facts["unchanged"] and facts["temporaries"] == []
    # the CLI: whichever write comes first (outputs, or the audit log the CLI keeps in OUT) names the cause
    cause = {"full": "no space left on device", "read_only": "read-only file system"}[fault]
    exit_code, err = facts["cli"]
    assert exit_code != 0 and len(err.strip().splitlines()) == 1 and cause in err.lower(), err
    exit_code, err = facts["batch"]
    assert exit_code != 0 and "Traceback" not in err and cause in err.lower(), err  # a message, never a traceback
    if fault == "read_only":  # found before any patient's work (a test file in OUT): one line, no patient ran
        assert len(err.strip().splitlines()) == 1 and "cannot write results there" in err, err
        assert not outcome_lines(err), err
    else:  # a full disk still takes an empty test file: each patient fails when its outputs are written
        first = [line for line in outcome_lines(err) if line.startswith("[1/2] A")]
        assert first and "error - cannot" in first[0] and cause in first[0].lower(), err
    record_fault(f"real_{fault}", {"time_to_error_s": facts["time_to_error_s"], "message": facts["error"],
                                   "how": "tmpfs of 4 MB in a mount namespace (unshare -m), filled / remounted ro"})


@posix_only
@pytest.mark.slow
def test_real_full_disk_batch_reports_every_patient(real_faults):
    err = real_faults["full"]["batch"][1]
    assert any(line.startswith("[2/2] B: error") for line in outcome_lines(err)), err
