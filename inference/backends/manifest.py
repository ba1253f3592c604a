"""Model folder manifest: which variant files a folder ships, their SHA-256, and picking a file for a backend.

``otscc export`` writes ``manifest.json`` (schema below) into its output folder; for the shipped model it
writes ``assets/models/manifest.json`` with paths relative to ``assets/models`` (``seg/model_int8.tflite``).
A backend looks for the manifest in the model folder, then in its parent (when that manifest's
``model_dir`` names the folder).

Rules when a backend loads a file from a folder:

* no manifest found: the file is loaded and reported as unverified (development folders, e.g. a freshly
  trained model);
* manifest found: the file must be listed, marked ``shipped`` (it passed validation against the float
  model) and every listed file of the variant must match its SHA-256; a mismatch raises
  ``ModelIntegrityError`` and nothing is loaded.

Shipped parameter files (``assets/nomogram.json``, ``nomogram.clinical.json``, ``radiomics.yaml``) follow the
same rules with their own manifest, ``assets/manifest.json`` (``"kind": "parameter-files"``, written by
``python -m export.commands.assets_manifest``): ``read_parameter_file`` reads the bytes once, checks them, and
``Nomogram.load`` / ``radiomics.load_params`` parse exactly those bytes. A file beside no parameter manifest
(a user's own nomogram) loads as unverified. Layout::

    {"schema_version": 1, "kind": "parameter-files", "generated_by": "...",
     "files": [{"path": "nomogram.json", "sha256": "...", "bytes": 3161}, ...]}

Schema (``schema_version`` 1) of a model manifest, the parts the runtime reads::

    {"schema_version": 1, "model_dir": "seg",
     "reference": {"files": [{"path": "seg/best.weights.h5", "sha256": "...", "bytes": 4576008}, ...]},
     "variants": {"tflite-int8": {"format": "tflite-int8", "shipped": true, "status": "ok",
                                  "files": [{"path": "seg/model_int8.tflite", "sha256": "...", ...}], ...}}}
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from inference.errors import ModelIntegrityError
from inference.formats import FORMATS, REFERENCE_FILES, ModelFormat, format_of_file, formats_for, get_format

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
#: ``kind`` of the manifest listing shipped parameter files (``assets/manifest.json``; model manifests have none)
PARAMETERS_KIND = "parameter-files"
MODEL_REMEDY = "reinstall the model folder or re-run `otscc export`"
PARAMETERS_REMEDY = ("reinstall otscc-edge (a developer who changed the file on purpose records its new hash with "
                     "`python -m export.commands.assets_manifest`)")


class VariantUnavailable(Exception):  # noqa: N818 (internal signal, turned into BackendUnavailableError)
    """No usable file for the requested variant in this folder; the message says why."""


class VariantNotExported(VariantUnavailable):
    """No candidate's file is in the model folder: the variant was not exported there (nothing about this machine).
    ``formats``: the format names looked for, in the order tried (a backend's error names its files from them)."""

    def __init__(self, message: str, formats: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.formats = tuple(formats)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


#: folders a model folder may hold that are not part of the model, all from ``otscc train-seg`` when its run folder
#: is used as a model: ``--no-resume`` moves a previous run into ``previous-<UTC time>/`` (training.seg.run_folder),
#: never deleted; ``ckpt/`` is the resume checkpoint and ``cache/`` the preprocessed stacks (hundreds of MB for a
#: cohort: hashing them made a Keras start on a run folder take as long as reading them)
NOT_MODEL_FOLDERS = ("previous-*", "ckpt", "cache")


def folder_files(folder: Path) -> list[Path]:
    """The files below ``folder``, sorted. In a model folder (one with a ``config.json``, as ``train-seg`` writes) its
    ``NOT_MODEL_FOLDERS`` subfolders are left out, unread: hashing them tied the model's digest to files it does not
    load. Any other folder (a format's folder, e.g. a SavedModel) keeps every file."""
    folder = Path(folder)
    skip = NOT_MODEL_FOLDERS if (folder / "config.json").is_file() else ()
    files = []
    for child in folder.iterdir():
        if child.is_dir():
            if not any(child.match(n) for n in skip):
                files += [p for p in child.rglob("*") if p.is_file()]
        elif child.is_file():
            files.append(child)
    return sorted(files)


def file_records(paths: list[Path], root: Path) -> list[dict]:
    """``{"path", "sha256", "bytes"}`` for files (folders expand to their files), paths relative to ``root``."""
    records, root = [], Path(root).resolve()
    for path in paths:
        path = Path(path).resolve()
        files = folder_files(path) if path.is_dir() else [path]
        for f in files:
            records.append({"path": f.relative_to(root).as_posix(), "sha256": sha256_file(f),
                            "bytes": f.stat().st_size})
    return records


@dataclass(frozen=True)
class Manifest:
    path: Path
    data: dict

    @property
    def root(self) -> Path:
        return self.path.parent

    def variant(self, name: str) -> dict | None:
        return self.data.get("variants", {}).get(name)

    def shipped(self) -> dict[str, dict]:
        """The variants that passed validation (name -> entry), in the manifest's order."""
        return {name: v for name, v in self.data.get("variants", {}).items() if v.get("shipped")}

    def relative(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()


def find_manifest(folder: str | Path) -> Manifest | None:
    """The manifest covering ``folder``: its own ``manifest.json``, else its parent's that names it."""
    folder = Path(folder)
    own = folder / MANIFEST_NAME
    if own.is_file():
        return Manifest(own, _read(own))
    parent = folder.parent / MANIFEST_NAME
    if parent.is_file():
        data = _read(parent)
        if data.get("model_dir") == folder.name:
            return Manifest(parent, data)
    return None


def _model_file_names() -> tuple[str, ...]:
    """Every file name a model folder may hold: the manifest, the float reference and each format's files."""
    return (MANIFEST_NAME, *REFERENCE_FILES, *(name for row in FORMATS for name in row.files))


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` can be a model: a model file or a folder format's folder, or a folder with a manifest (its
    own, or its parent's that names it), a float reference file (``config.json``, as ``otscc train-seg`` writes) or
    any format's file (a development folder without a manifest loads as unverified)."""
    path = Path(path)
    if path.is_file() or format_of_file(path.name) is not None:
        return True
    if not path.is_dir():
        return False
    if any((path / name).exists() for name in _model_file_names()):
        return True
    try:
        return find_manifest(path) is not None
    except ModelIntegrityError:  # the parent's manifest is unreadable: the backends report that in their words
        return True


def check_model_folder(model_dir: str | Path, backend: str = "auto") -> None:
    """Refuse a ``--model`` that does not exist, or a folder that holds no model (an empty or wrong folder), in one
    line before any backend is tried: every backend said so in its own clause (a 1,200-character line, or for one
    backend each of its files "missing from" the folder with an ``otscc export`` command that cannot work there).
    The Keras backend keeps its own message: it names the two files it needs and where they come from.

    Raises:
        ModelFolderError: the path, and what a model folder is (an ``InputError``).
    """
    from inference.errors import ModelFolderError

    if not Path(model_dir).exists():
        raise ModelFolderError(f"{model_dir}: no such model folder (a folder with the model files and their "
                               "manifest; the shipped one is the default)")
    if backend != "keras" and not is_model_folder(model_dir):
        raise ModelFolderError(f"{model_dir}: not a model folder (no {MANIFEST_NAME}, config.json or model file in "
                               "it): choose a folder that otscc export or otscc train-seg wrote",
                               cli_hint="(--model; the shipped one is the default)")
    if backend == "auto" and _config_only(Path(model_dir)):
        raise ModelFolderError(
            f"{model_dir}: no model file in it, only config.json (no exported variant and no {REFERENCE_FILES[-1]}: a "
            "training run that ended before its first epoch, or a folder copied without its files): choose the "
            f"folder of a trained model (config.json with {REFERENCE_FILES[-1]}, or exported variants)",
            cli_hint="(--model; the shipped one is the default)")


def _config_only(folder: Path) -> bool:
    """A folder holding a training config.json but no weights, no variant of any format and no manifest (its own or a
    parent's): every backend of ``auto`` would say a file is missing, one clause each (a ~1,500-character line)."""
    if not folder.is_dir() or not (folder / "config.json").is_file():
        return False
    if any((folder / name).exists() for name in _model_file_names() if name != "config.json"):
        return False
    try:
        return find_manifest(folder) is None
    except ModelIntegrityError:  # an unreadable parent manifest: the backends say that in their words
        return False


#: the field of view of a model that records none (every shipped model so far): 256 pixels over 160 mm
DEFAULT_FOV_MM = 160.0


def model_fov_mm(model_path: str | Path) -> float:
    """The field of view (mm across the input) the model at ``model_path`` (folder or file) was trained and exported
    on: its manifest's input grid, else its training ``config.json`` (``train-seg --fov-mm``), else
    ``DEFAULT_FOV_MM``. The runtime used 160 mm whatever the model said, so a model trained at 120 mm was validated
    at 120 and then run at 160."""
    path = Path(model_path).absolute()
    folder = path if path.is_dir() and format_of_file(path.name) is None else path.parent
    manifest = find_manifest(folder)
    grid = ((manifest.data.get("input") or {}).get("grid") or {}) if manifest is not None else {}
    value = grid.get("fov_mm")
    if value is None and (folder / "config.json").is_file():
        try:
            value = (json.loads((folder / "config.json").read_text()).get("train") or {}).get("fov_mm")
        except (OSError, ValueError, AttributeError):
            value = None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1000:
        return float(value)
    return DEFAULT_FOV_MM


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelIntegrityError(f"{path}: unreadable manifest ({exc}); reinstall the model folder or re-run "
                                  "`otscc export`.") from exc
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise ModelIntegrityError(f"{path}: not an otscc-edge manifest of schema {SCHEMA_VERSION}.")
    return data


def verify_records(manifest: Manifest, records: list[dict], what: str, remedy: str = MODEL_REMEDY) -> None:
    """Raise ``ModelIntegrityError`` when a recorded file is missing or its SHA-256 differs."""
    for record in records:
        path = manifest.root / record["path"]
        if not path.is_file():
            raise ModelIntegrityError(f"{path}: listed in {manifest.path} for {what} but missing; {remedy}.")
        _compare(path, sha256_file(path), record, manifest, what, remedy)


def _compare(path: Path, actual: str, record: dict, manifest: Manifest, what: str, remedy: str) -> None:
    if actual != record.get("sha256"):
        raise ModelIntegrityError(
            f"{path}: SHA-256 {actual[:16]}... does not match {str(record.get('sha256'))[:16]}... recorded in "
            f"{manifest.path} for {what}: the file was changed or corrupted. Refusing to load it; {remedy}.")


@dataclass(frozen=True)
class ResolvedModel:
    """The file a backend will load and how far it was checked."""

    format: ModelFormat | None  # None: a file no table row names (e.g. a user's own .tflite)
    path: Path
    integrity: str  # "sha256 verified (<manifest>)", "unverified: no manifest.json", "not checked"
    digests: tuple[tuple[Path, str], ...] = ()  # (file, SHA-256) of the variant's files, as the manifest verified
    manifest: Path | None = None  # the manifest that verified them

    def read(self, path: Path | None = None) -> bytes:
        """``path``'s bytes (default: the model file) for the runtime to parse from memory, so that what runs is
        what was checked: when the manifest verified the variant, the bytes must match the digest it recorded
        for that file (the file could have been replaced since the check), and a file it does not list is
        refused.

        Raises:
            OSError: the file cannot be read.
            ModelIntegrityError: the bytes differ from the manifest's digest, or the manifest does not list the file.
        """
        path = self.path if path is None else Path(path)
        data = path.read_bytes()
        if not self.digests:
            return data  # not checked (``verify=False``) or no manifest: the integrity note says so
        expected = dict(self.digests).get(path)
        if expected is None:
            raise ModelIntegrityError(f"{path}: not among the files {self.manifest} records for "
                                      f"{self.format.name if self.format else 'this variant'}; {MODEL_REMEDY}.")
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ModelIntegrityError(
                f"{path}: SHA-256 {actual[:16]}... does not match {expected[:16]}... recorded in {self.manifest}: "
                f"the file changed after it was verified. Refusing to load it; {MODEL_REMEDY}.")
        return data


def resolve_model(model_path: str | Path, runtime: str, variant: str | None = None, *,
                  preference: tuple[str, ...] | None = None, verify: bool = True) -> ResolvedModel:
    """Pick the file a backend runs from a model folder (or check a given file).

    Args:
        model_path: model folder, or one model file (or a folder-format's folder, e.g. ``saved_model``).
        runtime: backend name; only formats whose row lists it are considered.
        variant: format name to load; None tries ``preference`` (default: the table's order) and takes
            the first present, shipped one.
        verify: check the manifest (off only while ``otscc export`` validates files it has just written).

    Raises:
        VariantUnavailable: nothing usable; the message lists why each candidate was passed over.
        ModelIntegrityError: a candidate's file does not match its manifest hash.
    """
    model_path = Path(model_path).absolute()  # "." or "model.tflite" from inside the folder: its manifest is found
    single = model_path.is_file() or (model_path.is_dir() and format_of_file(model_path.name) is not None)
    if single:
        fmt = format_of_file(model_path.name)
        if variant is not None and (fmt is None or fmt.name != variant):
            raise VariantUnavailable(f"{model_path.name} is not the {variant} file ({get_format(variant).file})")
        candidates, folder = [fmt], model_path.parent
    elif model_path.is_dir():
        folder = model_path
        if variant is not None:
            fmt = get_format(variant)
            if runtime not in fmt.runtimes:
                raise VariantUnavailable(f"{runtime} cannot run {variant} (runtimes: {', '.join(fmt.runtimes)})")
            candidates = [fmt]
        else:
            names = preference or tuple(f.name for f in formats_for(runtime))
            candidates = [get_format(n) for n in names]
    else:
        raise VariantUnavailable(f"{model_path}: no such model file or folder")
    manifest = find_manifest(folder) if verify else None
    reasons, missing = [], []
    for fmt in candidates:
        path = model_path if single else folder / fmt.file
        if not path.exists():
            reasons.append(f"{path.name} is missing from {folder} (not exported)")
            missing.append(fmt.name)
            continue
        if not verify:
            return ResolvedModel(fmt, path, "not checked")
        if manifest is None:
            return ResolvedModel(fmt, path, f"unverified: no {MANIFEST_NAME}")
        entry = manifest.variant(fmt.name) if fmt is not None else None
        if entry is None:
            reasons.append(f"{path.name} is not listed in {manifest.path}")
            continue
        if not entry.get("shipped"):
            reasons.append(f"{path.name} is not shipped ({entry.get('reason') or entry.get('status')})"
                           + not_shipped_remedy(entry, folder))
            continue
        records = entry.get("files", [])
        verify_records(manifest, records, fmt.name)
        digests = tuple((manifest.root / r["path"], r["sha256"]) for r in records)
        if path.is_file() and path not in dict(digests):
            raise ModelIntegrityError(f"{path}: {manifest.path} lists the {fmt.name} variant as shipped but records no "
                                      f"hash for this file; {MODEL_REMEDY}.")
        return ResolvedModel(fmt, path, f"sha256 verified ({manifest.path.name})", digests, manifest.path)
    if reasons and len(missing) == len(reasons):
        raise VariantNotExported("; ".join(reasons), tuple(missing))
    raise VariantUnavailable("; ".join(reasons) or f"no model for {runtime} in {folder}")


def not_shipped_remedy(entry: dict, folder: Path) -> str:
    """What to do about a variant the manifest lists as not shipped: one exported without ``--cohort`` is validated
    (and shipped) by exporting it again with the training cohort; one that failed validation is not fixed that way."""
    reason = entry.get("reason") or ""
    if reason == "not validated":
        return (f"; to validate and ship it, export it again with the training cohort: otscc export --model {folder} "
                f"--out {folder} --formats {entry.get('format')} --cohort DIR")
    if reason.startswith("built, not validated here"):
        return "; to ship it, export it with --cohort on a machine that can run it"
    return ""


def verify_reference(folder: str | Path, *, verify: bool = True) -> str:
    """Check ``config.json`` + ``best.weights.h5`` against the manifest's reference entry.

    Returns:
        The integrity note for ``describe()``.
    """
    folder = Path(folder)
    manifest = find_manifest(folder) if verify else None
    if not verify:
        return "not checked"
    if manifest is None:
        return f"unverified: no {MANIFEST_NAME}"
    records = manifest.data.get("reference", {}).get("files", [])
    wanted = {manifest.relative(folder / name) for name in REFERENCE_FILES}
    listed = {r["path"] for r in records}
    if not wanted <= listed:
        raise ModelIntegrityError(f"{manifest.path} does not list the float reference files "
                                  f"({', '.join(sorted(wanted - listed))}); re-run `otscc export`.")
    verify_records(manifest, [r for r in records if r["path"] in wanted], "the float reference")
    return f"sha256 verified ({manifest.path.name})"


# --- shipped parameter files (nomogram, radiomics settings) ------------------------------------------------

@dataclass(frozen=True)
class VerifiedFile:
    """A parameter file read once: the bytes the caller parses are the bytes that were hashed."""

    path: Path
    data: bytes
    sha256: str
    integrity: str  #: "sha256 verified (manifest.json)" or "unverified: no manifest.json"


def find_parameter_manifest(folder: str | Path) -> Manifest | None:
    """``folder/manifest.json`` when it is a parameter manifest (a model folder's manifest is not one)."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    data = _read(path)
    return Manifest(path, data) if data.get("kind") == PARAMETERS_KIND else None


def read_parameter_file(path: str | Path) -> VerifiedFile:
    """Read a parameter file (nomogram JSON, radiomics YAML) and check it against its folder's manifest.

    Same rules as model folders: no parameter manifest beside the file (a user's own nomogram): loaded and
    reported ``unverified``; a manifest: the file must be listed and match its SHA-256, checked before a
    single byte is parsed.

    Raises:
        OSError: the file cannot be read (callers turn it into their own typed error).
        ModelIntegrityError: not listed in, or different from, the manifest of its folder.
    """
    path = Path(path)
    manifest = find_parameter_manifest(path.parent)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if manifest is None:
        return VerifiedFile(path, data, digest, f"unverified: no {MANIFEST_NAME}")
    record = next((r for r in manifest.data.get("files", []) if r.get("path") == path.name), None)
    if record is None:
        raise ModelIntegrityError(
            f"{path}: not listed in {manifest.path}, which lists the shipped parameter files; keep your own files "
            "in a folder of your own (they then load as unverified), or record it with "
            "`python -m export.commands.assets_manifest`.")
    _compare(path, digest, record, manifest, "the shipped parameters", PARAMETERS_REMEDY)
    return VerifiedFile(path, data, digest, f"sha256 verified ({manifest.path.name})")
