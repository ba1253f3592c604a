"""Hash refusal and corrupted model files of a freshly exported (tiny) model: refused with a typed error, never a
crash of the process. The shipped model, the parameter files and ONNX/OpenVINO path checks are tested in
tests/inference/test_integrity.py and tests/inference/test_onnx_scan.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inference.backends import load_backend, select_backend
from inference.errors import ModelIntegrityError

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
