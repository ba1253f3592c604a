"""Issue 9, item 5: every shipped model file and parameter file is checked against its manifest before use, a
changed byte is refused with a message naming the file and the remedy, and nothing is ever unpickled.

Tampering happens on a copy of ``assets/`` in ``tmp_path``; the shipped files are never touched.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inference.assets import ASSETS, SAMPLE_PATIENT
from inference.backends import load_backend, select_backend
from inference.backends.manifest import find_manifest, read_parameter_file
from inference.cli import main
from inference.errors import ModelIntegrityError
from inference.nomogram import Nomogram
from inference.radiomics import load_params

REPO = Path(__file__).resolve().parents[2]
PARAMETER_FILES = ("nomogram.json", "nomogram.clinical.json", "radiomics.yaml")


@pytest.fixture
def assets_copy(tmp_path) -> Path:
    """``assets/`` as the runtime reads it: parameter files + their manifest, model manifest + listed model files."""
    root = tmp_path / "assets"
    (root / "models" / "seg").mkdir(parents=True)
    for name in (*PARAMETER_FILES, "manifest.json"):
        shutil.copy2(ASSETS / name, root / name)
    shutil.copy2(ASSETS / "models" / "manifest.json", root / "models" / "manifest.json")
    manifest = find_manifest(ASSETS / "models" / "seg")
    records = manifest.data["reference"]["files"] + [
        r for v in manifest.data["variants"].values() if v.get("shipped") for r in v.get("files", [])]
    for record in records:
        shutil.copy2(manifest.root / record["path"], root / "models" / record["path"])
    return root


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def assert_clear_refusal(exc: BaseException, file_name: str, remedy: str) -> None:
    text = str(exc)
    assert isinstance(exc, ModelIntegrityError), repr(exc)
    assert file_name in text and "does not match" in text and remedy in text, text
    assert "\n" not in text and text.isprintable(), text  # the CLI prints it as one line


# --- (b) every shipped model file -------------------------------------------------------------------------

MODEL_FILES = [
    ("litert", "tflite-fp32", "model_fp32.tflite"),
    ("litert", "tflite-fp16", "model_fp16.tflite"),
    ("litert", "tflite-int8", "model_int8.tflite"),
    ("litert", "tflite-int8-qat", "model_int8_qat.tflite"),
    ("onnxruntime", "onnx", "model.onnx"),
    ("openvino", "onnx", "model.onnx"),
    ("openvino", "openvino-int8", "openvino_int8.xml"),
    ("openvino", "openvino-int8", "openvino_int8.bin"),
    ("keras", None, "best.weights.h5"),
    ("keras", None, "config.json"),
]


@pytest.mark.parametrize("runtime,variant,file", MODEL_FILES, ids=[f"{r}-{f}" for r, _, f in MODEL_FILES])
def test_each_shipped_model_file_with_one_flipped_byte_is_refused(assets_copy, monkeypatch, runtime, variant, file):
    seg = assets_copy / "models" / "seg"
    if not (seg / file).is_file():
        pytest.skip(f"{file} is not shipped")
    from inference.backends import keras

    def no_tensorflow(*args, **kwargs):
        raise AssertionError("TensorFlow imported before the weights were checked")

    monkeypatch.setattr(keras, "import_tensorflow", no_tensorflow)
    flip_one_byte(seg / file)
    with pytest.raises(ModelIntegrityError) as err:
        load_backend(runtime, seg, variant=variant, threads=1)
    assert_clear_refusal(err.value, file, "reinstall the model folder")


def test_intact_copy_loads_verified(assets_copy):
    backend = load_backend("litert", assets_copy / "models" / "seg", variant="tflite-int8", threads=1)
    assert backend.integrity == "sha256 verified (manifest.json)"


SWAPPABLE = [("litert", "tflite-int8", "model_int8.tflite"), ("onnxruntime", "onnx", "model.onnx"),
             ("openvino", "onnx", "model.onnx"), ("openvino", "openvino-int8", "openvino_int8.xml"),
             ("openvino", "openvino-int8", "openvino_int8.bin")]


@pytest.mark.parametrize("runtime,variant,file", SWAPPABLE, ids=[f"{r}-{f}" for r, _, f in SWAPPABLE])
def test_a_file_replaced_after_its_hash_was_checked_is_refused(assets_copy, monkeypatch, runtime, variant, file):
    """The runtime parses the bytes that were hashed: a file swapped between the manifest check and the
    runtime's own read (simulated right after the check) must not run."""
    pytest.importorskip({"litert": "ai_edge_litert"}.get(runtime, runtime))
    from inference.backends import manifest as manifest_module

    monkeypatch.setattr("inference.backends.ov.int8_dot_product", lambda: "any (test)")  # files, not arithmetic

    seg = assets_copy / "models" / "seg"
    checked = manifest_module.verify_records

    def check_then_swap(*args, **kwargs):
        checked(*args, **kwargs)
        flip_one_byte(seg / file)

    monkeypatch.setattr(manifest_module, "verify_records", check_then_swap)
    with pytest.raises(ModelIntegrityError, match="does not match .* the file changed after it was verified") as err:
        load_backend(runtime, seg, variant=variant, threads=1)
    assert file in str(err.value) and "\n" not in str(err.value)


# --- (e) --backend auto: a tampered variant stops the run ---------------------------------------------------

@pytest.mark.parametrize("file", ["model_int8.tflite", "model_fp16.tflite"])
def test_auto_refuses_loudly_instead_of_falling_back(assets_copy, file):
    """int8 is auto's first CPU variant; fp16 is opened (and checked) by the GPU candidate before it."""
    seg = assets_copy / "models" / "seg"
    flip_one_byte(seg / file)
    with pytest.raises(ModelIntegrityError) as err:
        select_backend("auto", seg, threads=1)
    assert_clear_refusal(err.value, file, "reinstall the model folder")


def test_auto_still_falls_back_for_unavailable_runtimes(assets_copy):
    backend, notes = select_backend("auto", assets_copy / "models" / "seg", threads=1)
    assert backend.integrity.startswith("sha256 verified")
    assert all(" unavailable: " in n for n in notes), notes


# --- (a) parameter files: nomogram, clinical model, radiomics settings -------------------------------------

def test_shipped_parameter_manifest_matches_the_shipped_files():
    """A stale ``assets/manifest.json`` fails here: run ``python -m export.commands.assets_manifest``."""
    from export.manifest import PARAMETER_FILES as LISTED
    from export.manifest import build_parameter_manifest, parameter_manifest_problems

    assert set(LISTED) == set(PARAMETER_FILES)
    assert parameter_manifest_problems() == [], "run `python -m export.commands.assets_manifest`"
    assert json.loads((ASSETS / "manifest.json").read_text()) == build_parameter_manifest()
    for name in PARAMETER_FILES:
        assert read_parameter_file(ASSETS / name).integrity == "sha256 verified (manifest.json)"
    assert Nomogram.load(ASSETS / "nomogram.json").integrity == "sha256 verified (manifest.json)"
    assert load_params().integrity == "sha256 verified (manifest.json)"


@pytest.mark.parametrize("name,loader", [("nomogram.json", Nomogram.load), ("radiomics.yaml", load_params),
                                         ("nomogram.clinical.json", read_parameter_file)])
def test_each_parameter_file_with_one_flipped_byte_is_refused(assets_copy, name, loader):
    loader(assets_copy / name)  # intact: loads
    flip_one_byte(assets_copy / name)
    with pytest.raises(ModelIntegrityError) as err:
        loader(assets_copy / name)
    assert_clear_refusal(err.value, name, "reinstall otscc-edge")


def test_an_unlisted_file_beside_the_manifest_is_refused(assets_copy):
    shutil.copy2(assets_copy / "nomogram.json", assets_copy / "my_nomogram.json")
    with pytest.raises(ModelIntegrityError, match="my_nomogram.json: not listed in .*folder of your own"):
        Nomogram.load(assets_copy / "my_nomogram.json")


def test_own_files_without_a_manifest_load_unverified(assets_copy, tmp_path):
    own = tmp_path / "mine"
    own.mkdir()
    for name in ("nomogram.json", "radiomics.yaml"):
        shutil.copy2(assets_copy / name, own / name)
    (own / "radiomics.yaml").write_text((assets_copy / "radiomics.yaml").read_text() + "\n# my own edit\n")
    assert Nomogram.load(own / "nomogram.json").integrity == "unverified: no manifest.json"
    assert load_params(own / "radiomics.yaml").integrity == "unverified: no manifest.json"
    # a model folder's manifest.json (no "kind") beside a nomogram is not a parameter manifest
    shutil.copy2(assets_copy / "models" / "manifest.json", own / "manifest.json")
    assert Nomogram.load(own / "nomogram.json").integrity == "unverified: no manifest.json"


# --- (b) through `otscc predict`: one line, non-zero exit, nothing written ------------------------------------

@pytest.mark.parametrize("file", ["models/seg/model_int8.tflite", "nomogram.json"])
def test_predict_with_a_tampered_file_fails_with_one_line_and_writes_nothing(assets_copy, tmp_path, capsys, file):
    flip_one_byte(assets_copy / file)
    out = tmp_path / "out"
    code = main(["predict", str(SAMPLE_PATIENT), "--out", str(out), "--model", str(assets_copy / "models" / "seg"),
                 "--nomogram", str(assets_copy / "nomogram.json"), "--threads", "1"])
    err = capsys.readouterr().err.strip()
    assert code == ModelIntegrityError.exit_code == 4
    assert len(err.splitlines()) == 1 and err.startswith("otscc predict: error: "), err
    assert Path(file).name in err and "does not match" in err and "reinstall" in err, err
    assert not out.exists()


# --- (c) nothing is ever unpickled ----------------------------------------------------------------------------

UNSAFE_MODULES = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
UNSAFE_ATTRS = {("yaml", "load"), ("yaml", "load_all"), ("yaml", "unsafe_load"), ("yaml", "full_load"),
                ("yaml", "Loader"), ("yaml", "UnsafeLoader"), ("yaml", "FullLoader"), ("torch", "load"),
                ("pd", "read_pickle"), ("pandas", "read_pickle")}


def _unsafe_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"from {node.module}")
        elif isinstance(node, ast.ImportFrom) and node.module == "yaml":
            found += [f"yaml.{a.name}" for a in node.names if ("yaml", a.name) in UNSAFE_ATTRS]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                (node.value.id, node.attr) in UNSAFE_ATTRS):
            found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    found.append("allow_pickle=...")
                if kw.arg == "safe_mode" and not (isinstance(kw.value, ast.Constant) and kw.value.value is True):
                    found.append("safe_mode=...")  # Keras load_model(safe_mode=False) runs Lambda code
    return found


def test_runtime_and_gui_code_never_unpickles():
    offenders = {}
    for package in ("inference", "desktop"):
        for path in sorted((REPO / package).rglob("*.py")):
            found = _unsafe_uses(ast.parse(path.read_text(), str(path)))
            if found:
                offenders[str(path.relative_to(REPO))] = found
    assert offenders == {}


def test_the_scan_catches_what_it_forbids():
    code = ("import pickle\nfrom joblib import load\nimport yaml\nyaml.load(s)\nx = yaml.Loader\n"
            "np.load(f, allow_pickle=True)\nmodel = load_model(p, safe_mode=False)\nyaml.safe_load(s)\n")
    assert sorted(_unsafe_uses(ast.parse(code))) == sorted([
        "pickle", "from joblib", "yaml.load", "yaml.Loader", "allow_pickle=...", "safe_mode=..."])


BLOCK_PICKLE = r"""
import pickle, sys
import numpy

class Refused(RuntimeError):
    pass

def refuse(*args, **kwargs):
    raise Refused("something tried to unpickle")

def hook(event, args):  # any unpickling that resolves a class, whatever function started it
    if event == "pickle.find_class":
        raise Refused(f"unpickling {args}")

sys.addaudithook(hook)
pickle.load = pickle.loads = pickle.Unpickler = refuse
real_np_load = numpy.load

def np_load(*args, allow_pickle=False, **kwargs):
    if allow_pickle:
        refuse()
    return real_np_load(*args, allow_pickle=False, **kwargs)

numpy.load = np_load
from inference.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_full_prediction_runs_with_unpickling_blocked(tmp_path):
    """The whole CLI path on the sample patient (shipped model and parameters, auto backend, PDF report)."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", BLOCK_PICKLE, "predict", str(SAMPLE_PATIENT), "--out", str(out),
                             "--threads", "1", "--json"], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Refused" not in result.stderr
    data = json.loads((out / "sample_patient" / "result.json").read_text())
    assert data["backend"]["integrity"] == "sha256 verified (manifest.json)"
    assert data["nomogram_integrity"] == data["radiomics_params_integrity"] == "sha256 verified (manifest.json)"
    assert (out / "sample_patient" / "report.pdf").is_file()


# --- packaging: the parameter manifest must travel with the files it lists ------------------------------------

def test_bundle_carries_the_parameter_manifest():
    from export.packaging import spec

    assert ("manifest.json", "assets") in {(Path(src).name, dest) for src, dest in spec.asset_datas()}

