"""Import a runtime, or say exactly why it cannot run: not installed, installed but broken, or too old.

``MINIMUM`` holds the oldest version of each runtime that passed the backend, integrity and self-test checks
with the shipped model files (docs/export.md, "Oldest runtimes"); ``pyproject.toml`` states the same floors
(a test keeps the two equal). Older versions fail in ways that say nothing to a user: OpenVINO before 2024.2
cannot read the shipped int8 IR ("Check 'ov::util::is_valid_axes_order' failed"), ONNX Runtime before 1.19 was
built for NumPy 1 ("AttributeError: _ARRAY_API not found", which the backend used to report as "onnxruntime is
not installed ()"), ai-edge-litert before 2.1.5 has no ``ai_edge_litert.options`` for its GPU path.
"""

from __future__ import annotations

import importlib
import os
import re
from types import ModuleType

from inference.backends.base import BackendUnavailableError, BrokenRuntimeError

_import = importlib.import_module  # tests replace it

#: import name -> (distribution name, oldest version tested)
MINIMUM: dict[str, tuple[str, str]] = {
    "ai_edge_litert": ("ai-edge-litert", "2.1.5"),
    "onnxruntime": ("onnxruntime", "1.19"),
    "openvino": ("openvino", "2024.2"),
}


def version_tuple(text: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: ``2024.2.0-15519-...`` -> (2024, 2, 0)."""
    release = re.match(r"\d+(?:\.\d+)*", text.strip())
    return tuple(int(n) for n in release.group().split(".")) if release else ()


def installed_version(module: ModuleType, dist: str) -> str | None:
    """The runtime's version: its ``__version__`` (right for renamed builds such as onnxruntime-gpu), else the
    distribution's metadata, else None (unknown, e.g. metadata stripped from a bundle)."""
    found = getattr(module, "__version__", None)
    if isinstance(found, str) and version_tuple(found):
        return found
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def import_runtime(name: str) -> ModuleType:
    """``import name`` for a backend, with a typed, actionable error.

    Raises:
        BackendUnavailableError: the runtime is missing; the message names the fix.
        BrokenRuntimeError: it fails to import (e.g. built for another NumPy) or is older than ``MINIMUM``.
    """
    dist, minimum = MINIMUM[name]
    fix = f"pip install --upgrade '{dist}>={minimum}'"
    try:
        module = _import(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:  # the package itself; a missing part of it is an incomplete install, below
            raise BackendUnavailableError(f"{dist} is not installed ({fix})") from exc
        raise BrokenRuntimeError(_broken(dist, exc, fix)) from exc
    except Exception as exc:  # noqa: BLE001 (a native extension can fail to load with any exception type)
        raise BrokenRuntimeError(_broken(dist, exc, fix)) from exc
    found = installed_version(module, dist)
    if os.environ.get("OTSCC_SKIP_RUNTIME_FLOOR") == "1":  # python -m export.oldest_runtimes: see how older fail
        return module
    if found is not None and version_tuple(found) < version_tuple(minimum):
        raise BrokenRuntimeError(f"{dist} {found.split('-')[0]} is older than {minimum}, the oldest version "
                                 f"tested with these model files ({fix})")
    return module


def _broken(dist: str, exc: BaseException, fix: str) -> str:
    import numpy as np

    # the import machinery may re-raise with an empty message (ONNX Runtime built for NumPy 1: "ImportError" from
    # "AttributeError: _ARRAY_API not found"): name the first error in the chain that says something
    seen, said = exc, exc
    while seen is not None and not str(said).strip():
        seen = seen.__cause__ or seen.__context__
        said = seen if seen is not None else said
    text = str(said).strip()
    detail = f"{type(said).__name__}: {text.splitlines()[0][:200]}" if text else (
        f"{type(said).__name__} without a message; the lines the runtime printed above say more")
    from importlib.metadata import PackageNotFoundError, version

    try:
        which = f"{dist} {version(dist)}"
    except PackageNotFoundError:
        which = dist
    return (f"{which} is installed but cannot be loaded ({detail}); a build for another NumPy than the installed "
            f"{np.__version__}, or an incomplete install, fails like this ({fix})")
