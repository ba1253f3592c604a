"""The brush ring shows what a dab paints (thick slices included) and only while the mask can be edited; the
orientation letters stay off the image; + / - and Shift+arrows zoom and pan a view (the reviews of 2026-11-30)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.model import PLANE_AXES
from tests.desktop.conftest import wait_job
from tests.desktop.helpers import held, hover, resized
from tests.desktop.test_mask_editing import at

pytestmark = pytest.mark.gui


def painted_rect(view, before: np.ndarray, after: np.ndarray) -> QRectF:
    """The voxels a click changed on the view's plane, as one rectangle in the view's mm."""
    _, r_axis, c_axis = PLANE_AXES[view.plane]
    changed = np.argwhere(after != before)
    rows, cols = changed[:, r_axis], changed[:, c_axis]
    row_mm, col_mm = view.model.plane_spacing(view.plane)
    return QRectF(cols.min() * col_mm, rows.min() * row_mm, (cols.max() + 1 - cols.min()) * col_mm,
                  (rows.max() + 1 - rows.min()) * row_mm)


@pytest.mark.parametrize(("plane", "brush_mm"), [("coronal", 10.0), ("coronal", 3.0), ("sagittal", 10.0),
                                                  ("axial", 10.0)])
def test_the_brush_ring_outlines_the_voxels_a_click_paints(segmented, qtbot, plane, brush_mm):
    """Coronal and sagittal rows are 4.5 mm slices: a 3 mm ring painted a 4.5 mm-tall row, a 10 mm ring three rows
    (13.5 mm). The ring is the outline of the painted voxels now, in every plane."""
    w, m = segmented, segmented.model
    view = w.viewer.ortho[plane]
    w.actions["paint"].trigger()
    w.mask_panel.brush.setValue(brush_mm)
    row, col = m.plane_cursor(plane)
    row, col = row + 0.3, col + 30.2  # off the tumor, off the voxel centre
    try:
        hover(qtbot, view.graphics.viewport(), at(view, row - 0.5, col - 0.5))
        ring = view.brush_ring
        assert ring.isVisible()
        outline = ring.mapRectToParent(ring.boundingRect())
        before = m.mask.copy()
        QTest.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=at(view, row - 0.5, col - 0.5))
        painted = painted_rect(view, before, m.mask)
        tolerance = 0.05 * min(m.plane_spacing(plane))  # the mouse lands on whole screen pixels
        for got, want in ((outline.left(), painted.left()), (outline.right(), painted.right()),
                          (outline.top(), painted.top()), (outline.bottom(), painted.bottom())):
            assert got == pytest.approx(want, abs=tolerance), (outline, painted)
        # and voxel by voxel: a voxel is painted exactly when its centre is inside the ring
        _, r_axis, c_axis = PLANE_AXES[plane]
        row_mm, col_mm = m.plane_spacing(plane)
        changed = m.plane_slice(plane, m.mask) != m.plane_slice(plane, before)
        r0, c0 = int(painted.top() / row_mm) - 1, int(painted.left() / col_mm) - 1
        for r in range(max(r0, 0), min(int(painted.bottom() / row_mm) + 1, changed.shape[0])):
            for c in range(max(c0, 0), min(int(painted.right() / col_mm) + 1, changed.shape[1])):
                inside = ring.path().contains(QPointF((c + 0.5) * col_mm, (r + 0.5) * row_mm))
                assert inside == changed[r, c], (r, c)
    finally:
        w.actions["undo"].trigger()
        w.actions["navigate"].trigger()
    assert not w.actions["undo"].isEnabled()


def test_no_brush_ring_while_the_mask_is_locked(segmented, qtbot, monkeypatch):
    """While a patient loads (or a segmentation runs) the mask cannot be edited, but the ring kept following the
    mouse as if a click would paint. It is hidden then, and back where the mouse is when the job ends."""
    from inference.assets import SAMPLE_PATIENT

    w, m, s = segmented, segmented.model, segmented.session
    axial = w.viewer.ortho["axial"]
    gate = held(monkeypatch, w.engine, "load")
    w.actions["paint"].trigger()
    row, col = m.plane_cursor("axial")
    viewport = axial.graphics.viewport()
    hover(qtbot, viewport, at(axial, row + 20, col))
    assert axial.brush_ring.isVisible()
    try:
        assert w.open_patient(SAMPLE_PATIENT) and s.editing_locked
        assert not axial.brush_ring.isVisible()
        hover(qtbot, viewport, at(axial, row + 25, col))
        assert not axial.brush_ring.isVisible()
        m.set_tool("erase")  # even a tool chosen meanwhile shows no ring
        assert not axial.brush_ring.isVisible()
        w.cancel()
    finally:
        gate.set()
    assert wait_job(w) == ("load", "cancelled"), w.presenter.reports
    assert not s.editing_locked and axial.brush_ring.isVisible()  # no mouse move needed
    centre = axial.brush_ring.mapRectToParent(axial.brush_ring.boundingRect()).center()
    row_mm, col_mm = m.plane_spacing("axial")
    assert centre.y() == pytest.approx((row + 25.5) * row_mm, abs=row_mm)  # where the mouse went meanwhile
    w.actions["navigate"].trigger()
    assert not axial.brush_ring.isVisible()


def image_on_screen(view):
    """The fitted image's rectangle in the view's widget pixels."""
    scene = view.box.mapViewToScene(view.image.mapRectToParent(view.image.boundingRect()))
    return view.graphics.mapFromScene(scene).boundingRect()


@pytest.mark.parametrize("size", [(1297, 706), (910, 512)])
def test_the_orientation_letters_are_beside_the_image_not_on_it(segmented, size):
    """The sagittal image fills the width of its view, and its "P" was drawn on the image (at 1366x768, and at
    150 %: 910x512 logical). Fitting keeps room for the letters, after a resize too."""
    w = segmented
    with resized(w, *size):
        w._share_width()
        QApplication.processEvents()
        views = [*w.viewer.ortho.values()]
        for view in views:
            image = image_on_screen(view)
            assert image.width() > 0.7 * view.graphics.width() or image.height() > 0.7 * view.graphics.height()
            for side, label in view.labels.items():
                assert not label.geometry().intersects(image), (view.plane, side, label.geometry(), image)
        w.actions["side_by_side"].trigger()
        try:
            QApplication.processEvents()
            for view in w.viewer.side.values():
                for side, label in view.labels.items():
                    assert not label.geometry().intersects(image_on_screen(view)), (view.role, side)
        finally:
            w.actions["orthogonal"].trigger()


def test_plus_minus_zoom_and_shift_arrows_pan_the_focused_view(segmented, qtbot):
    """There was no keyboard zoom or pan (+, = and - left the view as it was): + and - zoom around the crosshair,
    Shift+arrows move the image as Shift+drag does, F fits again."""
    w, m = segmented, segmented.model
    axial = w.viewer.ortho["axial"]
    axial.graphics.setFocus()
    start = m.cursor
    w.actions["fit"].trigger()
    (x0, x1), (y0, y1) = axial.box.viewRange()
    cross = axial.graphics.mapFromScene(axial.box.mapViewToScene(QPointF(axial.vline.value(), axial.hline.value())))
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Plus)
    (zx0, zx1), (zy0, zy1) = axial.box.viewRange()
    assert zx1 - zx0 == pytest.approx((x1 - x0) / 1.25) and zy1 - zy0 == pytest.approx((y1 - y0) / 1.25)
    after = axial.graphics.mapFromScene(axial.box.mapViewToScene(QPointF(axial.vline.value(), axial.hline.value())))
    assert (after - cross).manhattanLength() <= 2  # around the crosshair
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Minus)
    assert axial.box.viewRange()[0][1] - axial.box.viewRange()[0][0] == pytest.approx(x1 - x0)
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    (px0, px1), (py0, py1) = axial.box.viewRange()
    assert px0 < x0 and px1 - px0 == pytest.approx(x1 - x0) and (py0, py1) == pytest.approx((y0, y1))
    image_x = image_on_screen(axial).x()
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert image_on_screen(axial).x() == image_x
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    assert m.cursor == start  # Shift+arrows pan: no slice changed
    moved = image_on_screen(axial)
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert image_on_screen(axial).y() > moved.y()  # the image goes down with Shift+Down (as Shift+drag moves it)
    assert not axial.fitted
    w.actions["fit"].trigger()
    assert axial.fitted and axial.box.viewRange()[0] == pytest.approx([x0, x1])
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Up)  # plain arrows still change the slice
    assert m.cursor[0] == start[0] + 1
    m.set_cursor(start)


def ring_centre_and_pointer(view, pointer: QPoint) -> tuple[QPointF, QPointF]:
    """The brush ring's centre and the point under ``pointer`` (viewport pixels), both in the view's mm."""
    ring = view.brush_ring
    centre = ring.mapRectToParent(ring.boundingRect()).center()
    return centre, view.box.mapSceneToView(view.graphics.mapToScene(pointer))


def test_the_brush_ring_stays_under_a_still_pointer_when_the_view_zooms_or_pans(segmented, qtbot):
    """The ring was placed again only when the mouse moved: after 3x Shift+Right it was 100 px from the pointer (it
    moved with the image), where a click paints nothing of what it outlined. Keys, Ctrl+wheel and a re-fit move the
    image under the pointer, not the ring."""
    from tests.desktop.test_viewer import wheel

    w, m = segmented, segmented.model
    view = w.viewer.ortho["coronal"]
    row_mm, col_mm = m.plane_spacing("coronal")
    w.actions["paint"].trigger()
    row, col = m.plane_cursor("coronal")
    pointer = at(view, row, col + 30)
    hover(qtbot, view.graphics.viewport(), pointer)
    view.graphics.setFocus()
    try:
        assert view.brush_ring.isVisible()
        steps = [lambda: qtbot.keyClick(view.graphics, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)] * 3
        steps += [lambda: qtbot.keyClick(view.graphics, Qt.Key.Key_Plus),
                  lambda: qtbot.keyClick(view.graphics, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier),
                  lambda: wheel(view, pointer, -2, Qt.KeyboardModifier.ControlModifier),
                  w.actions["fit"].trigger]
        for step in steps:
            before = view.box.viewRange()
            step()
            assert view.box.viewRange() != before
            centre, under_pointer = ring_centre_and_pointer(view, pointer)
            assert view.brush_ring.isVisible()
            assert abs(centre.x() - under_pointer.x()) <= col_mm and abs(centre.y() - under_pointer.y()) <= row_mm
    finally:
        w.actions["navigate"].trigger()
        w.actions["fit"].trigger()


def test_zoom_stops_at_a_few_voxels_and_at_a_quarter_of_the_fitted_image(segmented, qtbot):
    """Zoom had no bounds: 80x '-' (held, it repeats at ~30 Hz) gave an x range of 8e9 mm, 200x '+' 3.5e-10 mm, an
    empty-looking view until F. The keys, Ctrl+wheel and right-drag now stop at MIN_VOXELS_ACROSS voxels across the
    view and at ZOOM_OUT_LIMIT times the fitted range, square pixels kept."""
    from desktop.views.slice_view import MIN_VOXELS_ACROSS, ZOOM_OUT_LIMIT
    from tests.desktop.test_viewer import wheel

    w, m = segmented, segmented.model
    view = w.viewer.ortho["coronal"]  # 4.5 x 0.78 mm pixels
    view.graphics.setFocus()
    w.actions["fit"].trigger()
    (x0, x1), (y0, y1) = view.box.viewRange()
    fitted_image = image_on_screen(view)

    def ranges() -> tuple[float, float]:
        (a0, a1), (b0, b1) = view.box.viewRange()
        px, py = view.box.viewPixelSize()
        assert px == pytest.approx(py)  # 1 mm as wide as tall on screen, at the limits too
        return a1 - a0, b1 - b0

    try:
        for _ in range(80):
            qtbot.keyClick(view.graphics, Qt.Key.Key_Minus)
        width, height = ranges()
        assert width <= ZOOM_OUT_LIMIT * (x1 - x0) * 1.0001 and height <= ZOOM_OUT_LIMIT * (y1 - y0) * 1.0001
        assert image_on_screen(view).width() >= fitted_image.width() / ZOOM_OUT_LIMIT - 1  # still an image
        for _ in range(200):
            qtbot.keyClick(view.graphics, Qt.Key.Key_Plus)
        assert min(ranges()) >= MIN_VOXELS_ACROSS * min(m.plane_spacing("coronal")) * 0.9999
        wheel(view, view.graphics.viewport().rect().center(), -200, Qt.KeyboardModifier.ControlModifier)
        width, height = ranges()
        assert width <= ZOOM_OUT_LIMIT * (x1 - x0) * 1.0001 and height <= ZOOM_OUT_LIMIT * (y1 - y0) * 1.0001
    finally:
        w.actions["fit"].trigger()
    assert view.box.viewRange()[0] == pytest.approx([x0, x1])  # F fits as before
