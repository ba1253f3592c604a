"""The brush ring: under the mouse, the outline of the very voxels a dab there would paint or erase.

A circle of the brush's diameter understated the dab on the coronal and sagittal planes, whose rows are whole
slices (4.5 mm on the sample): a 3 mm circle painted a 4.5 mm-tall row, a 10 mm one three rows, 13.5 mm tall. The
ring is traced around the pixels ``mask_edit.disc`` selects (the function ``MaskEditor.dab`` paints with), in the
view's millimetres, so it shows those steps: a round outline on fine pixels, a staircase on thick slices.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from desktop.mask_edit import disc

RING_COLOR = QColor(0, 200, 255)


def footprint_path(inside: np.ndarray, spacing: tuple[float, float]) -> QPainterPath:
    """The outline of the ``True`` pixels of ``inside`` (rows x columns), in mm: pixel ``(r, c)`` spans
    ``[c, c+1) x [r, r+1)`` times the columns' and rows' spacing, as the slice image is drawn."""
    row_mm, col_mm = spacing
    path = QPainterPath()
    for r in np.flatnonzero(inside.any(axis=1)):
        row = np.concatenate(([False], inside[r], [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(row))  # run starts and ends, alternately
        for c0, c1 in zip(edges[::2], edges[1::2], strict=True):
            path.addRect(QRectF(c0 * col_mm, r * row_mm, (c1 - c0) * col_mm, row_mm))
    return path.simplified()  # one outline: the rows' rectangles merged


class BrushRing(QGraphicsPathItem):
    """Drawn in a slice view's ViewBox (coordinates in mm); hidden until :meth:`place`."""

    def __init__(self) -> None:
        super().__init__()
        self.setPen(QPen(RING_COLOR, 0))  # cosmetic: one screen pixel at any zoom
        self.setZValue(30)
        self.hide()

    def place(self, shape: tuple[int, int], spacing: tuple[float, float], centre: tuple[float, float],
              radius_mm: float) -> None:
        """Outline what a dab of ``radius_mm`` at ``centre`` ((row, col) in pixels, as ``MaskEditor.dab`` takes it)
        would change on a plane of ``shape`` with ``spacing`` (mm); hidden where it would change nothing."""
        inside = disc(shape, spacing, centre, radius_mm)
        self.setPath(footprint_path(inside, spacing))
        self.setVisible(bool(inside.any()))
