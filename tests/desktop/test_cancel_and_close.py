"""Cancel and close take effect soon and start nothing afterwards (keyboard review of 2026-11-30): Esc during the
registration of a load, Cancel during a risk update's radiomics, and a job that ends while the close-window
question is open."""

from __future__ import annotations

import functools
import time

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import inference.registration
from inference.assets import SAMPLE_PATIENT
from tests.desktop.conftest import wait_job


def test_esc_stops_a_load_during_registration(window, monkeypatch):
    """Esc took effect only once every sequence was registered (5 s and more each); now within an iteration.
    The registration is made far slower than usual (minutes) so only a working cancel ends the job in time."""
    slow = functools.partial(inference.registration.RegistrationSettings, min_step=1e-7, relaxation=0.99,
                             max_iterations=3000)
    monkeypatch.setattr(inference.registration, "RegistrationSettings", slow)
    pressed: list[float] = []

    def on_progress(name: str, stage: str, fraction: float) -> None:
        if stage == "register" and fraction > 0 and not pressed:  # the optimizer is iterating: the user presses Esc
            pressed.append(time.perf_counter())
            QTest.keyClick(window, Qt.Key.Key_Escape)

    window.runner.progress.connect(on_progress)
    assert window.open_patient(SAMPLE_PATIENT)
    assert wait_job(window, timeout_ms=15_000) == ("load", "cancelled")
    stopped = time.perf_counter() - pressed[0]
    assert stopped < 2.0, f"the load ended {stopped:.1f} s after Esc"
    assert window.session.prepared is None and not window.presenter.reports  # nothing loaded, no error box


def test_cancel_stops_a_risk_update_during_radiomics(segmented):
    """Engine.rescore did not pass the job's cancel check on: a risk update after a mask edit ran its radiomics to
    the end. Now Cancel stops it there; the edited mask stays, the risk stays marked stale."""
    w, s = segmented, segmented.session
    prediction = s.prediction
    editor, (z, y, x) = s.editor, w.model.cursor
    editor.begin_stroke(1)
    assert editor.dab("axial", z, (y, x + 14), 4.0) > 0
    editor.end_stroke()

    def on_progress(name: str, stage: str, fraction: float) -> None:
        if stage == "radiomics" and w.runner.busy:
            w.cancel()

    w.runner.progress.connect(on_progress)
    try:
        w.recompute()
        assert wait_job(w) == ("rescore", "cancelled"), w.presenter.reports
        assert s.prediction is prediction and s.risk_stale and s.mask_changed
    finally:
        w.runner.progress.disconnect(on_progress)
        editor.undo()
