"""Faults in the window (issue 9, item 2): a full disk at export keeps the session; a model that crashes its
runtime is reported and the window stays usable; auto passes a crashing candidate over and says so."""

from __future__ import annotations

import errno
import os
import shutil
import time

import numpy as np
import pytest

from inference import isolation
from inference.assets import DEFAULT_SEG_MODEL, SAMPLE_PATIENT
from inference.errors import BackendCrashedError, OutputError
from tests.desktop.conftest import wait_job
from tests.inference.test_faults import record_fault, sha, temporaries
from tests.inference.test_isolation import crash_model_dir

pytestmark = pytest.mark.gui
OUTPUTS = ("mask.nii.gz", "report.pdf", "result.json")


def _paint_beside_the_tumor(window) -> int:
    """One brush stroke next to the tumor through the editor (what a mouse stroke does); returns voxels set."""
    editor, (z, y, x) = window.session.editor, window.model.cursor
    editor.begin_stroke(1)
    changed = editor.dab("axial", z, (y, x + 14), 4.0)
    editor.end_stroke()
    return changed


def test_disk_full_at_export_keeps_the_session_and_the_previous_export(segmented, tmp_path, monkeypatch):
    w, s = segmented, segmented.session
    assert _paint_beside_the_tumor(w) > 0
    w.recompute()
    assert wait_job(w) == ("rescore", "finished"), w.presenter.reports
    out = tmp_path / "exports"
    assert w.export(out) and wait_job(w) == ("export", "finished"), w.presenter.reports
    folder = out / s.patient_id
    before = {name: sha(folder / name) for name in OUTPUTS}
    prediction, mask, undo = s.prediction, s.current_mask().array.copy(), s.editor.can_undo

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("inference.report.write_report", full)
    reports, start = len(w.presenter.reports), time.perf_counter()
    assert w.export(out)
    assert wait_job(w) == ("export", "failed")
    seconds = time.perf_counter() - start
    report = w.presenter.reports[reports]
    assert isinstance(report.error, OutputError) and "disk is full" in report.message and str(folder) in report.message
    assert "nothing was lost" in report.advice
    # the session is as it was: the edited mask, its risk and the undo history are all still there
    assert s.prediction is prediction and prediction.edited and s.editor.can_undo == undo
    assert np.array_equal(s.current_mask().array, mask) and not s.risk_stale
    assert {name: sha(folder / name) for name in OUTPUTS} == before and temporaries(out) == []
    assert w.actions["export"].isEnabled() and not w.runner.busy
    monkeypatch.undo()
    assert w.export(out) and wait_job(w) == ("export", "finished"), w.presenter.reports  # space again: it works
    record_fault("gui_export_disk_full", {"time_to_error_s": round(seconds, 3),
                                          "kept": "session, edited mask, risk, undo history, previous export"})


@pytest.fixture
def _fresh_probes():
    isolation.clear_cache()
    yield
    isolation.clear_cache()


def test_crashing_model_is_reported_and_the_window_stays_usable(window, tmp_path, _fresh_probes):
    crash = crash_model_dir(tmp_path / "crash_model")
    window.engine.configure(backend="litert", model_dir=crash)
    assert window.open_patient(SAMPLE_PATIENT)  # the images need no model: they open
    assert wait_job(window) == ("load", "finished"), window.presenter.reports
    start = time.perf_counter()
    window.segment()
    assert wait_job(window) == ("segment", "failed")
    reported = time.perf_counter() - start
    [report] = window.presenter.reports
    assert isinstance(report.error, BackendCrashedError)
    assert "crashed (SIGSEGV)" in report.message and "model_fp32.tflite" in report.message
    assert "Settings > Backend" in report.advice and "Traceback" not in report.message
    assert window.isVisible() and window.actions["segment"].isEnabled() and not window.runner.busy
    assert window.engine.loaded_pipeline is None and window.session.prepared is not None  # patient kept
    start = time.perf_counter()
    window.engine.configure(model_dir=DEFAULT_SEG_MODEL)  # a second attempt with a good model, same patient
    window.segment()
    assert wait_job(window) == ("segment", "finished"), window.presenter.reports
    usable = time.perf_counter() - start
    assert window.session.prediction is not None and len(window.presenter.reports) == 1
    record_fault("gui_crashing_model", {"time_to_report_s": round(reported, 3),
                                        "good_model_segmented_after_s": round(usable, 3),
                                        "window": "stayed open and usable; the model was never loaded in it"})


@pytest.mark.skipif(os.name != "posix", reason="the fake hung runtime is a POSIX child")
def test_cancel_stops_a_runtime_that_hangs_on_the_model(window, monkeypatch, _fresh_probes):
    """A runtime hanging in the model test-load used to hold Segment for the probe's whole 180 s timeout."""
    import sys

    from PySide6.QtCore import QTimer

    monkeypatch.setattr(isolation, "child_command", lambda args: [sys.executable, "-c", "import time; time.sleep(60)"])
    assert window.open_patient(SAMPLE_PATIENT)
    assert wait_job(window) == ("load", "finished"), window.presenter.reports
    seen = []
    QTimer.singleShot(1000, lambda: (seen.append(window.progress.status.text()), window.cancel()))
    start = time.perf_counter()
    window.segment()
    assert wait_job(window) == ("segment", "cancelled")
    assert time.perf_counter() - start < 15
    assert seen and seen[0].startswith("Loading the model")
    assert window.presenter.reports == [] and window.engine.loaded_pipeline is None
    assert window.actions["segment"].isEnabled() and not window.runner.busy
    monkeypatch.undo()  # the runtime behaves again: the same patient segments (nothing was cached)
    window.segment()
    assert wait_job(window) == ("segment", "finished"), window.presenter.reports


def test_auto_passes_over_a_crashing_candidate_and_says_so(window, tmp_path, _fresh_probes):
    mixed = crash_model_dir(tmp_path / "mixed_model")
    shutil.copy(DEFAULT_SEG_MODEL / "model.onnx", mixed / "model.onnx")
    window.engine.configure(backend="auto", model_dir=mixed)
    assert window.open_patient(SAMPLE_PATIENT)
    assert wait_job(window) == ("load", "finished"), window.presenter.reports
    window.segment()
    assert wait_job(window) == ("segment", "finished"), window.presenter.reports
    assert window.engine.loaded_pipeline.backend.name == "onnxruntime"
    assert "crashed the runtime (SIGSEGV)" in window.statusBar().currentMessage()
    assert "Backend: onnxruntime" in window.backend_label.text()
