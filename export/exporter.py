"""Export the float model to the requested formats, validate each variant, write the manifest.

``CONVERTERS`` has one entry per row of ``inference.formats.FORMATS`` (a test checks it); formats are built
in table order, a row's ``built_from`` dependency is added when not requested, and a format whose
dependency did not build is skipped with that reason. Nothing is written into the input model folder
unless it is also the output folder.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from export import gpu, onnx_ov, saved_model, tflite
from export.context import ExportContext, ExportSettings
from export.manifest import build_manifest, write_manifest
from export.steps import FAILED, OK, SKIPPED, FormatResult, run_step
from inference.atomic import atomic_path
from inference.backends.base import BackendUnavailableError, NotValidatedOnThisCPU, SegBackend, load_backend
from inference.errors import InputError, ModelIntegrityError, OtsccError, OutputError
from inference.formats import FORMATS, REFERENCE_FILES, ModelFormat, get_format
from inference.wording import plural

log = logging.getLogger(__name__)

Converter = Callable[[ExportContext, ModelFormat, Path], dict | None]

CONVERTERS: dict[str, Converter] = {
    "keras": saved_model.export_saved_model,
    "tflite-fp32": tflite.export_fp32,
    "tflite-fp16": tflite.export_fp16,
    "tflite-int8": tflite.export_int8,
    "tflite-int8-qat": tflite.export_int8_qat,
    "onnx": onnx_ov.export_onnx,
    "openvino-int8": onnx_ov.export_openvino_int8,
    "tensorrt-fp16": gpu.export_tensorrt,
    "tensorrt-int8": gpu.export_tensorrt,
    "tf-trt": gpu.export_tf_trt,
}

#: rows that can only be built on some machines: a function giving the reason they cannot be built here
PRECHECKS: dict[str, Callable[[], str | None]] = {
    "tensorrt-fp16": gpu.tensorrt_unavailable_reason,
    "tensorrt-int8": gpu.tensorrt_unavailable_reason,
    "tf-trt": gpu.tf_trt_unavailable_reason,
}

#: default ``--formats``: the rows shipped in the model folder
DEFAULT_FORMATS = tuple(f.name for f in FORMATS if f.shipped)


class NothingBuiltError(OtsccError):
    """``otscc export`` built none of the formats it was asked for: each was skipped or failed (its table says why).
    A non-zero exit, as ``otscc benchmark``'s "nothing was measured", so scripts exporting on several machines
    notice."""


@dataclass
class ExportReport:
    out_dir: Path
    manifest_path: Path | None  #: None: nothing was built into a folder this run would have created, so none was
    results: dict[str, FormatResult]
    reference_validation: dict | None = None
    validation_info: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [name for name, r in self.results.items() if r.status == FAILED]


def plan_formats(requested: list[str]) -> list[ModelFormat]:
    """Requested rows plus their ``built_from`` dependencies, in table order."""
    wanted = set()
    for name in requested:
        fmt = get_format(name)
        while fmt is not None:
            wanted.add(fmt.name)
            fmt = get_format(fmt.built_from) if fmt.built_from else None
    return [f for f in FORMATS if f.name in wanted]


def check_output_folder(model_dir: Path, out_dir: Path) -> None:
    """Refuse an output folder inside the input model folder (unless it *is* the model folder)."""
    model, out = Path(model_dir).resolve(), Path(out_dir).resolve()
    if out != model and model in out.parents:
        raise OutputError(f"{out_dir} is inside the input model folder {model_dir}; choose another --out "
                          "(or the model folder itself to add the variants there).")


def export_model(model_dir: Path, out_dir: Path, formats: list[str], *, cohort: Path | None = None,
                 validate_patients: int | None = None, settings: ExportSettings | None = None,
                 progress: Callable[[str], None] | None = None) -> ExportReport:
    """Build, validate and record the requested formats.

    Variants are built and validated in a staging folder inside ``out_dir``; only then are their files moved onto
    their names and the manifest written. A run that fails or is interrupted while building or validating (all but
    the last fraction of a second: the renames, hashing and the manifest write) leaves the folder's variants and
    manifest as they were (a failed export into a model folder used to replace a variant's file and leave the
    manifest's hash of the old one, so the model no longer loaded).

    Args:
        model_dir: float model folder (``config.json``, ``best.weights.h5``, ``split.json``).
        out_dir: where variants and the manifest go.
        formats: format names (``inference.formats.FORMATS``).
        cohort: training cohort: calibration slices (training split) and validation patients (test split).
        validate_patients: how many test-split patients to validate on (None: all; 0: no validation).
        progress: optional callback receiving one line per step.
    """
    import tempfile

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    check_output_folder(model_dir, out_dir)
    say = progress or (lambda line: None)
    settings = settings or ExportSettings()
    validating = cohort is not None and validate_patients != 0
    probe = ExportContext(model_dir, out_dir, Path(cohort) if cohort else None, settings)  # not a model: fails here
    if validating:  # before minutes of building, not after
        _validation_ids(probe, validate_patients)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".otscc-export-", dir=out_dir))
    ctx = ExportContext(model_dir, stage, Path(cohort) if cohort else None, settings)
    try:
        results = _build_all(ctx, formats, say)
        _copy_reference(model_dir, stage)  # the variants load beside their float reference for validation
        report = ExportReport(stage, stage, results)
        shortfall = ctx.calibration_shortfall()
        if shortfall:
            report.notes.append(shortfall)
        built = any(r.status == OK for r in results.values())
        if created and not built:  # a new folder would hold only copies of the input and the skip reasons: none
            report.manifest_path = None
        if not built:
            pass  # nothing new to validate (e.g. only GPU rows requested on a CPU machine)
        elif validating:
            _validate(ctx, report, validate_patients, say)
        else:
            report.notes.append("not validated (no --cohort or --validate-patients 0): variants are not shipped")
            for result in results.values():
                if result.status == OK:
                    result.reason = "not validated"
        if report.manifest_path is not None:
            _copy_reference(model_dir, out_dir)  # first: the same float files, or a folder that had none
            _commit(stage, out_dir, results)  # renames only; then the hashes and the manifest (well under a second)
    finally:
        ctx.cleanup()
        shutil.rmtree(stage, ignore_errors=True)
        if created and not any(out_dir.iterdir()):  # a run that failed or built nothing leaves no folder it made
            out_dir.rmdir()
    report.out_dir = out_dir
    if report.manifest_path is None:
        return report
    path, data = build_manifest(out_dir, ctx.size, ctx.grid.fov_mm, results,
                                reference_validation=report.reference_validation,
                                validation_info=report.validation_info)
    write_manifest(path, data)
    report.manifest_path = path
    return report


def _commit(stage: Path, out_dir: Path, results: dict[str, FormatResult]) -> None:
    """Move the built variants' files (or folders) from the staging folder onto their names in ``out_dir``."""
    import os

    for result in results.values():
        if result.status != OK:
            continue
        for name in result.files:
            source, target = stage / name, out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir() and not target.is_symlink():  # a SavedModel folder: swap, then drop the old one
                old = target.with_name(f".old-{os.getpid()}-{target.name}")
                os.replace(target, old)
                os.replace(source, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(source, target)


def _validation_ids(ctx: ExportContext, limit: int | None) -> list[str]:
    """The test-split patients to validate on; an error when the cohort lacks them (the wrong cohort)."""
    split = ctx.split()
    ids = split["test"] if limit is None else split["test"][:limit]
    missing = [pid for pid in ids if not (ctx.cohort / pid).is_dir()]
    if missing:
        raise InputError(f"{ctx.cohort} lacks test patients {missing[:3]}: validation needs the training cohort "
                         f"the model's split.json was drawn from; nothing was built")
    return ids


def _build_all(ctx: ExportContext, formats: list[str], say) -> dict[str, FormatResult]:
    out_dir = ctx.out_dir
    results: dict[str, FormatResult] = {}
    for name in formats:  # rows that cannot be built here are skipped before their dependencies are built
        check = PRECHECKS.get(name)
        reason = check() if check else None
        if reason:
            results[name] = FormatResult(name, SKIPPED, reason)
            say(f"{name}: skipped ({reason})")
    plan = plan_formats([n for n in formats if n not in results])
    if plan:
        ctx.float_model  # noqa: B018 (cached) a damaged model fails once, here, not as every format's failure
    for fmt in plan:
        dependency = results.get(fmt.built_from) if fmt.built_from else None
        if dependency is not None and dependency.status != OK:
            results[fmt.name] = FormatResult(fmt.name, SKIPPED, f"needs {fmt.built_from}, which was "
                                             f"{dependency.status}: {dependency.reason}")
        else:
            say(f"building {fmt.name} ...")
            results[fmt.name] = run_step(fmt, out_dir, lambda f=fmt: CONVERTERS[f.name](ctx, f, out_dir / f.file))
        result = results[fmt.name]
        say(f"{fmt.name}: {result.status}{f' ({result.reason})' if result.reason else ''} [{result.seconds:.1f} s]")
    return results


def _copy_reference(model_dir: Path, out_dir: Path) -> None:
    """The output folder gets the float reference too, so it is a complete model folder."""
    if model_dir.resolve() == out_dir.resolve():
        return
    for name in (*REFERENCE_FILES, "split.json", "training_patients.json"):  # eval-seg: which patients it saw
        source = model_dir / name
        if source.is_file():
            with atomic_path(out_dir / name) as tmp:
                shutil.copyfile(source, tmp)


def load_variant(out_dir: Path, fmt: ModelFormat, threads: int | None) -> SegBackend:
    """The first runtime of the row that loads the freshly written (not yet manifested) file here."""
    reasons, errors = [], []
    for runtime in fmt.runtimes:
        try:
            return load_backend(runtime, out_dir, variant=fmt.name, verify=False, threads=threads)
        except (BackendUnavailableError, ModelIntegrityError) as exc:
            reasons.append(f"{runtime}: {exc}")
            errors.append(exc)
    kind = NotValidatedOnThisCPU if errors and all(isinstance(e, NotValidatedOnThisCPU) for e in errors) \
        else BackendUnavailableError
    raise kind("; ".join(reasons))


def _validate(ctx: ExportContext, report: ExportReport, limit: int | None, say) -> None:
    from export.validate import validate

    split = ctx.split()
    ids = _validation_ids(ctx, limit)
    variants = {}
    for name, result in report.results.items():
        if result.status != OK:
            continue
        fmt = get_format(name)
        try:
            variants[name] = (load_variant(report.out_dir, fmt, ctx.settings.threads), fmt.precision)
        except BackendUnavailableError as exc:
            if fmt.needs_gpu or isinstance(exc, NotValidatedOnThisCPU):
                result.reason = f"built, not validated here: {exc}"
            else:
                result.status, result.reason = FAILED, f"built but does not load: {exc}"
    if not variants:
        return
    say(f"validating {', '.join(variants)} against the float model on {plural(len(ids), 'test patient')} ...")
    reference = load_backend("keras", ctx.model_dir, verify=False, threads=ctx.settings.threads)
    ref_summary, figures = validate(reference, variants, ctx.cohort, ids, ctx.grid,
                                    progress=lambda i, n, pid: say(f"  validated {pid} ({i}/{n})"))
    for name, values in figures.items():
        result = report.results[name]
        result.validation, result.shipped = values, values["passed"]
        if not values["passed"]:
            result.reason = "failed validation: " + "; ".join(values["failures"])
    report.reference_validation = ref_summary
    report.validation_info = {
        "cohort": ctx.cohort.name, "split": "test", "patients_used": len(ids),
        "patients_in_split": len(split["test"]), "patient_ids": ids,
        "subset_note": None if len(ids) == len(split["test"]) else
        f"first {len(ids)} of the {len(split['test'])} test-split patients (time)",
        "metrics": "see export/validate.py: Dice change vs the float model, voxel agreement (worst patient), "
                   "mask Dice vs the float mask",
    }
