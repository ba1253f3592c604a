"""Runtime imports: missing, broken and too-old runtimes give a typed error that names the fix."""

from __future__ import annotations

import re
import tomllib
import types
from pathlib import Path

import pytest

from inference.backends import versions
from inference.backends.base import BackendUnavailableError, BrokenRuntimeError, select_backend
from inference.backends.versions import MINIMUM, import_runtime, version_tuple

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_states_the_same_floors_as_the_runtime_checks():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {}
    for dep in deps:
        m = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", dep)
        if m:
            floors[m.group(1).lower()] = m.group(2)
    for dist, minimum in MINIMUM.values():
        assert floors.get(dist) == minimum, f"pyproject.toml: {dist}>={floors.get(dist)}, runtime check: {minimum}"


@pytest.mark.parametrize(("text", "expected"), [
    ("2024.2.0-15519-5c0f38f83f6-releases/2024/2", (2024, 2, 0)),
    ("1.19.0", (1, 19, 0)),
    ("2.1.5", (2, 1, 5)),
    ("1.20rc1", (1, 20)),
    ("1.19.0+cu12", (1, 19, 0)),
    ("nightly", ()),
])
def test_version_tuple(text, expected):
    assert version_tuple(text) == expected


def test_versions_compare_numerically_not_as_text():
    assert version_tuple("2024.10") > version_tuple("2024.2")
    assert version_tuple("1.9") < version_tuple("1.19")


def _fake_import(monkeypatch, result):
    def fake(name):
        if isinstance(result, BaseException):
            raise result
        return result

    monkeypatch.setattr(versions, "_import", fake)


def test_a_missing_runtime_says_not_installed_and_how_to_install(monkeypatch):
    _fake_import(monkeypatch, ModuleNotFoundError("No module named 'openvino'", name="openvino"))
    with pytest.raises(BackendUnavailableError, match=r"openvino is not installed \(pip install --upgrade "
                                                        r"'openvino>=2024\.2'\)") as err:
        import_runtime("openvino")
    assert not isinstance(err.value, BrokenRuntimeError)  # missing is not broken: self-test skips it


def test_a_runtime_that_fails_to_import_is_not_called_missing(monkeypatch):
    # ONNX Runtime 1.18 under NumPy 2 raises ImportError('') (it printed "_ARRAY_API not found" itself)
    _fake_import(monkeypatch, ImportError(""))
    with pytest.raises(BrokenRuntimeError) as err:
        import_runtime("onnxruntime")
    message = str(err.value)
    assert "is installed but cannot be loaded (ImportError without a message" in message
    assert "not installed" not in message
    assert "'onnxruntime>=1.19'" in message


def test_a_missing_dependency_of_the_runtime_is_reported_as_such(monkeypatch):
    _fake_import(monkeypatch, ModuleNotFoundError("No module named 'openvino_telemetry'", name="openvino_telemetry"))
    with pytest.raises(BrokenRuntimeError, match=r"cannot be loaded \(ModuleNotFoundError: No module named "
                                                        r"'openvino_telemetry'\)"):
        import_runtime("openvino")


def test_a_native_error_chained_under_an_empty_import_error_is_named(monkeypatch):
    try:
        try:
            raise AttributeError("_ARRAY_API not found")
        except AttributeError as inner:
            raise ImportError("") from inner
    except ImportError as outer:
        _fake_import(monkeypatch, outer)
    with pytest.raises(BackendUnavailableError, match=r"AttributeError: _ARRAY_API not found"):
        import_runtime("onnxruntime")


@pytest.mark.parametrize(("name", "old", "ok"), [
    ("openvino", "2024.1.0-15008-f4afc983258-releases/2024/1", "2024.2.0-15519-5c0f38f83f6-releases/2024/2"),
    ("onnxruntime", "1.18.1", "1.19.0"),
    ("ai_edge_litert", "2.1.4", "2.1.5"),
])
def test_a_runtime_older_than_the_oldest_tested_is_refused(monkeypatch, name, old, ok):
    _fake_import(monkeypatch, types.SimpleNamespace(__version__=old))
    with pytest.raises(BrokenRuntimeError, match=rf"{old.split('-')[0]} is older than .*the oldest version "
                                                        r"tested"):
        import_runtime(name)
    module = types.SimpleNamespace(__version__=ok)
    _fake_import(monkeypatch, module)
    assert import_runtime(name) is module


def test_the_installed_runtimes_pass_their_own_floor():
    for name in MINIMUM:
        assert import_runtime(name).__name__ == name


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime", "litert"])
def test_a_named_backend_on_a_too_old_runtime_fails_with_the_reason(monkeypatch, backend):
    module = {"openvino": "openvino", "onnxruntime": "onnxruntime", "litert": "ai_edge_litert"}[backend]
    real = versions._import

    def fake(name):
        return types.SimpleNamespace(__version__="0.1") if name == module else real(name)

    monkeypatch.setattr(versions, "_import", fake)
    with pytest.raises(BackendUnavailableError, match=r"0\.1 is older than"):
        select_backend(backend)


def test_auto_passes_over_a_too_old_runtime_with_the_reason_in_its_notes(monkeypatch):
    real = versions._import
    monkeypatch.setattr(versions, "_import", lambda name: types.SimpleNamespace(__version__="2.0.2")
                        if name == "ai_edge_litert" else real(name))
    backend, notes = select_backend("auto")
    try:
        assert backend.name != "litert"
        assert any("ai-edge-litert 2.0.2 is older than 2.1.5" in note for note in notes), notes
    finally:
        backend.close()


def test_auto_passes_over_a_litert_whose_interpreter_cannot_load(monkeypatch):
    """The package imports no native code itself, so import_runtime passes; its interpreter module can still fail
    (a broken or foreign-platform install): auto must fall back, not crash."""
    import builtins
    import sys

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "ai_edge_litert.interpreter" or (name == "ai_edge_litert" and args and args[2]
                                                    and "interpreter" in args[2]):
            raise ImportError("libtensorflowlite_c.so: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "ai_edge_litert.interpreter", raising=False)
    monkeypatch.setattr(builtins, "__import__", broken)
    backend, notes = select_backend("auto")
    try:
        assert backend.name != "litert"
        assert any("interpreter cannot be loaded (ImportError: libtensorflowlite_c.so" in note for note in notes), notes
    finally:
        backend.close()
