"""Backend registry, ``--backend auto`` fallback, self-check, manifest hash rules, and the real CPU runtimes.

The selection tests use fake backends (no runtime needed); the runtime tests use the shipped model folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.assets import DEFAULT_SEG_MODEL
from inference.backends import base
from inference.backends.base import BackendUnavailableError, Candidate, SegBackend, select_backend, self_check
from inference.backends.manifest import VariantUnavailable, resolve_model, sha256_file
from inference.errors import ModelIntegrityError
from inference.formats import FORMATS, get_format

REPO = Path(__file__).resolve().parents[2]


class _Fake(SegBackend):
    """Configurable backend: ``mode`` decides what happens (set through the class in each test)."""

    name = "fake"
    outputs: dict[str, str] = {}

    def __init__(self, model_path, *, variant=None, device="cpu", threads=None, verify=True):
        mode = self.outputs.get(f"{variant}@{device}", "ok")
        if mode == "missing":
            raise BackendUnavailableError(f"{variant} runtime missing")
        if mode == "tampered":
            raise ModelIntegrityError(f"{variant}: SHA-256 mismatch")
        self.mode, self.format_name, self.device, self.input_size = mode, variant, device, 16

    def predict(self, batch):
        if self.mode == "nan":
            return np.full(batch.shape[:3], np.nan, np.float32)
        if self.mode == "shape":
            return np.zeros((batch.shape[0], 8, 8), np.float32)
        return np.full(batch.shape[:3], 0.25, np.float32)


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setitem(base.BACKENDS, "fake", f"{__name__}:_Fake")
    order = (Candidate("fake", "a", "gpu"), Candidate("fake", "b"), Candidate("fake", "c"), Candidate("fake", "d"))
    monkeypatch.setattr(base, "AUTO_ORDER", order)
    monkeypatch.setattr(_Fake, "outputs", {})
    return _Fake


def test_auto_falls_back_in_order_with_reasons(fakes):
    fakes.outputs = {"a@gpu": "missing", "b@cpu": "nan"}
    backend, notes = select_backend("auto", DEFAULT_SEG_MODEL)
    assert backend.format_name == "c"
    assert [n.split(" unavailable:")[0] for n in notes] == ["a on fake (gpu)", "b on fake (cpu)"]
    assert "runtime missing" in notes[0] and "NaN" in notes[1]


def test_auto_stops_at_a_tampered_variant_instead_of_falling_back(fakes):
    """A changed shipped file is a broken install: auto refuses loudly, as a named backend does."""
    fakes.outputs = {"a@gpu": "missing", "b@cpu": "tampered"}
    with pytest.raises(ModelIntegrityError, match="b: SHA-256 mismatch"):
        select_backend("auto", DEFAULT_SEG_MODEL)


def test_auto_takes_the_first_that_works_and_says_nothing_else(fakes):
    backend, notes = select_backend("auto", DEFAULT_SEG_MODEL)
    assert backend.format_name == "a" and notes == []


def test_auto_with_nothing_usable_raises_with_every_reason(fakes):
    fakes.outputs = {"a@gpu": "missing", "b@cpu": "shape", "c@cpu": "missing", "d@cpu": "nan"}
    with pytest.raises(BackendUnavailableError) as err:
        select_backend("auto", DEFAULT_SEG_MODEL)
    text = str(err.value)
    assert "no backend can run here" in text and "output shape (1, 8, 8)" in text and text.count("unavailable") == 4


def test_named_backend_is_self_checked_and_unknown_names_list_choices(fakes):
    fakes.outputs = {"None@cpu": "nan"}
    with pytest.raises(BackendUnavailableError, match="self-check failed"):
        select_backend("fake", DEFAULT_SEG_MODEL)
    fakes.outputs = {"None@cpu": "tampered"}
    with pytest.raises(ModelIntegrityError):  # a model the user named is refused, never replaced silently
        select_backend("fake", DEFAULT_SEG_MODEL)
    with pytest.raises(BackendUnavailableError, match="choose from auto, litert"):
        select_backend("no-such-runtime", DEFAULT_SEG_MODEL)


def test_self_check_rejects_out_of_range():
    class Loud(_Fake):
        def predict(self, batch):
            return np.full(batch.shape[:3], 3.0, np.float32)

    with pytest.raises(BackendUnavailableError, match=r"outside \[0, 1\]"):
        self_check(Loud(None))


def test_every_table_runtime_is_registered_and_auto_order_is_valid():
    for fmt in FORMATS:
        assert set(fmt.runtimes) <= set(base.BACKENDS), fmt.name
    for candidate in base.AUTO_ORDER:
        assert candidate.backend in base.BACKENDS
        if candidate.variant:
            assert candidate.backend in get_format(candidate.variant).runtimes
    cpu = [c for c in base.AUTO_ORDER if c.device == "cpu"]
    assert cpu[-1].backend == "keras"  # the float reference is the last resort
    assert base.AUTO_ORDER.index(cpu[0]) > max(i for i, c in enumerate(base.AUTO_ORDER) if c.device != "cpu")


# --- manifest rules (plain files, no runtime) -------------------------------------------------------------

def _folder_with_manifest(tmp_path: Path, shipped: bool = True) -> Path:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model_int8.tflite").write_bytes(b"\x00\x00\x00\x00TFL3" + b"x" * 100)
    (folder / "model_fp32.tflite").write_bytes(b"\x00\x00\x00\x00TFL3" + b"y" * 100)
    record = {"path": "model_int8.tflite", "sha256": sha256_file(folder / "model_int8.tflite"), "bytes": 108}
    manifest = {"schema_version": 1, "model_dir": ".", "reference": {"files": []},
                "variants": {"tflite-int8": {"format": "tflite-int8", "shipped": shipped, "status": "ok",
                                             "reason": None if shipped else "failed validation: x",
                                             "files": [record]}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_manifest_hash_is_verified_and_mismatch_refused(tmp_path):
    folder = _folder_with_manifest(tmp_path)
    ok = resolve_model(folder, "litert", "tflite-int8")
    assert ok.integrity.startswith("sha256 verified")
    data = bytearray((folder / "model_int8.tflite").read_bytes())
    data[50] ^= 0xFF
    (folder / "model_int8.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match"):
        resolve_model(folder, "litert", "tflite-int8")
    assert resolve_model(folder, "litert", "tflite-int8", verify=False).integrity == "not checked"


def test_the_runtime_gets_the_bytes_the_manifest_verified(tmp_path, monkeypatch):
    """``ResolvedModel.read``: the bytes handed to a runtime are checked against the digest the manifest recorded,
    so a file replaced after the check is refused; nothing is checked when nothing was verified."""
    folder = _folder_with_manifest(tmp_path)
    model = folder / "model_int8.tflite"
    resolved = resolve_model(folder, "litert", "tflite-int8")
    assert resolved.read() == model.read_bytes()
    unchecked = resolve_model(folder, "litert", "tflite-int8", verify=False)
    model.write_bytes(model.read_bytes()[:-1] + b"z")  # replaced after both were resolved
    with pytest.raises(ModelIntegrityError, match="does not match .* the file changed after it was verified"):
        resolved.read()
    assert unchecked.read() == model.read_bytes()  # "not checked", as its integrity note says
    with pytest.raises(ModelIntegrityError, match="not among the files"):
        resolved.read(folder / "model_fp32.tflite")


def test_a_relative_model_folder_is_verified_like_an_absolute_one(tmp_path, monkeypatch):
    """``--model .`` or a bare file name from inside the folder: its parent's manifest must still be found."""
    folder = _folder_with_manifest(tmp_path)
    data = json.loads((folder / "manifest.json").read_text())
    data["model_dir"] = folder.name
    (folder / "manifest.json").rename(tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text(json.dumps(data | {"variants": {"tflite-int8": {
        **data["variants"]["tflite-int8"], "files": [{**data["variants"]["tflite-int8"]["files"][0],
                                                       "path": f"{folder.name}/model_int8.tflite"}]}}}))
    monkeypatch.chdir(folder)
    for given in (".", "model_int8.tflite", f"../{folder.name}"):
        resolved = resolve_model(given, "litert", "tflite-int8")
        assert resolved.integrity.startswith("sha256 verified"), given
        assert resolved.read() == (folder / "model_int8.tflite").read_bytes()


def test_a_shipped_variant_without_a_hash_for_its_file_is_refused(tmp_path):
    folder = _folder_with_manifest(tmp_path)
    data = json.loads((folder / "manifest.json").read_text())
    data["variants"]["tflite-int8"]["files"] = []
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ModelIntegrityError, match="records no hash for this file"):
        resolve_model(folder, "litert", "tflite-int8")


def test_unlisted_and_unshipped_files_are_passed_over(tmp_path):
    folder = _folder_with_manifest(tmp_path, shipped=False)
    with pytest.raises(VariantUnavailable, match="not shipped .failed validation"):
        resolve_model(folder, "litert", "tflite-int8")
    with pytest.raises(VariantUnavailable, match="not listed"):
        resolve_model(folder, "litert", "tflite-fp32")
    (folder / "manifest.json").unlink()
    assert resolve_model(folder, "litert", "tflite-fp32").integrity.startswith("unverified")


def test_parent_manifest_covers_the_shipped_layout(tmp_path):
    folder = _folder_with_manifest(tmp_path)
    data = json.loads((folder / "manifest.json").read_text())
    data["model_dir"] = "m"
    data["variants"]["tflite-int8"]["files"][0]["path"] = "m/model_int8.tflite"
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    (folder / "manifest.json").unlink()
    assert "manifest.json" in resolve_model(folder, "litert", "tflite-int8").integrity
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelIntegrityError, match="unreadable manifest"):
        resolve_model(folder, "litert", "tflite-int8")


# --- real runtimes on the shipped model ---------------------------------------------------------------------

def _slices(n: int = 2) -> np.ndarray:
    return np.random.default_rng(0).random((n, 256, 256, 3), dtype=np.float32)


def _shipped(name: str) -> bool:
    manifest = DEFAULT_SEG_MODEL.parent / "manifest.json"
    if not manifest.is_file():
        return False
    return bool(json.loads(manifest.read_text())["variants"].get(name, {}).get("shipped"))


def _no_vnni() -> bool:
    from inference.backends.ov import int8_dot_product

    return int8_dot_product() is None


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.shipped], ids=lambda f: f.name)
def test_shipped_cpu_variants_load_verified_and_agree_with_fp32(fmt):
    if not _shipped(fmt.name):
        pytest.skip(f"{fmt.name} is not shipped in {DEFAULT_SEG_MODEL} (see assets/models/manifest.json)")
    if fmt.name == "openvino-int8" and _no_vnni():
        pytest.skip("openvino-int8 is refused on a CPU without VNNI (its own test below)")
    backend, notes = select_backend(fmt.name, DEFAULT_SEG_MODEL, threads=1)
    info = backend.describe()
    assert info["integrity"].startswith("sha256 verified") and info["format"] == fmt.name
    assert {"runtime", "device", "precision"} <= set(info)
    assert all(" unavailable: " in n and "gpu" in n for n in notes)  # fp16: the GPU first, then the CPU
    reference = select_backend("tflite-fp32", DEFAULT_SEG_MODEL, threads=1)[0].predict(_slices())
    probs = backend.predict(_slices())
    tolerance = {"fp32": 1e-3, "fp16": 1e-2, "int8": 0.05}[fmt.precision]
    assert probs.shape == (2, 256, 256) and np.mean(np.abs(probs - reference)) < tolerance


@pytest.mark.parametrize("name", ["tflite-fp32", "onnx"])
def test_default_threads_follow_the_cpus_this_process_may_use(name, monkeypatch):
    """Without --threads the runtimes took min(4, os.cpu_count()): 4 threads on a 16-CPU machine whose process is
    pinned to one CPU (taskset, a container's cpuset), all waiting for each other."""
    from inference import cpu

    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    if hasattr(os, "sched_getaffinity"):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
        assert cpu.schedulable_cpus() == 1 and cpu.default_threads() == 1
    else:  # Windows, macOS: the machine's CPUs, as before
        assert cpu.schedulable_cpus() == 16 and cpu.default_threads() == 4
    backend, _ = select_backend(name, DEFAULT_SEG_MODEL)
    assert backend.threads == cpu.default_threads()


def test_auto_on_this_machine_picks_a_cpu_variant_and_explains_the_gpu_ones():
    backend, notes = select_backend("auto", DEFAULT_SEG_MODEL, threads=1)
    info = backend.describe()
    assert info["device"].startswith("cpu") or info["device"].startswith("gpu")
    if info["device"].startswith("cpu"):
        assert any(n.startswith("fp16") or "litert-gpu" in n for n in notes)
        assert all(re.search(" (unavailable|refused): ", n) for n in notes)


def test_litert_gpu_compiled_model_path_runs_on_cpu_accelerator():
    """The CompiledModel buffer plumbing of the GPU backend, with the CPU accelerator (no GPU here)."""
    if not (DEFAULT_SEG_MODEL / "model_fp16.tflite").is_file():
        pytest.skip("no model_fp16.tflite shipped")
    gpu_path = base.load_backend("litert-gpu", DEFAULT_SEG_MODEL, accelerator="cpu", threads=1)
    cpu = base.load_backend("litert", DEFAULT_SEG_MODEL, variant="tflite-fp16", threads=1)
    np.testing.assert_allclose(gpu_path.predict(_slices(1)), cpu.predict(_slices(1)), atol=1e-4)


@pytest.mark.gpu
@pytest.mark.parametrize("name,device", [("tensorrt", "gpu"), ("litert-gpu", "gpu"), ("onnxruntime", "gpu"),
                                         ("openvino", "gpu")])
def test_gpu_backends_match_the_cpu_float_model(name, device):
    try:
        backend = base.load_backend(name, DEFAULT_SEG_MODEL, device=device)
    except BackendUnavailableError as exc:
        pytest.skip(f"{name} on {device} unavailable here: {exc}")
    reference = base.load_backend("litert", DEFAULT_SEG_MODEL, variant="tflite-fp32").predict(_slices(1))
    assert np.mean(np.abs(backend.predict(_slices(1)) - reference)) < 0.05


def test_non_keras_backends_run_without_tensorflow():
    """A runtime-only install has no TensorFlow: the LiteRT/ONNX Runtime/OpenVINO backends must not need it."""
    code = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('tensorflow', 'tf_keras', 'keras', 'training', 'export'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import numpy as np
from inference.backends import load_backend, BackendUnavailableError
from inference.assets import DEFAULT_SEG_MODEL
x = np.zeros((1, 256, 256, 3), np.float32)
for name in ('litert', 'onnxruntime', 'openvino'):
    try:
        b = load_backend(name, DEFAULT_SEG_MODEL, threads=1)
    except BackendUnavailableError as exc:
        print(name, 'UNAVAILABLE', exc)
        continue
    print(name, b.predict(x).shape)
try:
    load_backend('keras', DEFAULT_SEG_MODEL)
except BackendUnavailableError as exc:
    print('keras refused:', exc)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "litert (1, 256, 256)" in result.stdout
    for name in ("onnxruntime", "openvino"):
        assert f"{name} (1, 256, 256)" in result.stdout or (
            not (DEFAULT_SEG_MODEL / "model.onnx").is_file() and f"{name} UNAVAILABLE" in result.stdout)
    assert "keras refused: TensorFlow is not installed" in result.stdout


def test_runtime_messages_are_one_printable_line():
    from inference.backends.base import runtime_message

    raw = RuntimeError("parse error near '\udcc8\x00\x07'\n  at line 3" + "x" * 500)
    message = runtime_message(raw)
    assert message.isprintable() and "\n" not in message and len(message) == 300 and message.endswith("...")


def test_openvino_without_its_gpu_plugin_says_so(tmp_path, monkeypatch):
    """A CPU-only bundle (``make bundle-cpu``) on a laptop with an Intel GPU must not claim there is no GPU."""
    openvino = pytest.importorskip("openvino")
    from inference.backends.ov import OpenVINOBackend

    class Core:
        available_devices = ["CPU"]

    with pytest.raises(BackendUnavailableError, match="sees no GPU device"):
        OpenVINOBackend._device(Core(), "gpu")  # the full installation: the plugin is there
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "libopenvino_intel_cpu_plugin.so").touch()
    monkeypatch.setattr(openvino, "__file__", str(tmp_path / "__init__.py"))
    with pytest.raises(BackendUnavailableError, match="has no OpenVINO GPU plugin"):
        OpenVINOBackend._device(Core(), "gpu")
    assert OpenVINOBackend._device(type("C", (), {"available_devices": ["CPU"]})(), "cpu") == "CPU"


def test_litert_gpu_without_its_accelerator_library_says_so(tmp_path, monkeypatch):
    if not (DEFAULT_SEG_MODEL / "model_fp16.tflite").is_file():
        pytest.skip("no model_fp16.tflite shipped")
    import ai_edge_litert

    try:  # a machine where LiteRT finds a GPU says nothing about a missing library
        base.load_backend("litert-gpu", DEFAULT_SEG_MODEL, threads=1).close()
        pytest.skip("LiteRT's GPU accelerator works here")
    except BackendUnavailableError:
        pass
    monkeypatch.setattr(ai_edge_litert, "__file__", str(tmp_path / "__init__.py"))  # as in `make bundle-cpu`
    with pytest.raises(BackendUnavailableError, match="has no LiteRT GPU accelerator library"):
        base.load_backend("litert-gpu", DEFAULT_SEG_MODEL, threads=1)


def test_an_unknown_backend_lists_each_choice_once():
    with pytest.raises(BackendUnavailableError, match="unknown backend 'cuda'") as error:
        select_backend("cuda", DEFAULT_SEG_MODEL)
    choices = str(error.value).split("choose from ")[1].split(", ")
    assert len(choices) == len(set(choices)) and {"auto", "litert", "keras", "tflite-int8"} <= set(choices)
    assert error.value.exit_code == 2  # a usage error, as argparse's own; a known backend that cannot run: 1


def test_openvino_int8_is_refused_on_a_cpu_without_vnni_and_the_float_model_runs(monkeypatch):
    """Measured on an AVX2-only CPU: OpenVINO's int8 masks failed validation there (docs/export.md)."""
    pytest.importorskip("openvino")
    from inference.backends import ov
    from inference.backends.base import NotValidatedOnThisCPU, load_backend

    monkeypatch.setattr(ov, "int8_dot_product", lambda: None)
    with pytest.raises(NotValidatedOnThisCPU, match="validated only on CPUs with VNNI"):
        load_backend("openvino", DEFAULT_SEG_MODEL, variant="openvino-int8", threads=1)
    assert load_backend("openvino", DEFAULT_SEG_MODEL, threads=1).format_name == "onnx"  # no variant named
    monkeypatch.setattr(ov, "int8_dot_product", lambda: "AVX512VNNI")
    assert load_backend("openvino", DEFAULT_SEG_MODEL, threads=1).format_name == "openvino-int8"


def test_a_named_format_that_cannot_run_here_says_why_not_that_nothing_can(monkeypatch, tmp_path, capsys):
    """``predict --backend openvino-int8`` on a CPU without VNNI said "no backend can run here", as if nothing could
    run; the message now names the format asked for and its own reason, and keeps the reason's type."""
    pytest.importorskip("openvino")
    from inference.assets import SAMPLE_PATIENT
    from inference.backends import ov
    from inference.backends.base import NotValidatedOnThisCPU
    from inference.cli import main

    monkeypatch.setattr(ov, "int8_dot_product", lambda: None)
    with pytest.raises(NotValidatedOnThisCPU) as error:
        select_backend("openvino-int8", DEFAULT_SEG_MODEL, threads=1)
    assert str(error.value).startswith("openvino-int8 cannot run here on openvino (cpu): ")
    assert "validated only on CPUs with VNNI" in str(error.value) and "no backend" not in str(error.value)
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(tmp_path / "out"), "--backend", "openvino-int8"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("otscc predict: error: openvino-int8 cannot run here") and "VNNI" in err


def test_int8_dot_product_detection_honours_a_onednn_limit(monkeypatch):
    from inference.backends import ov

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert ov.int8_dot_product() is None
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert ov.int8_dot_product() in (None, *ov.INT8_ISA)


def test_cpu_info_is_read_once_and_matches_both_spellings():
    from inference.cpu import CpuInfo, cpu_info

    assert cpu_info() is cpu_info()  # cached: /proc/cpuinfo is read once per process
    info = CpuInfo(model="x", flags=frozenset({"avx2", "avx_vnni"}), dispatch=frozenset({"AVX512VNNI"}))
    assert info.has("AVX512VNNI", "avx_vnni") == "AVX512VNNI"
    assert info.has("amx_int8", "avx_vnni") == "avx_vnni"
    assert info.has("amx_int8") is None


@pytest.mark.parametrize(("library", "reason"), [("/nonexistent/delegate.so", "no such file"),
                                                 ("libc.so.6", "not a TensorFlow Lite delegate library")])
def test_a_bad_litert_gpu_delegate_gives_its_reason_without_a_traceback(library, reason):
    """OTSCC_LITERT_GPU_DELEGATE=/nonexistent.so printed "Exception ignored in: <function Delegate.__del__ ...>
    AttributeError" on stderr, even when the run then succeeded on another backend."""
    if not (DEFAULT_SEG_MODEL / "model_fp16.tflite").is_file():
        pytest.skip("no model_fp16.tflite shipped")
    if library.startswith("libc") and not sys.platform.startswith("linux"):
        pytest.skip("libc.so.6 is Linux's")
    code = ("import gc\nfrom inference.assets import DEFAULT_SEG_MODEL\nfrom inference.backends import base\n"
            "try:\n    base.load_backend('litert-gpu', DEFAULT_SEG_MODEL, threads=1)\n"
            "except base.BackendUnavailableError as exc:\n    print('refused:', exc)\ngc.collect()\n")
    env = {**os.environ, "OTSCC_LITERT_GPU_DELEGATE": library}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                            timeout=300)
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0 and f"refused: GPU delegate {library!r}" in result.stdout and reason in result.stdout


@pytest.mark.parametrize(("user", "seen"), [(None, "3"), ("0", "0")])
def test_tensorflow_is_imported_with_its_cpp_errors_quiet_unless_the_user_chose(monkeypatch, user, seen):
    """``--backend keras`` printed TensorFlow's "failed call to cuInit" on every machine without a GPU: its C++ log
    level was 2, which keeps errors. Level 3 is set before the import, unless the user set one."""
    from types import SimpleNamespace

    from inference.backends import keras

    if user is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", user)
    levels = []
    monkeypatch.setattr(keras, "importlib", SimpleNamespace(
        import_module=lambda name: levels.append(os.environ.get("TF_CPP_MIN_LOG_LEVEL")) or SimpleNamespace()))
    keras.import_tensorflow()
    assert levels == [seen]
