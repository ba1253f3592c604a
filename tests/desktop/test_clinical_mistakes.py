"""What the window does with a clinician's mistakes: an implausible or cleared clinical value, warnings from reading
the images, a long note beside the nomogram, a failed export after a good one (found by a GUI review under Xvfb)."""

from __future__ import annotations

import re
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from inference.assets import SAMPLE_PATIENT
from tests.desktop.conftest import wait_job
from tests.desktop.helpers import resized
from tests.desktop.test_workflow import rescored

pytestmark = pytest.mark.gui

SAMPLE_DICOM = SAMPLE_PATIENT.parent / "sample_patient_dicom"


def _settle(window, qtbot) -> None:
    """Let the clinical panel's debounced edit reach the session (no rescore is expected)."""
    qtbot.waitUntil(lambda: not window.clinical_panel._timer.isActive(), timeout=3000)
    qtbot.wait(50)


def test_typing_an_implausible_age_keeps_all_its_digits_and_withdraws_the_risk(segmented, qtbot):
    w, s, panel = segmented, segmented.session, segmented.risk_panel
    before = s.prediction
    w.clinical_panel.age.selectAll()
    QTest.keyClicks(w.clinical_panel.age.lineEdit(), "150")
    assert w.clinical_panel.age.value() == 150  # the box had kept "15": a plausible age that fed the risk
    _settle(w, qtbot)
    assert s.prediction is before  # no risk was computed from it
    assert "Risk: —" in panel.headline.text() and f"{before.score.probability:.0%}" not in panel.headline.text()
    assert panel.detail.text() == ("Age 150 years is implausible (accepted: above 0 and below 120 years); correct it "
                                   "to compute the risk")
    w.clinical_panel.set_values({"age": before.clinical["age"]})  # back to the values of the risk on record
    _settle(w, qtbot)
    assert f"{before.score.probability:.0%}" in panel.headline.text() and s.clinical_problem is None


def test_a_new_run_for_corrected_values_drops_the_old_problem_at_once(segmented, qtbot):
    """Were the run cancelled, the panel must not go back to the problem of values no longer entered."""
    w, s = segmented, segmented.session
    before = dict(s.clinical)
    s.set_clinical({**before, "age": 150.0})
    assert not w.rescore_if_possible() and s.clinical_problem.startswith("age 150 years is implausible")
    s.set_clinical({**before, "age": before["age"] + 2})
    assert w.rescore_if_possible()  # a job started ...
    assert s.clinical_problem is None and "implausible" not in w.risk_panel.detail.text()  # ... problem gone now
    assert wait_job(w) == ("rescore", "finished")
    w.clinical_panel.set_values({"age": before["age"]})
    rescored(w, qtbot)


def test_clearing_a_value_withdraws_the_risk_and_says_what_to_enter(segmented, qtbot):
    w, s, panel = segmented, segmented.session, segmented.risk_panel
    before = s.prediction
    w.clinical_panel.set_values({"age": 0})  # the box's empty value ("—")
    _settle(w, qtbot)
    assert "Risk: —" in panel.headline.text() and panel.detail.text() == "Enter age to compute the risk"
    assert not panel.plot.marks  # the nomogram no longer shows the old patient points
    assert not w.export(folder=str(w.engine.audit.path.parent / "never"))
    assert "no risk for the values entered: enter age to compute the risk" in w.presenter.reports[-1].message
    w.clinical_panel.set_values({"age": before.clinical["age"] + 1})
    rescored(w, qtbot)
    assert f"{s.prediction.score.probability:.0%}" in panel.headline.text() and s.clinical_problem is None
    w.clinical_panel.set_values({"age": before.clinical["age"]})
    rescored(w, qtbot)


def test_a_value_beyond_its_axis_is_held_at_the_axis_end_in_orange(segmented, qtbot):
    w, s, plot = segmented, segmented.session, segmented.risk_panel.plot
    age = s.prediction.clinical["age"]
    w.clinical_panel.set_values({"age": 5})
    rescored(w, qtbot)
    try:
        nomogram = w.risk_panel.nomogram
        lo = nomogram.model["axes"]["age"][0]
        row = next(r for r in plot.rows if r.label.startswith("Age"))
        assert row.beyond and row.mark == pytest.approx(nomogram.points_of("age", lo))  # the fitted range's end
        assert row.value_text == f"{s.prediction.score.points['age']:.0f} pts"
        assert len(plot.beyond) == 1  # drawn in orange, its points in orange beside it
        assert "extrapolation" in w.risk_panel.detail.text()
        # inside the fitted range but left of the first labelled tick (they start at a round age): drawn where it
        # is, on the axis, which runs to the fitted range's end (an unlabelled mark there)
        w.clinical_panel.set_values({"age": lo + 1})
        rescored(w, qtbot)
        row = next(r for r in plot.rows if r.label.startswith("Age"))
        assert row.mark < min(x for t, x in row.ticks if t) and not row.beyond and not plot.beyond
        assert min(x for _, x in row.ticks) <= row.mark
        assert row.mark == pytest.approx(nomogram.points_of("age", lo + 1))
    finally:
        w.clinical_panel.set_values({"age": age})
        rescored(w, qtbot)
    assert not plot.beyond


def test_long_notes_do_not_push_the_risk_scale_out_of_the_panel(segmented, qtbot):
    w, panel = segmented, segmented.risk_panel
    with resized(w, 1366, 700):  # a small laptop screen
        w.clinical_panel.set_values({"age": 5})  # extrapolation note, two lines or more
        rescored(w, qtbot)
        try:
            qtbot.wait(100)
            plot_bottom = panel.plot.geometry().bottom()
            assert plot_bottom <= panel.contentsRect().bottom(), (plot_bottom, panel.contentsRect())
            assert panel.detail.height() >= panel.detail.heightForWidth(panel.detail.width())
        finally:
            w.clinical_panel.set_values({"age": 68})
            rescored(w, qtbot)


def test_warnings_from_reading_the_images_are_shown(window, tmp_path):
    patient = tmp_path / "dicom"
    shutil.copytree(SAMPLE_DICOM, patient)
    first = sorted(patient.glob("*.dcm"))[0]
    shutil.copy(first, patient / f"{first.stem} (1).dcm")  # a file stored twice
    (patient / "IM_0999").write_bytes(b"not a DICOM file")  # a file that cannot be read
    assert window.open_patient(patient)
    assert wait_job(window) == ("load", "finished"), window.presenter.reports
    message = window.statusBar().currentMessage()
    assert message.startswith("Warning: ") and "cop" in message.lower() and re.search(r"\b\d+ files? skipped", message)


def test_a_failed_job_clears_an_earlier_success_from_the_status_bar(window):
    window.statusBar().showMessage("Exported to /somewhere", 15000)
    window._after_job("export", "failed", "Export failed: read-only file system")
    assert window.statusBar().currentMessage() == ""


def test_the_dashed_total_to_risk_line_does_not_cross_out_the_risk_labels(segmented):
    """The connector from the total points down to the risk axis runs through the risk row's tick labels (it struck
    out "0.2" on the sample patient): the labels sit on white, above it."""
    import pyqtgraph as pg

    plot = segmented.risk_panel.plot
    with resized(segmented, 1600, 1000):  # it ran at the size the test before it left (a wide risk panel)
        labels = [i for i in plot.getPlotItem().items
                  if isinstance(i, pg.TextItem) and i.toPlainText() in {"0.2", "0.5"}]
        connector = [i for i in plot.getPlotItem().items if isinstance(i, pg.PlotDataItem)
                     and i.opts["pen"] is not None and pg.mkPen(i.opts["pen"]).style() == Qt.PenStyle.DashLine]
    assert labels and len(connector) == 1
    for label in labels:
        assert label.zValue() > connector[0].zValue() and label.fill.color().alpha() == 255


def test_warnings_about_the_mask_stand_beside_the_risk(segmented):
    """A tumor cut off by the volume's edge, a very small mask or a sequence missing part of the tumor were said in
    the terminal and the report, never in the window: the risk panel showed the risk alone."""
    from dataclasses import replace

    w, panel = segmented, segmented.risk_panel
    before = w.session.prediction
    edge = "the tumor found reaches the edge of the CE-T1 volume: it may extend beyond the scanned field"
    w.session.prediction = replace(before, warnings=[*before.warnings, edge])
    try:
        w.session.events.prediction.emit()
        assert edge in panel.detail.text()
        assert panel.detail.text().count("BORDERLINE") == (1 if before.borderline else 0)  # not said twice
    finally:
        w.session.prediction = before
        w.session.events.prediction.emit()
    assert edge not in panel.detail.text()


def test_an_out_of_date_risk_is_grey_everywhere_and_an_erased_mask_is_not_called_the_models(segmented):
    """Only the headline's number was greyed: the nomogram kept its red dots and the figures line stayed black. An
    empty mask after the user erased the tumor said "No tumor found by the model" and, once a tumor was painted
    back, still said so without "OUT OF DATE"."""
    from dataclasses import replace

    from desktop.views.risk_panel import MARK_COLOR, STALE_COLOR

    panel, s = segmented.risk_panel, segmented.session
    before = s.prediction
    try:
        s.prediction = replace(before, clinical={**before.clinical, "age": before.clinical["age"] + 9})
        s.events.prediction.emit()  # the values on screen are not those of this risk: out of date
        assert s.risk_stale and "OUT OF DATE" in panel.headline.text()
        assert "color:#999'>Rad-score" in panel.detail.text()
        assert panel.plot._stale and panel.plot._drawn[-1] is True
        s.prediction = replace(before, score=None, status="no_tumor", edited=True)
        s.events.prediction.emit()
        assert "The edited mask is empty" in panel.headline.text() and "by the model" not in panel.headline.text()
    finally:
        s.prediction = before
        s.events.prediction.emit()
    assert not panel.plot._stale and "color:#999" not in panel.detail.text() and MARK_COLOR != STALE_COLOR


def test_warnings_come_before_the_figures_whether_or_not_the_risk_is_borderline(segmented):
    from dataclasses import replace

    w, panel = segmented, segmented.risk_panel
    before = w.session.prediction
    edge = "the tumor found reaches the edge of the CE-T1 volume: it may extend beyond the scanned field"
    try:
        for borderline in (None, {"boundary": 0.2, "margin": 0.05, "groups": ("low", "intermediate")}):
            w.session.prediction = replace(before, warnings=[edge], borderline=borderline)
            w.session.events.prediction.emit()
            text = panel.detail.text()
            assert text.index(edge) < text.index("Rad-score"), text
    finally:
        w.session.prediction = before
        w.session.events.prediction.emit()
