"""Paint and erase the tumor mask with a round brush sized in millimetres, with undo and redo (Qt-free).

A stroke (mouse press -> drag -> release) is one undo step. Only the voxels a stroke actually changed
are stored (flat indices and their previous values), so long editing sessions stay small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.events import Event
from desktop.model import PLANE_AXES


@dataclass(frozen=True)
class Stroke:
    indices: np.ndarray  # flat indices into the canonical mask
    before: np.ndarray  # their values before the stroke
    value: int  # what the stroke wrote (1 paint, 0 erase)


def disc(shape: tuple[int, int], spacing: tuple[float, float], centre: tuple[float, float],
         radius_mm: float) -> np.ndarray:
    """Boolean ``shape`` array of the pixels whose centres lie within ``radius_mm`` of ``centre``.

    ``centre`` is (row, col) in pixel units (continuous, pixel ``i`` spans ``[i, i+1)``); spacing in mm.
    At least the pixel under the centre is included, so a brush smaller than a pixel still paints.
    """
    return capsule(shape, spacing, centre, centre, radius_mm)


def capsule(shape: tuple[int, int], spacing: tuple[float, float], start: tuple[float, float],
            end: tuple[float, float], radius_mm: float) -> np.ndarray:
    """Boolean ``shape`` array of the pixels whose centres lie within ``radius_mm`` of the segment ``start``-``end``:
    what the brush covers when dragged from ``start`` to ``end`` (a disc when they are the same point).

    Points are (row, col) in pixel units as in :func:`disc`; spacing in mm. The pixels under the segment are
    included too (sampled every half pixel), so a brush smaller than a pixel still draws an unbroken line.
    """
    inside = np.zeros(shape, bool)
    (r0, c0), (r1, c1) = start, end
    reach = (radius_mm / spacing[0] + 1, radius_mm / spacing[1] + 1)  # the box around the segment, in pixels
    top, bottom = max(int(np.floor(min(r0, r1) - reach[0])), 0), min(int(np.ceil(max(r0, r1) + reach[0])), shape[0])
    left, right = max(int(np.floor(min(c0, c1) - reach[1])), 0), min(int(np.ceil(max(c0, c1) + reach[1])), shape[1])
    if top < bottom and left < right:
        rows = (np.arange(top, bottom) + 0.5 - r0)[:, None] * spacing[0]  # mm from start
        cols = (np.arange(left, right) + 0.5 - c0)[None, :] * spacing[1]
        dr, dc = (r1 - r0) * spacing[0], (c1 - c0) * spacing[1]
        length2 = dr * dr + dc * dc
        t = np.clip((rows * dr + cols * dc) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        inside[top:bottom, left:right] = (rows - t * dr) ** 2 + (cols - t * dc) ** 2 <= radius_mm ** 2
    steps = max(1, int(np.ceil(2 * max(abs(r1 - r0), abs(c1 - c0)))))
    fractions = np.linspace(0.0, 1.0, steps + 1)
    rr = np.floor(r0 + fractions * (r1 - r0)).astype(int)
    cc = np.floor(c0 + fractions * (c1 - c0)).astype(int)
    keep = (rr >= 0) & (rr < shape[0]) & (cc >= 0) & (cc < shape[1])
    inside[rr[keep], cc[keep]] = True
    return inside


class MaskEditor:
    """Edits ``mask`` (a canonical ``[S, P, L]`` uint8 array) in place; ``changed`` fires after each edit."""

    def __init__(self, mask: np.ndarray, spacing: tuple[float, float, float]) -> None:
        self.mask = mask
        self.spacing = spacing
        self.changed = Event("changed")
        self._undo: list[Stroke] = []
        self._redo: list[Stroke] = []
        self._touched: dict[int, int] | None = None
        self._value = 1
        #: while True (a job that replaces the mask runs) strokes, undo and redo change nothing
        self._locked = False

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not self._locked

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and not self._locked

    @property
    def in_stroke(self) -> bool:
        return self._touched is not None

    @property
    def locked(self) -> bool:
        return self._locked

    def set_locked(self, locked: bool) -> None:
        """Refuse (True) or accept edits again. Locking closes a stroke in progress: a drag that began before a
        segmentation started must not go on painting into a mask the segmentation is about to replace."""
        if locked:
            self.end_stroke()
        self._locked = bool(locked)

    def begin_stroke(self, value: int) -> None:
        """Start one undo step that writes ``value`` (1 paint, 0 erase); nothing while locked."""
        self.end_stroke()
        if not self._locked:
            self._touched, self._value = {}, int(bool(value))

    def dab(self, plane: str, slice_index: int, centre: tuple[float, float], radius_mm: float,
            previous: tuple[float, float] | None = None) -> int:
        """Apply the brush on a slice of ``plane`` at (row, col), and along the line from ``previous`` (the last
        position of a drag: mouse moves arrive far apart in a fast stroke); returns how many voxels changed."""
        if self._locked:
            return 0
        if self._touched is None:
            raise RuntimeError("dab() outside a stroke: call begin_stroke() first")
        axis, r_axis, c_axis = PLANE_AXES[plane]
        shape = (self.mask.shape[r_axis], self.mask.shape[c_axis])
        spacing = (self.spacing[r_axis], self.spacing[c_axis])
        inside = capsule(shape, spacing, centre if previous is None else previous, centre, radius_mm)
        rr, cc = np.nonzero(inside)
        index = [None, None, None]
        index[axis], index[r_axis], index[c_axis] = np.full(rr.shape, slice_index), rr, cc
        flat = np.ravel_multi_index(tuple(index), self.mask.shape)
        view = self.mask.reshape(-1)
        flat = flat[view[flat] != self._value]
        for i in flat.tolist():
            self._touched.setdefault(i, int(view[i]))
        view[flat] = self._value
        if flat.size:
            self.changed.emit()
        return int(flat.size)

    def end_stroke(self) -> None:
        """Close the current stroke (a stroke that changed nothing leaves no undo step)."""
        touched, self._touched = self._touched, None
        if touched:
            indices = np.fromiter(touched.keys(), np.int64, len(touched))
            before = np.fromiter(touched.values(), np.uint8, len(touched))
            self._undo.append(Stroke(indices, before, self._value))
            self._redo.clear()
            self.changed.emit()  # in_stroke is False now: listeners re-measure once per stroke

    def undo(self) -> bool:
        self.end_stroke()
        if self._locked or not self._undo:
            return False
        stroke = self._undo.pop()
        self.mask.reshape(-1)[stroke.indices] = stroke.before
        self._redo.append(stroke)
        self.changed.emit()
        return True

    def redo(self) -> bool:
        self.end_stroke()
        if self._locked or not self._redo:
            return False
        stroke = self._redo.pop()
        self.mask.reshape(-1)[stroke.indices] = stroke.value
        self._undo.append(stroke)
        self.changed.emit()
        return True
