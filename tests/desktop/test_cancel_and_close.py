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


def test_a_risk_update_ending_while_the_close_question_is_open_starts_nothing(segmented, tmp_path):
    """An export waiting for a risk update started when the update ended, even while the "unexported edits: quit?"
    question was open: its folder dialog came up over the question. Now nothing starts until the question is
    answered; Cancel (the window stays) then starts the export the user had asked for."""
    w, s = segmented, segmented.session
    age = s.prediction.clinical["age"]
    folders: list[str] = []
    w.ask_directory = lambda title: folders.append(title) or str(tmp_path / "out")
    seen: list[tuple] = []

    def question(message: str) -> bool:  # the question stays open until the risk update has ended
        seen.append((wait_job(w), w.runner.current, list(folders)))
        return False  # Cancel: keep the window

    try:
        w.confirm_discard = question
        w.clinical_panel.set_values({"age": age + 3})
        assert not w.export() and w._pending_export is not None and w.runner.current == "rescore"
        w.close()
        assert seen == [(("rescore", "finished"), None, [])]  # nothing started while the question was open
        assert w.isVisible() and w.runner.current == "export" and folders
        assert wait_job(w) == ("export", "finished"), w.presenter.reports
        assert (tmp_path / "out" / s.patient_id / "result.json").is_file()
    finally:
        w.confirm_discard = lambda message: True
        w.ask_directory = lambda title: None
        w.clinical_panel.set_values({"age": age})
        w.clinical_panel.flush()
        if w.runner.busy:
            wait_job(w)


def test_a_roles_question_arriving_during_the_close_question_waits_for_its_answer(window, tmp_path):
    """A load that ended asking which file is CE-T1 opened the roles dialog over the close question; accepting it
    started a load in a closing window. Now the dialog opens only if the window stays."""
    import shutil

    folder = tmp_path / "two_cet1"
    shutil.copytree(SAMPLE_PATIENT, folder)
    shutil.copy(folder / "cet1.nii.gz", folder / "t1c.nii.gz")  # two candidates for CE-T1: a roles question
    assert window.open_patient(folder)
    seen: list[tuple] = []

    def question(*args, **kwargs) -> bool:  # the close question stays open until the load has ended
        seen.append((wait_job(window), window.roles_dialog))
        return False  # Cancel: keep the window

    window.may_discard_edits = question
    try:
        window.close()
        assert seen == [(("load", "finished"), None)]  # no dialog over the question
        assert window.isVisible() and window.roles_dialog is not None and window.roles_dialog.isVisible()
    finally:
        del window.may_discard_edits
        if window.roles_dialog is not None:
            window.roles_dialog.reject()
