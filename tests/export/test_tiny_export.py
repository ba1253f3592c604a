"""One tiny model exported to every format of the table (the session fixture ``tiny_export``, the slowest setup of
the suite: kept in this one file so that pytest-xdist's ``--dist loadfile`` builds it on one worker, not on two).

Round trips: every format is exported, recorded in the manifest, loaded by its runtime, and close to the float
Keras model; formats that cannot be built here skip with the reason.

Integrity: hash refusal and corrupted model files of the freshly exported model are refused with a typed error,
never a crash of the process. The shipped model, the parameter files and ONNX/OpenVINO path checks are tested in
tests/inference/test_integrity.py and tests/inference/test_onnx_scan.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from export.exporter import load_variant
from inference.backends import load_backend, select_backend
from inference.backends.base import BackendUnavailableError
from inference.backends.manifest import sha256_file
from inference.errors import ModelIntegrityError
from inference.formats import FORMATS
from inference.preprocess import PREPROCESS_VERSION

from .conftest import TINY_SIZE

#: the first test here also builds ``tiny_export`` (every format: about 4 minutes on two busy cores, 5 when the
#: machine is shared), which the suite's 300 s per test would cut off: the round trips never ran
pytestmark = pytest.mark.timeout(900)

#: mean absolute probability difference to the float model allowed per precision (tiny untrained network)
TOLERANCE = {"fp32": 1e-4, "fp16": 2e-3, "int8": 0.03}


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(3).random((3, TINY_SIZE, TINY_SIZE, 3), dtype=np.float32)


@pytest.fixture(scope="module")
def float_probs(tiny_model, batch):
    return load_backend("keras", tiny_model).predict(batch)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_format_round_trips(fmt, tiny_export, float_probs, batch, monkeypatch):
    result = tiny_export.results[fmt.name]
    if result.status == "skipped" and fmt.needs_gpu:
        pytest.skip(f"{fmt.name} cannot be built here: {result.reason}")
    assert result.status == "ok", result.reason
    assert result.bytes > 0 and result.files[0] == fmt.file
    # the file round-trips on any CPU; whether this CPU's int8 arithmetic is validated is another question
    monkeypatch.setattr("inference.backends.ov.int8_dot_product", lambda: "any (test)")
    try:
        backend = load_variant(tiny_export.out_dir, fmt, threads=1)
    except BackendUnavailableError as exc:
        if fmt.needs_gpu:
            pytest.skip(f"{fmt.name} built but its runtime is unavailable here: {exc}")
        raise
    probs = backend.predict(batch)
    assert probs.shape == float_probs.shape and np.isfinite(probs).all()
    assert np.mean(np.abs(probs - float_probs)) < TOLERANCE[fmt.precision], backend.describe()
    assert backend.describe()["format"] == fmt.name


@pytest.mark.parametrize("fmt", [f for f in FORMATS if "litert" in f.runtimes], ids=lambda f: f.name)
def test_tflite_variants_run_entirely_under_xnnpack(fmt, tiny_export):
    xnnpack = tiny_export.results[fmt.name].details["xnnpack"]
    assert xnnpack["all_ops_delegated"] and xnnpack["delegate_partitions"] == 1
    assert not {"SHAPE", "PACK", "STRIDED_SLICE"} & set(xnnpack["op_counts"])
    assert xnnpack["ops"] == sum(xnnpack["op_counts"].values()) > 50


def test_progress_lines_read_in_their_number(tiny_export):
    """It said "against the float model on 1 test patients"."""
    validating = [line for line in tiny_export.said if line.startswith("validating ")]
    assert len(validating) == 1 and validating[0].endswith(" against the float model on 1 test patient ...")
    assert not any("(s)" in line for line in tiny_export.said)


def test_a_short_qat_fine_tune_runs_eagerly(tiny_export):
    """Tracing the quantized graph took longer than the 2 steps it traced (it is most of the fixture's QAT time)."""
    facts = tiny_export.results["tflite-int8-qat"].details["qat"]
    assert facts["steps"] == 2 and facts["eager"] is True and facts["loss_first"] is not None


def test_manifest_records_every_format_with_hashes_and_provenance(tiny_export):
    data = json.loads(tiny_export.manifest_path.read_text())
    assert data["preprocess_version"] == PREPROCESS_VERSION
    assert data["input"]["shape"] == [1, TINY_SIZE, TINY_SIZE, 3] and data["input"]["dtype"] == "float32"
    assert {"tensorflow", "ai-edge-litert", "onnxruntime", "openvino", "nncf"} <= set(data["toolchain"])
    assert {r["path"] for r in data["reference"]["files"]} == {"config.json", "best.weights.h5"}
    assert data["validation"]["patients_used"] == 1 and data["validation"]["split"] == "test"
    assert set(data["variants"]) == {f.name for f in FORMATS}
    root = tiny_export.manifest_path.parent
    for name, entry in data["variants"].items():
        if entry["status"] != "ok":
            assert entry["reason"] and not entry["shipped"] and entry["files"] == []
            continue
        assert entry["files"] and all(sha256_file(root / r["path"]) == r["sha256"] for r in entry["files"])
        validation = entry["validation"]
        if validation is None:  # built, but not on a CPU it may be validated on (OpenVINO int8 without VNNI)
            assert not entry["shipped"] and entry["reason"].startswith("built, not validated here"), name
            continue
        assert entry["shipped"] == validation["passed"], name
        if not entry["shipped"]:
            assert entry["reason"].startswith("failed validation")


def test_verified_loading_follows_the_manifest(tiny_export):
    """Shipped variants load with their hash checked; variants that failed validation are refused."""
    data = json.loads(tiny_export.manifest_path.read_text())
    for fmt in FORMATS:
        entry = data["variants"][fmt.name]
        if entry["status"] != "ok" or fmt.needs_gpu:
            continue
        runtime = "litert" if fmt.name == "tflite-fp16" else fmt.runtimes[0]
        if entry["shipped"]:
            backend = load_backend(runtime, tiny_export.out_dir, variant=fmt.name, threads=1)
            assert backend.integrity.startswith("sha256 verified"), fmt.name
        else:
            with pytest.raises(BackendUnavailableError, match="not shipped"):
                load_backend(runtime, tiny_export.out_dir, variant=fmt.name, threads=1)


# --- integrity: changed and corrupted files of the exported model ------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def exported_copy(tiny_export, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_export.out_dir, folder)
    return folder


def _flip(path: Path, offset_fraction: float = 0.6) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * offset_fraction)
    data[i:i + 16] = bytes(b ^ 0x5A for b in data[i:i + 16])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("runtime,variant,file", [("litert", "tflite-fp32", "model_fp32.tflite"),
                                                  ("onnxruntime", "onnx", "model.onnx"),
                                                  ("keras", None, "best.weights.h5")])
def test_changed_file_is_refused_by_hash(exported_copy, runtime, variant, file):
    """Bytes changed inside the weights still parse; only the manifest hash catches them."""
    _flip(exported_copy / file)
    with pytest.raises(ModelIntegrityError, match="does not match"):
        load_backend(runtime, exported_copy, variant=variant, threads=1)


def test_auto_refuses_a_tampered_variant_instead_of_falling_back(exported_copy, tiny_export):
    """A changed file is a broken install: ``auto`` stops with the integrity error (no quiet fallback to the next
    variant). The shipped model's variants are covered one by one in tests/inference/test_integrity.py."""
    entries = tiny_export.results
    shipped = [name for name in ("tflite-int8", "tflite-int8-qat", "openvino-int8", "tflite-fp32")
               if entries[name].shipped]
    if not shipped:
        pytest.skip("no CPU variant of the tiny model passed validation")
    first = shipped[0]
    from inference.formats import get_format

    _flip(exported_copy / get_format(first).file)
    with pytest.raises(ModelIntegrityError, match=f"{get_format(first).file}: SHA-256 .* does not match"):
        select_backend("auto", exported_copy, threads=1)


CORRUPTIONS = {
    "truncated": lambda data: data[: len(data) // 3],
    "garbage": lambda data: os.urandom(len(data)),
    "empty": lambda data: b"",
    "scrambled": lambda data: data[:64] + bytes(b ^ 0xFF for b in data[64:]),
}

LOADER = """
import sys
from inference.backends import load_backend, BackendUnavailableError
from inference.errors import ModelIntegrityError
try:
    load_backend(sys.argv[1], sys.argv[2], variant=sys.argv[3], threads=1)
    print("LOADED")
except (BackendUnavailableError, ModelIntegrityError) as exc:
    print("REFUSED", type(exc).__name__, exc)
"""


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
@pytest.mark.parametrize("runtime,variant,file", [("litert", "tflite-int8", "model_int8.tflite"),
                                                  ("onnxruntime", "onnx", "model.onnx"),
                                                  ("openvino", "onnx", "model.onnx")])
def test_corrupted_file_without_manifest_is_refused_cleanly(exported_copy, runtime, variant, file, corruption):
    """No manifest to compare with: the runtime's own parser must refuse the file (in a child process, so a
    crash would show as a failed test instead of killing the test run)."""
    (exported_copy / "manifest.json").unlink()
    path = exported_copy / file
    path.write_bytes(CORRUPTIONS[corruption](path.read_bytes()))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", LOADER, runtime, str(exported_copy), variant],
                            capture_output=True, cwd=REPO, env=env, timeout=180)
    stdout = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, f"process died (rc {result.returncode}): {result.stderr[-1500:]!r}"
    assert "REFUSED BackendUnavailableError" in stdout, stdout
    message = stdout.split("REFUSED", 1)[1].strip()
    assert file in message and message.isprintable(), message  # raw bytes of the file are not echoed
