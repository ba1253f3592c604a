"""One 2D plane of the viewer model, drawn with pyqtgraph. It listens to ``ViewerModel`` and calls its
setters; it keeps no state of its own beyond what is on screen.

Mouse (radiology conventions): wheel = slice, Ctrl+wheel or right-drag = zoom, middle-drag or
Shift+left-drag = pan, left-drag = window/level (or the brush in paint/erase mode), left-click = move the
crosshair, double-click = fit the slice. Keys: Up/Down/PageUp/PageDown (and Left/Right) = slice, +/- = zoom around
the crosshair, Shift+arrows = pan.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.model import INVERT_Y, ORIENTATION, PLANE_AXES, SEQUENCE_LABELS, ViewerModel
from desktop.session import Session
from desktop.views.brush_ring import BrushRing
from desktop.views.elided_label import ElidedLabel

FILL_RGB = (255, 48, 48)
OUTLINE_PEN = pg.mkPen((255, 220, 0), width=1.6)
CROSSHAIR_PEN = pg.mkPen((80, 220, 120, 170), width=1)
PLANE_TITLES = {"axial": "Axial", "coronal": "Coronal", "sagittal": "Sagittal"}


class _SliceViewBox(pg.ViewBox):
    """ViewBox with the viewer's mouse map (see the module docstring)."""

    def __init__(self, view: SliceView) -> None:
        super().__init__(lockAspect=True, invertY=INVERT_Y[view.plane], enableMenu=False)
        self.view = view
        self._wheel = 0

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802 (Qt naming)
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            return
        # one slice per wheel notch (120 units); touchpads send smaller steps that add up
        self._wheel += ev.delta()
        steps = int(self._wheel / 120)
        if steps:
            self._wheel -= steps * 120
            self.view.model.step_slice(self.view.plane, steps)
        ev.accept()

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.double():
            self.view.fit()
            return
        point = self.mapToView(ev.pos())
        if self.view.model.tool == "navigate":
            self.view.move_cursor(point)
        else:
            self.view.brush(point, start=True, finish=True)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        button, shift = ev.button(), bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if button == Qt.MouseButton.LeftButton and not shift:
            ev.accept()
            if self.view.model.tool == "navigate":
                delta = ev.screenPos() - ev.lastScreenPos()
                self.view.model.drag_contrast(self.view.role, delta.x(), delta.y())
            else:
                if ev.isStart():  # from where the button went down: the drag starts a few pixels later
                    self.view.brush(self.mapToView(ev.buttonDownPos()), start=True, finish=False)
                self.view.brush(self.mapToView(ev.pos()), start=False, finish=ev.isFinish())
            return
        if button == Qt.MouseButton.LeftButton:  # Shift+left: pan like the middle button
            super().mouseDragEvent(ev, axis)
            return
        super().mouseDragEvent(ev, axis)


#: how much + and - zoom in and out; Shift+arrows pan by PAN_STEP of the visible width or height
ZOOM_STEP, PAN_STEP = 1.25, 0.1
#: zoom bounds (keys, Ctrl+wheel, right-drag): in to this many of the plane's finer pixels across the view, out to this
#: many times the fitted view (the image a quarter of its fitted size); unbounded, a held '-' made it a dot in 3 s
MIN_VOXELS_ACROSS, ZOOM_OUT_LIMIT = 4, 4.0
#: pixels between an orientation letter and the widget's edge, and between the letter and the fitted image
LABEL_INSET, LABEL_GAP = 4, 3
TITLE_STYLE = "color: #ddd; background: {background}; padding: 2px 6px;"
TITLE_BACKGROUND, FOCUS_BACKGROUND = "#202020", "#2f62b0"


class _GraphicsView(pg.GraphicsView):
    def __init__(self, view: SliceView) -> None:
        super().__init__()
        self.view = view
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # The view that takes the keys (arrows: slices) has a blue title bar, so keyboard users see where they are. Not
    # a border: pyqtgraph maps the mouse over the whole widget, and a 2 px frame put the hover and the brush a
    # voxel off.
    def focusInEvent(self, ev) -> None:  # noqa: N802
        self.view.title.setStyleSheet(TITLE_STYLE.format(background=FOCUS_BACKGROUND))
        super().focusInEvent(ev)

    def focusOutEvent(self, ev) -> None:  # noqa: N802
        self.view.title.setStyleSheet(TITLE_STYLE.format(background=TITLE_BACKGROUND))
        super().focusOutEvent(ev)

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        steps = {Qt.Key.Key_Up: 1, Qt.Key.Key_Right: 1, Qt.Key.Key_PageUp: 1,
                 Qt.Key.Key_Down: -1, Qt.Key.Key_Left: -1, Qt.Key.Key_PageDown: -1}
        zoom = {Qt.Key.Key_Plus: ZOOM_STEP, Qt.Key.Key_Equal: ZOOM_STEP, Qt.Key.Key_Minus: 1 / ZOOM_STEP}
        pan = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        if ev.key() in zoom:  # the keyboard's Ctrl+wheel ("=" is "+" without Shift on many layouts)
            self.view.zoom(zoom[ev.key()])
            ev.accept()
            return
        if ev.key() in pan and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:  # the keyboard's Shift+drag
            self.view.pan(*pan[ev.key()])
            ev.accept()
            return
        if ev.key() in steps:
            self.view.model.step_slice(self.view.plane, steps[ev.key()])
            ev.accept()
            return
        super().keyPressEvent(ev)

    def leaveEvent(self, ev) -> None:  # noqa: N802
        self.view.mouse_left()  # the mouse went to another view: one ring on screen, where the brush is
        super().leaveEvent(ev)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        if getattr(self, "view", None) is not None:  # pyqtgraph resizes during its own __init__
            self.view.place_labels()
            if getattr(self.view, "fitted", False):  # fitted to the old size: again, with room for the letters
                self.view.fit()


class SliceView(QWidget):
    """A plane (axial/coronal/sagittal) of one sequence, or of the model's current sequence (role None).

    Signals:
        hovered(str): position (mm) and intensity under the mouse, for the status bar.
    """

    hovered = Signal(str)

    def __init__(self, model: ViewerModel, plane: str, role: str | None = None,
                 session: Session | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.plane, self.fixed_role, self.session = model, plane, role, session
        self.setObjectName(f"view_{plane}_{role or 'current'}")
        # shortened when narrow (see refresh), never sets the window's minimum width
        self.title = ElidedLabel(parent=self, elide=Qt.TextElideMode.ElideMiddle)
        self.title.setStyleSheet(TITLE_STYLE.format(background=TITLE_BACKGROUND))
        self.graphics = _GraphicsView(self)
        self.graphics.setBackground("k")
        self.box = _SliceViewBox(self)
        self.graphics.setCentralItem(self.box)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.fill = pg.ImageItem(axisOrder="row-major")
        self.outline = pg.IsocurveItem(level=0.5, pen=OUTLINE_PEN, axisOrder="row-major")
        self.outline.setParentItem(self.fill)  # shares the fill's pixel -> mm transform
        for item, z in ((self.image, 0), (self.fill, 10)):
            item.setZValue(z)
            self.box.addItem(item)
        self.vline = pg.InfiniteLine(angle=90, pen=CROSSHAIR_PEN, movable=False)
        self.hline = pg.InfiniteLine(angle=0, pen=CROSSHAIR_PEN, movable=False)
        for line in (self.vline, self.hline):
            line.setZValue(20)
            self.box.addItem(line, ignoreBounds=True)
        self.brush_ring = BrushRing()
        self.box.addItem(self.brush_ring, ignoreBounds=True)
        self.labels = {side: self._orientation_label(text)
                       for side, text in zip(("left", "right", "top", "bottom"), ORIENTATION[plane], strict=True)}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        ev = model.events
        ev.volumes.connect(self._on_volumes)
        ev.cursor.connect(self.refresh)
        ev.sequence.connect(self.refresh)
        ev.contrast.connect(self._on_contrast)
        ev.mask.connect(self.refresh_mask)
        ev.overlay.connect(self.refresh_mask)
        ev.tool.connect(self._update_ring)
        if session is not None:  # locked while a job that replaces the mask runs: no ring, as no brush
            session.events.editing.connect(self._update_ring)
        self._slice_shown: tuple | None = None
        self._stroke_from: tuple | None = None  # ((role, slice), (row, col)) of the last dab of the stroke
        self._rect = QRectF(0, 0, 1, 1)
        self._mouse_at: QPointF | None = None  # the mouse over this view's image area (mm); None: elsewhere
        #: the view shows the whole image as fit() placed it (not zoomed or panned since): a resize fits it again
        self.fitted = False
        self.box.sigRangeChangedManually.connect(self._on_zoomed_or_panned)
        self.box.sigRangeChanged.connect(self._on_range_changed)
        self._on_volumes()

    # -- helpers -------------------------------------------------------------------------------------
    @property
    def role(self) -> str:
        return self.fixed_role or self.model.sequence

    def _orientation_label(self, text: str) -> QLabel:
        label = QLabel(text, self.graphics)
        label.setStyleSheet("color: #ffb000; font-weight: bold; background: transparent;")
        label.adjustSize()
        return label

    def place_labels(self) -> None:
        """The orientation letters at the middle of each edge, inside the margins :meth:`fit` keeps free of image."""
        if not hasattr(self, "labels"):  # called by a resize during construction
            return
        w, h = self.graphics.width(), self.graphics.height()
        for side, label in self.labels.items():
            lw, lh = label.width(), label.height()
            x = {"left": LABEL_INSET, "right": w - lw - LABEL_INSET}.get(side, (w - lw) // 2)
            y = {"top": LABEL_INSET // 2, "bottom": h - lh - LABEL_INSET // 2}.get(side, (h - lh) // 2)
            label.move(x, y)

    def label_margins(self) -> tuple[int, int]:
        """Pixels at the left and right, and at the top and bottom, that the letters take."""
        width = max(self.labels[side].width() for side in ("left", "right"))
        height = max(self.labels[side].height() for side in ("top", "bottom"))
        return width + LABEL_INSET + LABEL_GAP, height + LABEL_INSET // 2 + LABEL_GAP

    def fit(self) -> None:
        """The whole slice, as large as fits with the orientation letters beside it, not over it: a sagittal
        image fills the width of its view, and its "P" sat on the image."""
        if not self.model.loaded:
            return
        w, h = self.box.width(), self.box.height()
        mx, my = self.label_margins()
        rect = self._rect
        if w <= 2 * mx or h <= 2 * my or rect.width() <= 0 or rect.height() <= 0:  # not laid out yet
            self._limit_zoom(rect.width(), rect.height())
            self.box.autoRange(padding=0.02)
        else:
            scale = min((w - 2 * mx) / rect.width(), (h - 2 * my) / rect.height())  # screen pixels per mm
            self._limit_zoom(w / scale, h / scale)
            c = rect.center()
            self.box.setRange(xRange=(c.x() - w / scale / 2, c.x() + w / scale / 2),
                              yRange=(c.y() - h / scale / 2, c.y() + h / scale / 2), padding=0)
        self.fitted = True

    def _limit_zoom(self, width_mm: float, height_mm: float) -> None:
        """Bound every zoom (see MIN_VOXELS_ACROSS) for a fitted view range of ``width_mm`` x ``height_mm``; pyqtgraph
        keeps the pixels square at the bounds."""
        smallest = MIN_VOXELS_ACROSS * min(self.model.plane_spacing(self.plane))
        self.box.setLimits(minXRange=smallest, minYRange=smallest, maxXRange=ZOOM_OUT_LIMIT * max(width_mm, smallest),
                           maxYRange=ZOOM_OUT_LIMIT * max(height_mm, smallest))

    def _on_zoomed_or_panned(self, *_) -> None:
        self.fitted = False

    def zoom(self, factor: float) -> None:
        """Zoom in (``factor`` > 1) or out around the crosshair, or around the middle when it is out of view."""
        (x0, x1), (y0, y1) = self.box.viewRange()
        centre = QPointF(self.vline.value(), self.hline.value())
        if not (x0 <= centre.x() <= x1 and y0 <= centre.y() <= y1):
            centre = QPointF((x0 + x1) / 2, (y0 + y1) / 2)
        self.box.scaleBy((1 / factor, 1 / factor), center=centre)
        self.fitted = False

    def pan(self, right: int, down: int) -> None:
        """Move the image ``right``/``down`` on screen by a step, as Shift+drag does (negative: left/up)."""
        (x0, x1), (y0, y1) = self.box.viewRange()
        y_up = -1 if INVERT_Y[self.plane] else 1  # the view's y grows upwards on screen unless the axis is inverted
        self.box.translateBy(x=-right * PAN_STEP * (x1 - x0), y=y_up * down * PAN_STEP * (y1 - y0))
        self.fitted = False

    def _to_pixel(self, point: QPointF) -> tuple[float, float]:
        row_mm, col_mm = self.model.plane_spacing(self.plane)
        return point.y() / row_mm, point.x() / col_mm

    # -- model -> screen -----------------------------------------------------------------------------
    def _on_volumes(self) -> None:
        loaded = self.model.loaded
        for item in (self.image, self.fill, self.vline, self.hline):
            item.setVisible(loaded)
        if not loaded:
            self.title.setText(PLANE_TITLES[self.plane])
            return
        _, r_axis, c_axis = PLANE_AXES[self.plane]
        rows, cols = self.model.shape[r_axis], self.model.shape[c_axis]
        row_mm, col_mm = self.model.plane_spacing(self.plane)
        self._rect = QRectF(0, 0, cols * col_mm, rows * row_mm)  # pixels -> mm: physical aspect ratio
        self._slice_shown = None
        self.refresh()
        self.refresh_mask()
        self.fit()

    def refresh(self) -> None:
        if not self.model.loaded:
            return
        axis = PLANE_AXES[self.plane][0]
        key = (self.role, self.model.cursor[axis])
        if key != self._slice_shown:
            self.image.setImage(self.model.plane_slice(self.plane, self.model.images[self.role]), autoLevels=False,
                                levels=self.model.contrast[self.role].levels)
            self.image.setRect(self._rect)  # after setImage: the scale is computed from the image size
            self._slice_shown = key
            self.refresh_mask()
        row, col = self.model.plane_cursor(self.plane)
        row_mm, col_mm = self.model.plane_spacing(self.plane)
        self.vline.setPos((col + 0.5) * col_mm)
        self.hline.setPos((row + 0.5) * row_mm)
        plane, sequence = PLANE_TITLES[self.plane], SEQUENCE_LABELS[self.role]
        number = f"{self.model.cursor[axis] + 1}/{self.model.slice_count(self.plane)}"
        # narrow: the sequence (a side-by-side column's only label) and the number stay, the plane goes first
        self.title.setText(f"{plane}  ·  {sequence}  ·  slice {number}",
                           shorter=(f"{plane} · {sequence} · {number}", f"{sequence}  {number}"))

    def _on_contrast(self, role: str) -> None:
        if self.model.loaded and role == self.role:
            self.image.setLevels(self.model.contrast[role].levels)

    def refresh_mask(self) -> None:
        m = self.model
        if not m.loaded or m.mask is None or not m.overlay_visible:
            self.fill.setVisible(False)
            return
        plane = m.plane_slice(self.plane, m.mask)
        rgba = np.zeros(plane.shape + (4,), np.uint8)
        if "fill" in m.overlay_mode:
            rgba[plane > 0] = (*FILL_RGB, round(255 * m.overlay_opacity))
        self.fill.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.fill.setRect(self._rect)
        self._set_outline(plane if "outline" in m.overlay_mode else None)
        self.outline.setOpacity(min(1.0, 0.3 + m.overlay_opacity))
        self.fill.setVisible(True)

    def _set_outline(self, plane: np.ndarray | None) -> None:
        """The mask's outline, traced in the tumor's box only (pyqtgraph's isocurve walks every pixel in Python: a
        whole 256x256 slice took ~30 ms per view after each segmentation), placed at the box's corner."""
        rows = np.flatnonzero(plane.any(axis=1)) if plane is not None else ()
        if len(rows) == 0:
            self.outline.setData(None)
            return
        cols = np.flatnonzero(plane.any(axis=0))
        r0, c0 = max(rows[0] - 1, 0), max(cols[0] - 1, 0)  # a row/column of background: closed contours
        box = plane[r0:rows[-1] + 2, c0:cols[-1] + 2]
        self.outline.setPos(c0, r0)  # in the fill's pixel coordinates (x = column, y = row)
        self.outline.setData(box.astype(np.float32))

    def _update_ring(self) -> None:
        """The brush ring where the mouse is, when a dab there would edit the mask (paint or erase, not locked);
        a new brush size shows at once, not at the next mouse move."""
        m = self.model
        if self._mouse_at is None or m.tool == "navigate" or not m.loaded or self.session is None \
                or not self.session.can_edit:
            self.brush_ring.hide()
            return
        _, r_axis, c_axis = PLANE_AXES[self.plane]
        self.brush_ring.place((m.shape[r_axis], m.shape[c_axis]), m.plane_spacing(self.plane),
                              self._to_pixel(self._mouse_at), m.brush_mm / 2)

    def _on_range_changed(self, *_) -> None:
        """The image moved under a still mouse (+/-, Shift+arrows, Ctrl+wheel, a fit): the ring and the status bar
        follow the pointer, not the image (the ring was placed in mm, so it moved with the image, away from where a
        click paints)."""
        if self._mouse_at is None:
            return
        viewport = self.graphics.viewport()
        self._on_mouse_moved(self.graphics.mapToScene(viewport.mapFromGlobal(QCursor.pos())))

    def mouse_left(self) -> None:
        self._mouse_at = None
        self.brush_ring.hide()

    # -- screen -> model -----------------------------------------------------------------------------
    def move_cursor(self, point: QPointF) -> None:
        row, col = self._to_pixel(point)
        voxel = self.model.point_in_plane(self.plane, row, col)
        if voxel is not None:
            self.model.set_cursor(voxel)

    def brush(self, point: QPointF, *, start: bool, finish: bool) -> None:
        """Paint (or erase) a dab at ``point``; a press-drag-release is one undo step."""
        editor = None if self.session is None else self.session.editor
        # locked: a job replaces the mask when it ends (a drag may have begun before it started)
        if editor is None or editor.locked or not self.model.loaded:
            return
        if start or not editor.in_stroke:
            editor.begin_stroke(1 if self.model.tool == "paint" else 0)
            self._stroke_from = None
        where, pixel = (self.role, self.model.cursor[PLANE_AXES[self.plane][0]]), self._to_pixel(point)
        # filled from the previous position: a fast drag's moves arrive ~20 voxels apart (dots, not a line)
        previous = self._stroke_from[1] if self._stroke_from and self._stroke_from[0] == where else None
        editor.dab(self.plane, where[1], pixel, self.model.brush_mm / 2, previous=previous)
        self._stroke_from = (where, pixel)
        self._mouse_at = point
        self._update_ring()
        if finish:
            editor.end_stroke()

    def _on_mouse_moved(self, scene_pos) -> None:
        if not self.model.loaded or not self.box.sceneBoundingRect().contains(scene_pos):
            self.mouse_left()
            return
        point = self._mouse_at = self.box.mapSceneToView(scene_pos)
        self._update_ring()
        voxel = self.model.point_in_plane(self.plane, *self._to_pixel(point))
        if voxel is None:
            self.hovered.emit("")
            return
        x, y, z = self.model.physical_mm(voxel)
        i, j, k = self.model.index_xyz(voxel)
        value = self.model.intensity(self.role, voxel)
        self.hovered.emit(f"{SEQUENCE_LABELS[self.role]}   x {x:.1f}  y {y:.1f}  z {z:.1f} mm (LPS)   "
                          f"voxel [{i}, {j}, {k}]   value {value:.4g}")
