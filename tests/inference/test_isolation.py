"""Faults, part 4 (issue 9, item 2): a model that crashes its runtime is test-loaded in a separate process
(``inference.isolation``), so the crash never reaches the app. Parts 1-3 (writes) are in test_faults.py, whose
``record_fault`` also records these recovery times.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference import isolation
from inference.assets import DEFAULT_SEG_MODEL
from inference.errors import BackendCrashedError, CancelledError
from inference.pipeline import Pipeline
from tests.inference.test_faults import CRASH_MODEL, nomogram_file, posix_only, record_fault


@pytest.fixture(scope="module")
def nomogram(tmp_path_factory) -> Path:
    return nomogram_file(tmp_path_factory.mktemp("nomo"))


# -- 4. a model that crashes its runtime -----------------------------------------------------------------
@functools.cache
def crafted_model_signal() -> str | None:
    """How the crafted model kills a bare LiteRT (``SIGSEGV``); None when this runtime no longer crashes on it."""
    code = "import sys; from ai_edge_litert.interpreter import Interpreter; Interpreter(model_path=sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", code, str(CRASH_MODEL)], capture_output=True, timeout=120)
    return isolation.describe_exit(done.returncode) if done.returncode < 0 else None


def crash_model_dir(folder: Path) -> Path:
    """``folder`` holding the crafted model as ``model_fp32.tflite`` (skips when it does not crash here)."""
    if crafted_model_signal() is None:
        pytest.skip(f"{CRASH_MODEL.name} no longer crashes this ai-edge-litert: the crafted-model checks need a "
                    "model that crashes the runtime (see tests/data/README.md for how to make one)")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CRASH_MODEL, folder / "model_fp32.tflite")
    return folder


@pytest.fixture
def crash_dir(tmp_path) -> Path:
    return crash_model_dir(tmp_path / "crash_model")


@pytest.fixture(autouse=True)
def _fresh_probe_cache():
    isolation.clear_cache()
    yield
    isolation.clear_cache()


def test_crashing_model_is_reported_and_never_loaded_here(crash_dir):
    start = time.perf_counter()
    with pytest.raises(BackendCrashedError) as info:
        isolation.probe_backend("litert", crash_dir, threads=1, timeout=60)
    seconds = time.perf_counter() - start
    error = info.value
    assert error.signal == crafted_model_signal() == "SIGSEGV" and error.model == "model_fp32.tflite"
    assert "crashed (SIGSEGV)" in str(error) and "model_fp32.tflite" in str(error) and "not loaded" in str(error)
    start = time.perf_counter()
    with pytest.raises(BackendCrashedError):  # cached: no second child
        isolation.probe_backend("litert", crash_dir, threads=1, timeout=60)
    assert time.perf_counter() - start < 0.5
    record_fault("crashing_model_probe", {"time_to_error_s": round(seconds, 3), "signal": error.signal})


def test_auto_passes_over_the_crashing_candidate(crash_dir, nomogram):
    shutil.copy(DEFAULT_SEG_MODEL / "model.onnx", crash_dir / "model.onnx")
    probe = isolation.probe_backend("auto", crash_dir, threads=1, timeout=60)
    assert probe.backend == "onnx" and probe.chosen["model_file"] == "model.onnx"
    assert any("tflite-fp32 on litert (cpu) crashed the runtime (SIGSEGV)" in n for n in probe.notes)
    pipeline = Pipeline(model_dir=crash_dir, nomogram=nomogram, backend=probe.backend, threads=1)  # no crash here
    assert pipeline.backend.name == "onnxruntime"
    record_fault("crashing_model_auto_fallback", {"probe_s": round(probe.seconds, 3), "loaded": "onnx"})


def test_auto_does_not_hide_a_tampered_file_behind_a_crashing_one(crash_dir):
    """Under auto a crash passes a candidate over, but a hash mismatch on the next one is still refused
    loudly (as in-process auto does), not passed over to a third."""
    from inference.backends.manifest import sha256_file
    from inference.errors import ModelIntegrityError

    shutil.copy(DEFAULT_SEG_MODEL / "model.onnx", crash_dir / "model.onnx")
    entry = lambda name, digest: {"format": name, "shipped": True, "status": "ok",  # noqa: E731
                                  "files": [{"path": digest[0], "sha256": digest[1]}]}
    manifest = {"schema_version": 1, "model_dir": crash_dir.name, "variants": {
        "tflite-fp32": entry("tflite-fp32", ("model_fp32.tflite", sha256_file(crash_dir / "model_fp32.tflite"))),
        "onnx": entry("onnx", ("model.onnx", "0" * 64))}}  # tampered
    (crash_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="model.onnx"):
        isolation.probe_backend("auto", crash_dir, threads=1, timeout=60)


def test_probe_of_the_shipped_model_is_cheap_once_cached():
    costs = {}
    for name in ("litert", "auto"):
        first = isolation.probe_backend(name, DEFAULT_SEG_MODEL, threads=2)
        start = time.perf_counter()
        again = isolation.probe_backend(name, DEFAULT_SEG_MODEL, threads=2)
        costs[name] = {"child_s": round(first.seconds, 3), "cached_s": round(time.perf_counter() - start, 4)}
        assert first.backend == name and first.isolated and first.chosen and not first.cached and again.cached
        assert costs[name]["cached_s"] < 0.5  # only the model files' SHA-256
    record_fault("probe_cost_shipped_model", costs)


def _fake_child(monkeypatch, body: str) -> None:
    def line(**event) -> str:
        return f"print({isolation.MARK + json.dumps(event)!r}, flush=True); "

    hello, tried = line(event="hello"), line(event="try", label="litert", file="m.tflite")
    monkeypatch.setattr(isolation, "child_command", lambda args: [sys.executable, "-c", "import os, time; "
                                                                  + body.format(hello=hello, tried=tried)])


@posix_only
def test_hung_or_aborting_runtime_and_missing_hook(monkeypatch, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    _fake_child(monkeypatch, "{hello}{tried}time.sleep(60)")
    start = time.perf_counter()
    with pytest.raises(BackendCrashedError, match=r"runtime hung \(no answer within 2 s") as info:
        isolation.probe_backend("litert", model, timeout=2)
    assert info.value.signal == "timeout" and time.perf_counter() - start < 20
    _fake_child(monkeypatch, "{hello}{tried}os.abort()")  # a hang is not cached: this child runs
    with pytest.raises(BackendCrashedError, match=r"crashed \(SIGABRT\)"):
        isolation.probe_backend("litert", model)
    _fake_child(monkeypatch, "raise SystemExit(2)")  # a frozen launcher without the -m inference.isolation hook
    isolation.clear_cache()
    probe = isolation.probe_backend("litert", model)
    assert not probe.isolated and probe.backend == "litert"


@posix_only
def test_a_cancelled_probe_kills_its_child_at_once_and_caches_nothing(monkeypatch, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    pid_file = tmp_path / "child.pid"
    _fake_child(monkeypatch, f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); {{hello}}{{tried}}time.sleep(60)")
    start = time.perf_counter()
    with pytest.raises(CancelledError, match="test-loaded"):
        isolation.probe_backend("litert", model, timeout=60, cancelled=lambda: time.perf_counter() - start > 1.0)
    assert time.perf_counter() - start < 10  # not the 60 s timeout
    child = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(child, 0)
    pid_file.unlink()

    def broken_check():  # a cancel check that fails (or Ctrl-C) must not leave the child running either
        if pid_file.exists():
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        isolation.probe_backend("litert", model, timeout=60, cancelled=broken_check)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    _fake_child(monkeypatch, "raise SystemExit(2)")  # the next probe runs a child again: nothing was cached
    probe = isolation.probe_backend("litert", model, cancelled=lambda: False)
    assert not probe.cached and not probe.isolated


def test_python_errors_are_left_to_the_in_process_load():
    probe = isolation.probe_backend("no-such-backend", DEFAULT_SEG_MODEL)
    assert probe.backend == "no-such-backend" and probe.chosen is None and probe.isolated


def test_the_child_turns_off_windows_crash_dialogs():
    """Windows only in effect (not run here): the error mode a crashing probe child sets before loading."""
    calls = []

    class Kernel32:
        def SetErrorMode(self, mode):  # noqa: N802 (the Windows API's name)
            calls.append(mode)

    assert isolation.quiet_crash_dialogs(Kernel32()) and calls == [0x0003]
    assert isolation.quiet_crash_dialogs() is (os.name == "nt")  # a no-op off Windows
