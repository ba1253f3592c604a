"""Write the model manifest: per variant its files and SHA-256, format, precision, input spec, preprocessing
version, export and validation figures, and the toolchain versions (schema: ``inference/backends/manifest.py``).

For the shipped model folder (``assets/models/seg``) the manifest is ``assets/models/manifest.json`` with
paths relative to ``assets/models``; for any other output folder it is ``<out>/manifest.json``. Entries of
an earlier manifest for formats not rebuilt in this run are kept when the float reference is unchanged
and their files still match their hashes.

The shipped parameter files (nomogram, radiomics settings) have their own manifest, ``assets/manifest.json``
(``build_parameter_manifest``; rewritten by ``python -m export.commands.assets_manifest`` when one of them
changes on purpose; a test fails while it is stale).
"""

from __future__ import annotations

import json
import logging
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from export.steps import OK, FormatResult
from inference.assets import ASSETS, DEFAULT_SEG_MODEL, MODELS, PARAMETER_FILES
from inference.atomic import write_json
from inference.backends.manifest import (
    MANIFEST_NAME,
    PARAMETERS_KIND,
    SCHEMA_VERSION,
    Manifest,
    file_records,
    find_manifest,
    verify_records,
)
from inference.errors import ModelIntegrityError
from inference.formats import REFERENCE_FILES, get_format
from inference.preprocess import CHANNELS, PREPROCESS_VERSION

log = logging.getLogger(__name__)

TOOLCHAIN = ("tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert", "tf2onnx", "onnx",
             "onnxruntime", "openvino", "nncf", "tensorrt", "numpy")


def toolchain_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in TOOLCHAIN:
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return versions


def manifest_location(out_dir: Path) -> tuple[Path, str]:
    """(manifest path, ``model_dir`` value): the shipped folder's manifest lives one level up, and so does that of
    any folder whose parent's manifest names it (a copy of ``assets/models``): a second ``manifest.json`` inside
    the folder would hide that one and with it every variant this run did not rebuild."""
    out_dir = Path(out_dir).resolve()  # "--out ." from inside the folder: its parent and name are needed below
    if out_dir == DEFAULT_SEG_MODEL.resolve():
        return MODELS / MANIFEST_NAME, DEFAULT_SEG_MODEL.name
    if not (out_dir / MANIFEST_NAME).is_file():
        try:
            found = find_manifest(out_dir)
        except ModelIntegrityError:
            found = None
        if found is not None and found.path.parent == out_dir.parent:
            return found.path, out_dir.name
    return out_dir / MANIFEST_NAME, "."


def build_manifest(out_dir: Path, size: int, fov_mm: float, results: dict[str, FormatResult], *,
                   reference_validation: dict | None, validation_info: dict | None) -> tuple[Path, dict]:
    """The manifest for ``out_dir`` (not yet written): this run's results merged over kept older entries."""
    out_dir = Path(out_dir)
    path, model_dir = manifest_location(out_dir)
    root = path.parent
    reference = {"files": file_records([out_dir / name for name in REFERENCE_FILES], root),
                 "validation": reference_validation}
    variants, old = _kept_variants(out_dir, reference, results)
    if old is not None and variants:  # figures of kept entries stay described when this run validated nothing
        reference["validation"] = reference_validation or old.data["reference"].get("validation")
        validation_info = validation_info or old.data.get("validation")
    for name, result in results.items():
        fmt = get_format(name)
        entry = {"format": name, "file": _rel(out_dir / fmt.file, root), "precision": fmt.precision,
                 "runtimes": list(fmt.runtimes), "needs_gpu": fmt.needs_gpu, "status": result.status,
                 "reason": result.reason, "shipped": result.shipped, "files": [],
                 "export": {"seconds": result.seconds, "bytes": result.bytes, **result.details},
                 "validation": result.validation}
        if result.status == OK:
            entry["files"] = file_records([out_dir / f for f in result.files], root)
        variants[name] = entry
    data = {
        "schema_version": SCHEMA_VERSION, "generated_by": "otscc export",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "model_dir": model_dir,
        "preprocess_version": PREPROCESS_VERSION,
        "input": {"name": "mri", "shape": [1, size, size, 3], "dtype": "float32", "layout": "NHWC",
                  "range": [0.0, 1.0], "channels": list(CHANNELS),
                  "grid": {"size": size, "fov_mm": fov_mm}},
        "output": {"name": "prob", "shape": [1, size, size, 1], "dtype": "float32",
                   "meaning": "tumor probability per pixel; the runtime thresholds at 0.5"},
        "reference": reference, "validation": validation_info, "toolchain": toolchain_versions(),
        "variants": variants,
    }
    return path, data


def write_manifest(path: Path, data: dict) -> None:
    write_json(path, data)
    log.info("manifest written: %s", path)


def _rel(path: Path, root: Path) -> str:
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def _kept_variants(out_dir: Path, reference: dict, results: dict[str, FormatResult]) -> tuple[dict, Manifest | None]:
    """Entries of the existing manifest worth keeping (same reference weights, files unchanged)."""
    try:
        old = find_manifest(out_dir)
    except ModelIntegrityError as exc:
        log.warning("ignoring the unreadable old manifest: %s", exc)
        return {}, None
    if old is None:
        return {}, None
    old_ref = {r["path"]: r["sha256"] for r in old.data.get("reference", {}).get("files", [])}
    new_ref = {r["path"]: r["sha256"] for r in reference["files"]}
    if old_ref != new_ref:
        log.info("float reference changed since %s: older variant entries dropped", old.path)
        return {}, None
    kept = {name: entry for name, entry in old.data.get("variants", {}).items()
            if name not in results and _still_valid(old, entry, name)}
    return kept, old


def _still_valid(manifest: Manifest, entry: dict, name: str) -> bool:
    if entry.get("status") != OK:
        return True  # a skipped/failed record has no files to check
    try:
        verify_records(manifest, entry.get("files", []), name)
    except ModelIntegrityError as exc:
        log.warning("dropping %s from the manifest: %s", name, exc)
        return False
    return True


#: the shipped parameter files ``assets/manifest.json`` lists (checked by ``Nomogram.load`` and ``load_params``)


def build_parameter_manifest(assets: Path = ASSETS, names: tuple[str, ...] = PARAMETER_FILES) -> dict:
    """The parameter manifest of ``assets`` (no timestamp: rebuilding unchanged files gives the same bytes)."""
    return {"schema_version": SCHEMA_VERSION, "kind": PARAMETERS_KIND,
            "generated_by": "python -m export.commands.assets_manifest",
            "files": file_records([Path(assets) / name for name in names], Path(assets))}


def parameter_manifest_problems(assets: Path = ASSETS, names: tuple[str, ...] = PARAMETER_FILES) -> list[str]:
    """Why ``assets/manifest.json`` does not describe the files beside it (empty: it does)."""
    path = Path(assets) / MANIFEST_NAME
    if not path.is_file():
        return [f"{path} is missing"]
    try:
        recorded = {r["path"]: r["sha256"] for r in json.loads(path.read_text())["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{path} is unreadable ({exc})"]
    actual = {r["path"]: r["sha256"] for r in build_parameter_manifest(assets, names)["files"]}
    problems = [f"{name}: not listed" for name in sorted(set(actual) - set(recorded))]
    problems += [f"{name}: listed but not shipped" for name in sorted(set(recorded) - set(actual))]
    problems += [f"{name}: SHA-256 changed" for name in sorted(set(actual) & set(recorded))
                 if actual[name] != recorded[name]]
    return problems


def write_parameter_manifest(assets: Path = ASSETS, names: tuple[str, ...] = PARAMETER_FILES) -> Path:
    path = Path(assets) / MANIFEST_NAME
    write_json(path, build_parameter_manifest(assets, names))
    log.info("parameter manifest written: %s", path)
    return path
