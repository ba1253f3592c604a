"""The image views of the real window, driven with mouse and keyboard events (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.model import PLANE_AXES
from tests.desktop.helpers import hover, resized

pytestmark = pytest.mark.gui


def widget_pos(view, x_mm: float, y_mm: float) -> QPoint:
    """Viewport pixel of a view coordinate (mm) in a SliceView."""
    scene = view.box.mapViewToScene(QPointF(x_mm, y_mm))
    return view.graphics.mapFromScene(scene)


def wheel(view, pos: QPoint, notches: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    viewport = view.graphics.viewport()
    event = QWheelEvent(QPointF(pos), QPointF(viewport.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def drag(view, start: QPoint, end: QPoint, button=Qt.MouseButton.LeftButton, steps: int = 8) -> None:
    """Press, move with the button held, release: a real drag for pyqtgraph's scene."""
    viewport = view.graphics.viewport()

    def send(kind, pos: QPoint, buttons, changed) -> None:
        event = QMouseEvent(kind, QPointF(pos), QPointF(viewport.mapToGlobal(pos)), changed, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)

    send(QEvent.Type.MouseButtonPress, start, button, button)
    for k in range(1, steps + 1):
        QTest.qWait(12)  # pyqtgraph drops mouse moves closer than its rate limit (100 Hz)
        pos = start + (end - start) * (k / steps)
        send(QEvent.Type.MouseMove, pos, button, Qt.MouseButton.NoButton)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton, button)


def test_planes_have_physical_aspect_and_orientation_labels(segmented):
    m, views = segmented.model, segmented.viewer.ortho
    assert segmented.viewer.stack.currentIndex() == 1  # orthogonal layout shown
    for plane, view in views.items():
        _, r_axis, c_axis = PLANE_AXES[plane]
        rect = view.image.mapRectToParent(view.image.boundingRect())
        assert rect.width() == pytest.approx(m.shape[c_axis] * m.spacing[c_axis], rel=1e-4)
        assert rect.height() == pytest.approx(m.shape[r_axis] * m.spacing[r_axis], rel=1e-4)
        assert view.box.state["aspectLocked"]  # 1 mm is as wide as it is tall on screen
    labels = {plane: tuple(view.labels[s].text() for s in ("left", "right", "top", "bottom"))
              for plane, view in views.items()}
    assert labels == {"axial": ("R", "L", "A", "P"), "coronal": ("R", "L", "S", "I"),
                      "sagittal": ("A", "P", "S", "I")}
    # anisotropic voxels: the coronal plane is 20 slices of 4.5 mm tall
    assert m.plane_spacing("coronal") == pytest.approx((4.5, 0.7767), rel=1e-3)


def test_click_moves_the_linked_crosshair(segmented, qtbot):
    m, views = segmented.model, segmented.viewer.ortho
    start = m.cursor
    axial = views["axial"]
    row_mm, col_mm = m.plane_spacing("axial")
    with resized(segmented, 1600, 1000):  # a screen pixel per voxel at least: each voxel can be clicked
        assert max(axial.box.viewPixelSize()) < min(row_mm, col_mm)
        target_row, target_col = 40, 200
        pos = widget_pos(axial, (target_col + 0.5) * col_mm, (target_row + 0.5) * row_mm)
        qtbot.mouseClick(axial.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert m.cursor == (start[0], target_row, target_col)
    # the other planes follow: coronal shows slice P=40 with its vertical line at L=200
    assert views["coronal"].vline.value() == pytest.approx((target_col + 0.5) * col_mm)
    assert views["sagittal"].title.text().endswith(f"slice {target_col + 1}/{m.shape[2]}")
    m.set_cursor(start)


def test_wheel_and_arrow_keys_change_slice(segmented, qtbot):
    m, axial = segmented.model, segmented.viewer.ortho["axial"]
    original = m.cursor
    m.set_cursor((5, *m.cursor[1:]))
    start = m.cursor
    centre = axial.graphics.viewport().rect().center()
    wheel(axial, centre, 2)
    assert m.cursor[0] == 7
    wheel(axial, centre, -1)
    assert m.cursor[0] == 6
    axial.graphics.setFocus()
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Down)
    qtbot.keyClick(axial.graphics, Qt.Key.Key_Down)
    assert m.cursor[0] == 4
    qtbot.keyClick(axial.graphics, Qt.Key.Key_PageUp)
    assert m.cursor == (5, *start[1:])
    before = axial.box.viewRange()
    wheel(axial, centre, 3, Qt.KeyboardModifier.ControlModifier)  # Ctrl+wheel zooms instead
    after = axial.box.viewRange()
    assert after[0][1] - after[0][0] < before[0][1] - before[0][0]
    segmented.actions["fit"].trigger()
    m.set_cursor(original)


def test_window_level_drag_and_reset(segmented, qtbot):
    m, axial = segmented.model, segmented.viewer.ortho["axial"]
    default = m.contrast["cet1"]
    centre = axial.graphics.viewport().rect().center()
    drag(axial, centre, centre + QPoint(80, -40))  # right widens the window, up raises the level
    assert m.contrast["cet1"].window > default.window and m.contrast["cet1"].level > default.level
    assert axial.image.levels == pytest.approx(m.contrast["cet1"].levels)
    assert segmented.viewer.ortho["coronal"].image.levels == pytest.approx(m.contrast["cet1"].levels)
    assert m.contrast["t2"] == segmented.model.contrast["t2"]  # per sequence
    segmented.actions["reset_wl"].trigger()
    assert m.contrast["cet1"] == default
    assert axial.image.levels == pytest.approx(default.levels)


def test_pan_and_zoom_with_the_mouse(segmented):
    axial = segmented.viewer.ortho["axial"]
    centre = axial.graphics.viewport().rect().center()
    (x0, x1), (y0, y1) = axial.box.viewRange()
    drag(axial, centre, centre + QPoint(60, 0), Qt.MouseButton.MiddleButton)
    (px0, px1), _ = axial.box.viewRange()
    assert px0 < x0 and px1 - px0 == pytest.approx(x1 - x0)  # panned, not zoomed
    drag(axial, centre, centre + QPoint(0, -60), Qt.MouseButton.RightButton)
    _, (zy0, zy1) = axial.box.viewRange()
    assert zy1 - zy0 < 0.8 * (y1 - y0)  # zoomed in
    segmented.actions["fit"].trigger()
    assert axial.box.viewRange()[1][1] - axial.box.viewRange()[1][0] == pytest.approx(y1 - y0, rel=0.05)


def test_sequence_switch_and_side_by_side(segmented):
    m, viewer = segmented.model, segmented.viewer
    segmented.actions["show_t2"].trigger()
    assert m.sequence == "t2" and segmented.sequence_combo.currentText() == "T2"
    assert "T2" in viewer.ortho["axial"].title.text()
    assert (viewer.ortho["axial"].image.image == m.plane_slice("axial", m.images["t2"])).all()
    segmented.sequence_combo.setCurrentIndex(0)
    assert m.sequence == "cet1"
    segmented.actions["side_by_side"].trigger()
    assert viewer.stack.currentIndex() == 2
    titles = [v.title.text() for v in viewer.side.values()]
    assert [t.split("  ·  ")[1] for t in titles] == ["CE-T1", "T2", "T1"]
    segmented.actions["orthogonal"].trigger()
    assert viewer.stack.currentIndex() == 1


def test_hover_shows_position_in_mm_and_intensity(segmented, qtbot):
    axial = segmented.viewer.ortho["axial"]
    m = segmented.model
    row_mm, col_mm = m.plane_spacing("axial")
    with resized(segmented, 1600, 1000):  # a screen pixel per voxel: it passed only after a test left this size
        assert max(axial.box.viewPixelSize()) < min(row_mm, col_mm)
        pos = widget_pos(axial, 100.5 * col_mm, 120.5 * row_mm)
        hover(qtbot, axial.graphics.viewport(), pos)
        text = segmented.hover_label.text()
    point = (m.cursor[0], 120, 100)
    x, y, z = m.physical_mm(point)
    assert f"x {x:.1f}" in text and f"z {z:.1f} mm (LPS)" in text
    assert f"value {m.intensity('cet1', point):.4g}" in text


def test_overlay_toggle_key_and_style(segmented, qtbot):
    from desktop.session import tumor_centre

    m, axial = segmented.model, segmented.viewer.ortho["axial"]
    m.set_cursor(tumor_centre(m.mask, m.cursor))  # a slice through the tumor
    assert m.overlay_visible and axial.fill.isVisible()
    qtbot.keyClick(segmented, Qt.Key.Key_M)
    assert not m.overlay_visible and not axial.fill.isVisible()
    segmented.actions["overlay"].trigger()
    assert m.overlay_visible and axial.fill.isVisible()
    segmented.mask_panel.mode.setCurrentText("outline")
    assert axial.fill.image[..., 3].max() == 0  # no fill, the outline only
    segmented.mask_panel.opacity.setValue(80)
    segmented.mask_panel.mode.setCurrentText("fill+outline")
    assert axial.fill.image[..., 3].max() == round(255 * 0.8)
    segmented.mask_panel.opacity.setValue(45)


def test_identifiers_hidden_unless_asked(segmented):
    folder = "sample_patient"
    assert folder not in segmented.windowTitle()
    recent = [a.text() for a in segmented.recent_menu.actions()]
    assert recent and not any(folder in t for t in recent)
    segmented.actions["identifiers"].trigger()
    assert folder in segmented.windowTitle()
    assert any(folder in a.text() for a in segmented.recent_menu.actions())
    segmented.actions["identifiers"].trigger()
    assert folder not in segmented.windowTitle()
