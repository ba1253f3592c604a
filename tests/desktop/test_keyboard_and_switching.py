"""A clinician's review of 2026-11-30 on small screens, by keyboard, patient after patient: typed values never
reach the next patient or change while typed, a drop-down keeps its keys, and nothing of the previous patient
(status, progress, paint tool) stays on screen."""

from __future__ import annotations

import json
import shutil

from PySide6.QtCore import Qt
from PySide6.QtGui import QValidator
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from inference.assets import SAMPLE_PATIENT
from tests.desktop.conftest import wait_job
from tests.desktop.helpers import paint_beside_the_tumor


def open_and_wait(window, folder, job: str = "load") -> None:
    assert window.open_patient(folder)
    assert wait_job(window) == (job, "finished"), window.presenter.reports


def test_values_typed_for_one_patient_never_reach_the_next(window, tmp_path):
    """The pause before typed values are applied could end just after the next patient loaded: patient 1's values
    (plus the keystroke) were then applied to patient 2, with no question."""
    second = tmp_path / "p2"
    shutil.copytree(SAMPLE_PATIENT, second)
    (second / "clinical.json").write_text(json.dumps({"age": 45, "sex": "F", "ct_stage": "T1", "cn_status": 1}))
    open_and_wait(window, SAMPLE_PATIENT)
    panel = window.clinical_panel
    first_age = window.session.clinical["age"]
    assert window.open_patient(second)
    assert not panel.isEnabled()  # it shows the previous patient while the next one loads
    panel.age.setValue(int(first_age) + 1)  # typed now: applied to patient 1 or dropped, never to patient 2
    assert wait_job(window) == ("load", "finished")
    panel._timer.timeout.emit()  # had the pause ended only now
    assert panel.isEnabled()
    assert window.session.clinical["age"] == 45.0 and window.session.clinical["sex"] == "F"
    assert panel.age.value() == 45 and panel.sex.currentText() == "F"


def test_a_depth_of_invasion_is_not_rewritten_while_it_is_typed(window):
    """'8.' was shown as '8' once applied, so the next digit made 80 mm (risk 83 %)."""
    open_and_wait(window, SAMPLE_PATIENT)
    panel = window.clinical_panel
    panel.doi.clear()
    QTest.keyClicks(panel.doi, "8.")
    panel.flush()
    assert window.session.clinical["doi_mm"] == 8.0 and panel.doi.text() == "8."
    QTest.keyClicks(panel.doi, "5")
    panel.flush()
    assert window.session.clinical["doi_mm"] == 8.5
    validator = panel.doi.validator()
    assert validator.validate("12,25", 0)[0] == QValidator.State.Invalid  # one decimal, whatever the locale
    assert validator.validate("7,8", 0)[0] == QValidator.State.Acceptable
    assert validator.validate("7.8", 0)[0] == QValidator.State.Acceptable
    assert validator.validate("100", 0)[0] == QValidator.State.Invalid


def test_letters_typed_into_a_drop_down_stay_there(window):
    """'F' in the Sex box ran View > Fit and 'M' hid the mask; now they choose F and M."""
    open_and_wait(window, SAMPLE_PATIENT)
    fits, panel = [], window.clinical_panel
    window.actions["fit"].triggered.connect(lambda: fits.append(True))
    overlay = window.model.overlay_visible
    panel.sex.setFocus()
    QTest.keyClick(panel.sex, Qt.Key.Key_F, Qt.KeyboardModifier.NoModifier)
    assert panel.sex.currentText() == "F" and not fits
    QTest.qWait(QApplication.keyboardInputInterval() + 100)  # a new search, not "fm"
    QTest.keyClick(panel.sex, Qt.Key.Key_M, Qt.KeyboardModifier.NoModifier)
    assert panel.sex.currentText() == "M" and window.model.overlay_visible == overlay
    window.viewer.setFocus()
    QTest.keyClick(window.viewer, Qt.Key.Key_F, Qt.KeyboardModifier.NoModifier)
    assert fits  # elsewhere the one-key shortcut still works


def test_nothing_of_the_previous_patient_stays_on_screen(segmented, tmp_path):
    w = segmented
    w.model.set_tool("paint")
    w.statusBar().showMessage("Exported to /somewhere/else", 15000)
    assert w.progress.value("segment") == 100
    second = tmp_path / "p2"
    shutil.copytree(SAMPLE_PATIENT, second)
    open_and_wait(w, second)
    assert w.model.tool == "navigate"  # the first click on the new patient must not paint
    assert "Exported" not in w.statusBar().currentMessage()
    assert w.progress.value("segment") == 0 and w.progress.value("load") == 100
    title = w.windowTitle()
    assert "p2" not in title and w._recent_label(second) in title  # which patient, without its folder name
    w.segment()
    assert wait_job(w) == ("segment", "finished"), w.presenter.reports


def test_shortcuts_are_shown_and_menus_keep_their_access_keys(window):
    a = window.actions
    assert a["segment"].toolTip().endswith("(Ctrl+R)")
    assert "(" in window.mask_panel.undo_button.toolTip()  # the platform's undo key
    assert a["overlay"].text() == "Show &mask overlay" and a["overlay"].iconText() == "Mask (M)"
    assert a["fit"].text() == "&Fit views" and a["fit"].iconText() == "Fit"


def test_folder_dialogs_start_where_the_last_one_ended(window, tmp_path, monkeypatch):
    """The export dialog started in the working directory: Ctrl+E, Enter exported the next patient there."""
    import desktop.recent as mw

    started, answers = [], iter([str(tmp_path / "exports"), "", str(tmp_path / "patients" / "p1")])
    monkeypatch.setattr(mw.QFileDialog, "getExistingDirectory",
                        lambda parent, title, start: started.append(start) or next(answers))
    assert window._ask_directory("Export results to a folder") == str(tmp_path / "exports")
    assert window._ask_directory("Export results to a folder") is None  # cancelled: the folder stays
    assert window._ask_directory("Open a patient folder")
    assert started[1] == str(tmp_path / "exports")
    assert window._ask_directory.__self__.settings.value("dialogs/open_folder") == str(tmp_path / "patients")


def test_after_a_load_the_arrow_keys_change_slices(window):
    """Focus sat on the side panel after Open and Segment: Down scrolled the panel instead of the slice."""
    open_and_wait(window, SAMPLE_PATIENT)
    view = window.viewer.visible_views()[0]
    from desktop.views.slice_view import FOCUS_BACKGROUND

    assert view.graphics.hasFocus() and FOCUS_BACKGROUND in view.title.styleSheet()  # and it shows
    before = window.model.cursor
    QTest.keyClick(view.graphics, Qt.Key.Key_Down)
    assert window.model.cursor != before
    window.clinical_panel.age.setFocus()  # typing a value while it segments: the focus stays there
    window.segment()
    assert wait_job(window) == ("segment", "finished"), window.presenter.reports
    assert window.clinical_panel.age.hasFocus()


def test_ctrl_enter_on_the_keypad_recomputes_as_ctrl_return_does(segmented, qtbot, monkeypatch):
    """docs/gui.md said Ctrl+Enter; only the main keyboard's Ctrl+Return did it, the keypad's Enter nothing. The keys
    are pressed on an edited mask (Recompute risk enabled); the recompute itself is recorded, not run."""
    from PySide6.QtGui import QKeySequence

    w = segmented
    recompute, triggered, rescores = w.actions["recompute"], [], []
    assert recompute.shortcuts()[0] == QKeySequence("Ctrl+Return")  # the one menus and tooltips show
    paint_beside_the_tumor(w, qtbot)
    try:
        assert recompute.isEnabled()
        w.activateWindow()  # a window shortcut: the windows of the tests before were active
        qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=2000)
        recompute.triggered.connect(lambda: triggered.append(True))
        monkeypatch.setattr(w, "rescore_if_possible", lambda explicit=False: explicit and rescores.append(True))
        ctrl = Qt.KeyboardModifier.ControlModifier
        QTest.keyClick(w, Qt.Key.Key_Return, ctrl)
        assert len(triggered) == len(rescores) == 1
        QTest.keyClick(w, Qt.Key.Key_Enter, ctrl | Qt.KeyboardModifier.KeypadModifier)
        assert len(triggered) == len(rescores) == 2  # MainWindow.recompute ran again
    finally:
        w.actions["undo"].trigger()
        w.actions["navigate"].trigger()
    assert not w.actions["undo"].isEnabled()
