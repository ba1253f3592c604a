"""The jobs the GUI runs, as plain functions over ``inference.pipeline.Pipeline`` (Qt-free).

Every job takes ``progress(stage, fraction)`` and ``cancelled()`` callbacks and returns a value or raises
a typed error; ``desktop.worker`` runs them off the GUI thread and turns the callbacks into signals. The
pipeline (backend + nomogram) is created lazily by the first job that needs it, in the worker thread, so
the window opens without loading any model. Before it loads a model, ``default_factory`` test-loads it in
a child process (``inference.isolation``): a model that crashes its runtime fails that job with
``BackendCrashedError`` and the window carries on. The job's Cancel reaches that child too (a runtime that
hangs on the model would otherwise hold the job for the probe's whole timeout).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from desktop.audit import AuditLog, audit_entry
from desktop.series_table import SeriesRow, describe_candidates
from inference.assets import DEFAULT_NOMOGRAM, DEFAULT_SEG_MODEL
from inference.batch_inputs import earlier_results_warnings
from inference.errors import AmbiguousSequenceError, CancelledError
from inference.isolation import probe_backend
from inference.measure import TumorMeasures, measure_mask
from inference.nomogram import CLINICAL, ClinicalValueError, normalize_clinical
from inference.pipeline import Pipeline, Prediction, check_model_dir, check_output_dir, load_clinical

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
Cancelled = Callable[[], bool]

#: the cancel check of the job that is creating the pipeline (read by ``default_factory``; factories keep
#: their one-argument signature)
_job_cancelled: ContextVar[Cancelled | None] = ContextVar("job_cancelled", default=None)


@dataclass(frozen=True)
class EngineSettings:
    backend: str = "auto"
    threads: int | None = None
    model_dir: Path = DEFAULT_SEG_MODEL
    nomogram: Path = DEFAULT_NOMOGRAM
    #: test-load the model in a child process first (``inference.isolation``): a runtime that crashes on
    #: the model file kills that child, not the window
    isolate: bool = True


def default_factory(settings: EngineSettings) -> Pipeline:
    """The pipeline for ``settings``; with ``isolate`` the model is test-loaded in a child process first.

    Raises:
        BackendCrashedError: the runtime crashed on the model in the child; nothing was loaded here.
    """
    backend, notes = settings.backend, ()
    check_model_dir(settings.model_dir, settings.backend)  # before the probe tries every backend on it
    if settings.isolate:
        probe = probe_backend(settings.backend, settings.model_dir, threads=settings.threads,
                              cancelled=_job_cancelled.get())
        backend, notes = probe.backend, probe.notes
        log.info("model probe (%s): load in-process as %r after %.2f s%s", settings.backend, backend,
                 probe.seconds, " (cached)" if probe.cached else "")
    pipeline = Pipeline(model_dir=settings.model_dir, nomogram=settings.nomogram, backend=backend,
                        threads=settings.threads)
    if notes:  # auto passed over a candidate that crashed the runtime: say so with the other notes
        pipeline.backend_notes = [*notes, *pipeline.backend_notes]
    return pipeline


@dataclass
class Loaded:
    """A prepared patient and the clinical values found next to it."""

    path: Path
    prepared: Any  # inference.intake.PreparedPatient
    clinical: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class RoleQuestion:
    """Loading stopped because sequence roles are ambiguous: the user must choose."""

    path: Path
    message: str
    rows: list[SeriesRow]


@dataclass
class Segmented:
    """The Segment job's outcome: a prediction, or (clinical values incomplete) a mask without risk yet."""

    mask: Any  # inference.volume.Volume on the CE-T1 grid
    measures: TumorMeasures
    prediction: Prediction | None
    clinical_problem: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def clinical_complete(clinical: dict[str, Any]) -> list[str]:
    """Names of the clinical values still missing."""
    return [k for k in CLINICAL if clinical.get(k) in (None, "")]


def clinical_problem(clinical: dict[str, Any]) -> str | None:
    """What stops these values from giving a risk (a missing or implausible value), in words; None if nothing."""
    missing = clinical_complete(clinical)
    if missing:
        return f"enter {', '.join(missing)} to compute the risk"
    try:
        normalize_clinical({k: v for k, v in clinical.items() if not (k == "doi_mm" and v == "auto")})
    except ClinicalValueError as exc:
        return f"{exc}; correct it to compute the risk"
    return None


class Engine:
    """One pipeline shared by all jobs (jobs run one at a time), plus the audit log."""

    def __init__(self, settings: EngineSettings | None = None, *,
                 factory: Callable[[EngineSettings], Pipeline] = default_factory,
                 audit: AuditLog | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.factory = factory
        self.audit = audit
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()
        self.on_pipeline: Callable[[Pipeline], None] | None = None  # told when a pipeline was created

    @property
    def loaded_pipeline(self) -> Pipeline | None:
        return self._pipeline

    def configure(self, *, backend: str | None = None, threads: int | None = -1,
                  model_dir: str | Path | None = None) -> None:
        """Change backend/threads/model folder; the pipeline is rebuilt by the next job (threads -1: unchanged)."""
        new = replace(self.settings, backend=backend or self.settings.backend,
                      threads=self.settings.threads if threads == -1 else (threads or None),
                      model_dir=Path(model_dir) if model_dir is not None else self.settings.model_dir)
        if new != self.settings:
            with self._lock:
                self.settings, self._pipeline = new, None

    def pipeline(self, cancelled: Cancelled | None = None) -> Pipeline:
        """The pipeline, created on first use; ``cancelled`` can stop its creation (``CancelledError``)."""
        with self._lock:
            if self._pipeline is None:
                start = time.perf_counter()
                token = _job_cancelled.set(cancelled)
                try:
                    self._pipeline = self.factory(self.settings)
                finally:
                    _job_cancelled.reset(token)
                log.info("pipeline ready in %.2f s: %s", time.perf_counter() - start,
                         self._pipeline.describe_backend())
                if self.on_pipeline is not None:
                    self.on_pipeline(self._pipeline)
            return self._pipeline

    def _pipeline_for(self, progress: Progress, cancelled: Cancelled) -> Pipeline:
        if self._pipeline is None:  # the status line says why the job waits (a model test-load can take a while)
            progress("model", 0.0)
        return self.pipeline(cancelled)

    # -- jobs (run in a worker thread) ---------------------------------------------------------------
    def load(self, path: str | Path, overrides: dict[str, str] | None = None, *, progress: Progress,
             cancelled: Cancelled) -> Loaded | RoleQuestion:
        """Stages ``load`` and ``register``; a RoleQuestion when roles are ambiguous.

        Needs no model: the images of a patient open even when the model cannot be loaded (a damaged or
        crashing model is reported at Segment, and the user can switch backend without reloading).
        """
        from inference.intake import prepare_patient

        path = Path(path)
        progress("load", 0.0)
        _check(cancelled)
        try:
            prepared = prepare_patient(path, progress=progress, load_mask="if usable", cancelled=cancelled,
                                       **(overrides or {}))
        except AmbiguousSequenceError as exc:
            return RoleQuestion(path, exc.problem, describe_candidates(path))
        _check(cancelled)
        warnings = []
        try:
            clinical = load_clinical(path)
        except ClinicalValueError as exc:  # the images are fine: load them, let the user type the values
            clinical, warnings = {}, [str(exc)]
        return Loaded(path, prepared, clinical, warnings)

    def segment(self, prepared, clinical: dict[str, Any], *, progress: Progress,
                cancelled: Cancelled) -> Segmented:
        """Stages ``preprocess`` and ``segment``, then ``radiomics`` and ``nomogram`` when the clinical
        values are complete (otherwise the mask comes back with the reason there is no risk yet)."""
        pipeline = self._pipeline_for(progress, cancelled)
        seg = pipeline.segment(prepared, progress=progress, cancelled=cancelled)
        _check(cancelled)
        timings = dict(prepared.timings)
        timings["preprocess"] = seg.seconds.get("preprocess", 0.0)
        timings["segment"] = seg.seconds.get("inference", 0.0) + seg.seconds.get("postprocess", 0.0)
        problem = clinical_problem(clinical)
        if problem is not None:
            return Segmented(seg.mask, measure_mask(seg.mask), None, problem, timings, list(seg.warnings))
        try:
            prediction = pipeline.score(prepared, seg.mask, clinical, progress=progress, cancelled=cancelled,
                                        timings=timings)
        except ClinicalValueError as exc:
            return Segmented(seg.mask, measure_mask(seg.mask), None, str(exc), timings, list(seg.warnings))
        prediction.warnings.extend(seg.warnings)
        prediction.backend = {**prediction.backend, "slices": int(seg.plan.canonical_shape[0])}
        self._audit("predict", prediction)
        return Segmented(seg.mask, prediction.measures, prediction, None, timings, list(seg.warnings))

    def rescore(self, *, prediction: Prediction | None, prepared, mask, clinical: dict[str, Any],
                edited: bool, timings: dict[str, float] | None = None, progress: Progress,
                cancelled: Cancelled, automatic=None) -> Prediction:
        """Radiomics + nomogram again after a mask edit or a clinical change (``Pipeline.rescore``)."""
        pipeline = self._pipeline_for(progress, cancelled)
        _check(cancelled)
        if prediction is None:
            new = pipeline.score(prepared, mask, clinical, progress=progress, cancelled=cancelled,
                                 timings=timings, edited=edited)
        else:
            new = pipeline.rescore(prediction, mask=mask if edited else None, clinical=clinical,
                                   progress=progress, automatic=automatic, cancelled=cancelled)
        self._audit("rescore", new)
        return new

    def export(self, prediction: Prediction, out: str | Path, inputs: list[Path], *, progress: Progress,
               cancelled: Cancelled, replace_other: bool = False, copies: list[str] | None = None) -> dict[str, Path]:
        """mask.nii.gz, result.json and report.pdf under ``out/<patient_id>/`` (never inside an input; results of
        other images there only with ``replace_other``). When ``out`` holds another patient id's results of the same
        CE-T1, the exported result carries a warning saying so: ``copies`` when the caller already looked
        (``earlier_results_warnings``), else looked up here."""
        out = check_output_dir(out, inputs)
        _check(cancelled)
        if copies is None:
            copies = earlier_results_warnings(out, prediction.provenance.get("input_sha256", {}).get("cet1"),
                                              prediction.patient_id)
        if copies:
            prediction = replace(prediction, warnings=list(dict.fromkeys([*prediction.warnings, *copies])))
        paths = self._pipeline_for(progress, cancelled).write(prediction, out, inputs=inputs,
                                                              replace_other=replace_other)
        self._audit("export", prediction, paths)
        return paths

    def _audit(self, event: str, prediction: Prediction, outputs: dict[str, Path] | None = None) -> None:
        if self.audit is not None:
            self.audit.append(audit_entry(event, prediction, model_dir=self.pipeline().model_dir,
                                          outputs=outputs))


def _check(cancelled: Cancelled) -> None:
    if cancelled():
        raise CancelledError("cancelled by the user")
