"""Mask editing with the mouse (the GUI review of 2026-11-30): no edit is taken while a job that will replace the
mask runs, fast strokes are continuous, and the brush ring shows where and how big the brush is."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.desktop.conftest import wait_job
from tests.desktop.helpers import held, hover
from tests.desktop.test_viewer import widget_pos

pytestmark = pytest.mark.gui

LEFT, NO_BUTTON = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton


def send(view, kind: QEvent.Type, pos, buttons, changed) -> None:
    viewport = view.graphics.viewport()
    event = QMouseEvent(kind, QPointF(pos), QPointF(viewport.mapToGlobal(pos)), changed, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def move(view, pos) -> None:
    QTest.qWait(12)  # pyqtgraph drops mouse moves closer than its rate limit (100 Hz)
    send(view, QEvent.Type.MouseMove, pos, LEFT, NO_BUTTON)


def at(view, row: float, col: float):
    """Viewport position of the centre of pixel (row, col) of the view's plane."""
    row_mm, col_mm = view.model.plane_spacing(view.plane)
    return widget_pos(view, (col + 0.5) * col_mm, (row + 0.5) * row_mm)


def test_no_mask_edit_while_a_segmentation_is_about_to_replace_the_mask(segmented, monkeypatch):
    """Strokes painted while Segment ran were taken (601 -> 692 voxels), then silently replaced by the new
    automatic mask with the undo history. The tools are disabled now, and a drag already under way stops
    painting when the job starts."""
    w, m, s = segmented, segmented.model, segmented.session
    axial = w.viewer.ortho["axial"]
    automatic = m.mask.copy()
    gate = held(monkeypatch, w.engine, "segment")  # the job runs until the test lets it finish
    w.actions["paint"].trigger()
    w.mask_panel.brush.setValue(3.0)
    row, col = m.plane_cursor("axial")
    try:
        send(axial, QEvent.Type.MouseButtonPress, at(axial, row - 20, col - 20), LEFT, LEFT)
        move(axial, at(axial, row - 20, col - 15))  # a drag under way, painting
        assert s.mask_changed and s.editor.in_stroke
        w.segment()  # asked first (the tests answer "discard")
        assert w.runner.current == "segment" and s.editing_locked and not s.editor.in_stroke
        at_start = m.mask.copy()
        for name in ("paint", "erase", "undo", "redo"):
            assert not w.actions[name].isEnabled(), name
        assert not w.mask_panel.brush.isEnabled() and not w.mask_panel.undo_button.isEnabled()
        assert not any(b.isEnabled() for b in w.mask_panel.tools.buttons())
        move(axial, at(axial, row - 20, col - 5))  # the drag goes on
        move(axial, at(axial, row - 20, col + 5))
        send(axial, QEvent.Type.MouseButtonRelease, at(axial, row - 20, col + 5), NO_BUTTON, LEFT)
        QTest.mouseClick(axial.graphics.viewport(), LEFT, pos=at(axial, row + 20, col))
        s.editor.undo()  # the model refuses too, not only the disabled actions
        assert np.array_equal(m.mask, at_start)
    finally:
        gate.set()
    assert wait_job(w) == ("segment", "finished"), w.presenter.reports
    assert not s.editing_locked and w.actions["paint"].isEnabled() and w.mask_panel.brush.isEnabled()
    assert m.tool == "paint" and np.array_equal(m.mask, automatic)
    QTest.mouseClick(axial.graphics.viewport(), LEFT, pos=at(axial, row + 20, col))  # painting works again
    assert s.mask_changed and w.actions["undo"].isEnabled()
    w.actions["undo"].trigger()
    w.actions["navigate"].trigger()
    assert np.array_equal(m.mask, automatic)


def test_no_mask_edit_while_a_patient_loads(segmented, monkeypatch):
    """Opening a patient replaces the mask too: strokes painted while it loaded were dropped without a word."""
    from inference.assets import SAMPLE_PATIENT

    w, m, s = segmented, segmented.model, segmented.session
    axial = w.viewer.ortho["axial"]
    before = m.mask.copy()
    gate = held(monkeypatch, w.engine, "load")
    w.actions["paint"].trigger()
    row, col = m.plane_cursor("axial")
    try:
        assert w.open_patient(SAMPLE_PATIENT) and s.editing_locked
        assert not w.actions["paint"].isEnabled() and not w.mask_panel.brush.isEnabled()
        QTest.mouseClick(axial.graphics.viewport(), LEFT, pos=at(axial, row + 20, col))
        assert np.array_equal(m.mask, before)
        w.cancel()
    finally:
        gate.set()
    assert wait_job(w) == ("load", "cancelled"), w.presenter.reports
    assert not s.editing_locked and w.actions["paint"].isEnabled()
    QTest.mouseClick(axial.graphics.viewport(), LEFT, pos=at(axial, row + 20, col))
    assert s.mask_changed
    w.actions["undo"].trigger()
    w.actions["navigate"].trigger()
    assert np.array_equal(m.mask, before)


def test_the_toolbar_recompute_is_enabled_exactly_when_the_panel_button_is(segmented, qtbot):
    """Right after a segmentation the panel's Recompute was disabled, but the toolbar's (and Ctrl+Return) reran
    radiomics and wrote an audit entry for nothing."""
    w, m = segmented, segmented.model
    action, button, axial = w.actions["recompute"], w.mask_panel.recompute_button, w.viewer.ortho["axial"]
    assert not w.session.mask_changed and not action.isEnabled() and not button.isEnabled()
    audit = len(w.engine.audit.read())
    axial.graphics.setFocus()
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not w.runner.busy and len(w.engine.audit.read()) == audit
    w.actions["paint"].trigger()
    row, col = m.plane_cursor("axial")
    QTest.mouseClick(axial.graphics.viewport(), LEFT, pos=at(axial, row + 20, col))
    assert action.isEnabled() and button.isEnabled()
    action.trigger()
    w.actions["navigate"].trigger()  # the panel re-synced itself on a tool change and enabled its button mid-job
    assert w.runner.current == "rescore" and not action.isEnabled() and not button.isEnabled()
    assert wait_job(w) == ("rescore", "finished"), w.presenter.reports
    assert not action.isEnabled() and not button.isEnabled()
    w.actions["undo"].trigger()  # back to the automatic mask: differs from the mask of the risk
    assert action.isEnabled() and button.isEnabled()
    action.trigger()
    assert wait_job(w) == ("rescore", "finished"), w.presenter.reports
    assert not action.isEnabled() and not button.isEnabled()


def test_a_fast_stroke_is_a_continuous_line_and_one_undo_step(segmented):
    """Each mouse move painted one dab: 5 events across 80 voxels left dots 17 columns apart."""
    w, m = segmented, segmented.model
    axial = w.viewer.ortho["axial"]
    before = m.mask.copy()
    w.actions["paint"].trigger()
    w.mask_panel.brush.setValue(3.0)  # 1.9 pixels across
    z, row, col = m.cursor
    row = row - 30 if row >= 30 else row + 30  # off the tumor
    cols = [col - 40 + 20 * k for k in range(5)]
    send(axial, QEvent.Type.MouseButtonPress, at(axial, row, cols[0]), LEFT, LEFT)
    for c in cols[1:]:
        move(axial, at(axial, row, c))
    send(axial, QEvent.Type.MouseButtonRelease, at(axial, row, cols[-1]), NO_BUTTON, LEFT)
    line = m.plane_slice("axial", m.mask)[row, cols[0]:cols[-1] + 1]
    assert line.all(), f"gaps at columns {np.flatnonzero(line == 0) + cols[0]}"
    assert not before[z, row, cols[0]:cols[-1] + 1].any()
    w.actions["undo"].trigger()  # the whole stroke
    w.actions["navigate"].trigger()
    assert np.array_equal(m.mask, before) and not w.actions["undo"].isEnabled()


def test_the_brush_ring_follows_a_size_change_and_leaves_with_the_mouse(segmented, qtbot):
    """The ring kept its old size until the mouse moved, and stayed in a view the mouse had left (two rings)."""
    w, m = segmented, segmented.model
    axial, coronal = w.viewer.ortho["axial"], w.viewer.ortho["coronal"]
    w.actions["paint"].trigger()
    w.mask_panel.brush.setValue(20.0)
    row, col = m.plane_cursor("axial")
    hover(qtbot, axial.graphics.viewport(), at(axial, row, col))
    ring = axial.brush_ring  # the outline of the voxels a dab paints: within a pixel of the brush's size
    col_mm = m.plane_spacing("axial")[1]
    assert ring.isVisible() and ring.boundingRect().width() == pytest.approx(20.0, abs=col_mm)
    centre = ring.boundingRect().center()
    w.mask_panel.brush.setValue(40.0)  # no mouse move
    assert ring.boundingRect().width() == pytest.approx(40.0, abs=col_mm)
    assert (ring.boundingRect().center() - centre).manhattanLength() < 2 * col_mm
    crow, ccol = m.plane_cursor("coronal")
    hover(qtbot, coronal.graphics.viewport(), at(coronal, crow, ccol))  # over to the coronal view
    QApplication.sendEvent(axial.graphics, QEvent(QEvent.Type.Leave))  # what the window system sends
    assert coronal.brush_ring.isVisible() and not axial.brush_ring.isVisible()
    w.actions["navigate"].trigger()
    w.mask_panel.brush.setValue(5.0)
    assert not coronal.brush_ring.isVisible()
