"""Every format of the table round-trips on a tiny model: exported, recorded in the manifest, loaded by its
runtime, and close to the float Keras model. Formats that cannot be built here skip with the reason."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.exporter import load_variant
from inference.backends import load_backend
from inference.backends.base import BackendUnavailableError
from inference.backends.manifest import sha256_file
from inference.formats import FORMATS
from inference.preprocess import PREPROCESS_VERSION

from .conftest import TINY_SIZE

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
