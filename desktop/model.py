"""What the viewer shows, without Qt: volumes in display orientation, cursor, contrast, overlay, tool.

Volumes arrive on the CE-T1 grid (``PreparedPatient.volumes``) and are brought to the LPS display order
``[S, P, L]`` with ``inference.preprocess.to_canonical`` (the same reorientation the model uses), so
every view reads plain slices: axial ``[P, L]``, coronal ``[S, L]``, sagittal ``[S, P]``. Radiological
convention: the patient's right is on the screen's left, anterior up (axial) and superior up
(coronal/sagittal). The views own no state; they draw what this model says and call its setters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.events import Events
from inference.preprocess import canonical_axes, foreground, from_canonical, to_canonical
from inference.volume import Geometry, Volume

PLANES = ("axial", "coronal", "sagittal")
SEQUENCES = ("cet1", "t2", "t1")
SEQUENCE_LABELS = {"cet1": "CE-T1", "t2": "T2", "t1": "T1"}
#: canonical axis through which each plane slices, then its (row, column) axes
PLANE_AXES = {"axial": (0, 1, 2), "coronal": (1, 0, 2), "sagittal": (2, 0, 1)}
#: the view's y axis points down (row 0 at the top) only for axial: anterior up; S is up elsewhere
INVERT_Y = {"axial": True, "coronal": False, "sagittal": False}
#: orientation letters at the (left, right, top, bottom) edges of each plane
ORIENTATION = {"axial": ("R", "L", "A", "P"), "coronal": ("R", "L", "S", "I"), "sagittal": ("A", "P", "S", "I")}
OVERLAY_MODES = ("fill", "outline", "fill+outline")
TOOLS = ("navigate", "paint", "erase")
LAYOUTS = ("orthogonal", "side_by_side")
#: default window/level: these percentiles of the head (non-air) voxels, the usual MRI display range
DEFAULT_PERCENTILES = (1.0, 99.5)


@dataclass(frozen=True)
class Contrast:
    window: float
    level: float

    @property
    def levels(self) -> tuple[float, float]:
        return self.level - self.window / 2, self.level + self.window / 2


def default_contrast(array: np.ndarray) -> Contrast:
    """Window/level spanning the foreground's 1st-99.5th percentiles (robust to air and hot spots)."""
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return Contrast(1.0, 0.5)
    head = foreground(finite) if finite.size > 100 else np.ones(finite.shape, bool)
    values = finite[head] if np.count_nonzero(head) > 100 else finite
    lo, hi = (float(v) for v in np.percentile(values, DEFAULT_PERCENTILES))
    if hi - lo <= 1e-6:
        lo, hi = float(finite.min()), float(finite.max()) + 1.0
    return Contrast(hi - lo, (hi + lo) / 2)


class ViewerModel:
    """State of the image viewer. Events: ``volumes, cursor, sequence, layout, contrast, mask, overlay,
    tool, identifiers``."""

    def __init__(self) -> None:
        self.events = Events("volumes", "cursor", "sequence", "layout", "contrast", "mask", "overlay", "tool",
                             "identifiers")
        self.images: dict[str, np.ndarray] = {}
        self.geometry: Geometry | None = None
        self.perm: tuple[int, int, int] = (0, 1, 2)
        self.flips: tuple[bool, bool, bool] = (False, False, False)
        self.spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)  # canonical (S, P, L) mm
        self.cursor: tuple[int, int, int] = (0, 0, 0)
        self.sequence = "cet1"
        self.layout = "orthogonal"  # or "side_by_side": the three sequences, axial, next to each other
        self.contrast: dict[str, Contrast] = {}
        self.mask: np.ndarray | None = None  # canonical uint8, edited in place by MaskEditor
        self.overlay_visible, self.overlay_mode, self.overlay_opacity = True, "fill+outline", 0.45
        self.tool, self.brush_mm = "navigate", 5.0
        self.show_identifiers = False

    # -- volumes -------------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return bool(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.images["cet1"].shape if self.images else (1, 1, 1)

    def set_volumes(self, volumes: dict[str, Volume]) -> None:
        """Show a patient's sequences (all on the CE-T1 grid); resets cursor, contrast and mask."""
        reference = volumes["cet1"]
        self.geometry = reference.geometry
        self.perm, self.flips, _ = canonical_axes(reference.geometry)
        xyz = reference.geometry.spacing
        self.spacing = tuple(float(xyz[2 - axis]) for axis in self.perm)
        self.images = {role: np.ascontiguousarray(to_canonical(v.array, self.perm, self.flips), np.float32)
                       for role, v in volumes.items() if role in SEQUENCES}
        self.contrast = {role: default_contrast(a) for role, a in self.images.items()}
        self.mask = None
        self.cursor = tuple(n // 2 for n in self.shape)
        self.events.volumes.emit()
        self.events.mask.emit()
        self.events.cursor.emit()

    def clear(self) -> None:
        """Forget the patient's images and mask (Close patient); view settings (layout, tool) are kept."""
        self.images, self.contrast, self.mask, self.geometry = {}, {}, None, None
        self.cursor = (0, 0, 0)
        self.events.volumes.emit()
        self.events.mask.emit()
        self.events.cursor.emit()

    def to_canonical(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(to_canonical(array, self.perm, self.flips))

    def from_canonical(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(from_canonical(array, self.perm, self.flips))

    # -- planes --------------------------------------------------------------------------------------
    def slice_count(self, plane: str) -> int:
        return self.shape[PLANE_AXES[plane][0]]

    def plane_spacing(self, plane: str) -> tuple[float, float]:
        """(row, column) pixel size in mm of a plane."""
        _, row, col = PLANE_AXES[plane]
        return self.spacing[row], self.spacing[col]

    def plane_slice(self, plane: str, array: np.ndarray | None = None, index: int | None = None) -> np.ndarray:
        """2D ``[row, column]`` slice of ``array`` (default: the current sequence) through the cursor."""
        array = self.images[self.sequence] if array is None else array
        axis = PLANE_AXES[plane][0]
        index = self.cursor[axis] if index is None else index
        return np.take(array, index, axis=axis)

    def plane_cursor(self, plane: str) -> tuple[int, int]:
        """(row, column) of the cursor in a plane."""
        _, row, col = PLANE_AXES[plane]
        return self.cursor[row], self.cursor[col]

    def point_in_plane(self, plane: str, row: float, col: float) -> tuple[int, int, int] | None:
        """Canonical voxel under (row, column) of the current slice of ``plane``; None outside."""
        axis, r_axis, c_axis = PLANE_AXES[plane]
        r, c = int(np.floor(row)), int(np.floor(col))
        if not (0 <= r < self.shape[r_axis] and 0 <= c < self.shape[c_axis]):
            return None
        point = list(self.cursor)
        point[r_axis], point[c_axis] = r, c
        return tuple(point)

    # -- cursor --------------------------------------------------------------------------------------
    def set_cursor(self, point: tuple[int, int, int]) -> None:
        clamped = tuple(int(min(max(p, 0), n - 1)) for p, n in zip(point, self.shape, strict=True))
        if clamped != self.cursor:
            self.cursor = clamped
            self.events.cursor.emit()

    def step_slice(self, plane: str, step: int) -> None:
        point = list(self.cursor)
        point[PLANE_AXES[plane][0]] += step
        self.set_cursor(tuple(point))

    def index_xyz(self, point: tuple[int, int, int]) -> tuple[int, int, int]:
        """The (x, y, z) voxel index in the CE-T1 file of a canonical voxel (undoes flips, then axes)."""
        index = list(point)
        for k, flipped in enumerate(self.flips):
            if flipped:
                index[k] = self.shape[k] - 1 - index[k]
        numpy_index = [0, 0, 0]
        for k, axis in enumerate(self.perm):
            numpy_index[axis] = index[k]
        return tuple(int(v) for v in numpy_index[::-1])

    def physical_mm(self, point: tuple[int, int, int]) -> tuple[float, float, float]:
        """LPS position (mm) of a canonical voxel centre."""
        xyz = np.asarray(self.index_xyz(point), float)
        return tuple(float(v) for v in self.geometry.index_to_physical(xyz))

    def intensity(self, role: str, point: tuple[int, int, int]) -> float:
        return float(self.images[role][point])

    # -- display settings ----------------------------------------------------------------------------
    def set_sequence(self, role: str) -> None:
        if role not in SEQUENCES:
            raise ValueError(f"unknown sequence {role!r}; choose from {SEQUENCES}")
        if role != self.sequence:
            self.sequence = role
            self.events.sequence.emit()

    def set_layout(self, layout: str) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; choose from {LAYOUTS}")
        if layout != self.layout:
            self.layout = layout
            self.events.layout.emit()

    def set_contrast(self, role: str, window: float, level: float) -> None:
        self.contrast[role] = Contrast(max(float(window), 1e-3), float(level))
        self.events.contrast.emit(role)

    def drag_contrast(self, role: str, dx: float, dy: float) -> None:
        """Radiology-style W/L drag: right widens the window, up raises the level (pixels -> units)."""
        c = self.contrast[role]
        scale = c.window / 200.0  # a 200-pixel drag changes the window by its own width
        self.set_contrast(role, c.window + dx * scale, c.level - dy * scale)

    def reset_contrast(self, role: str | None = None) -> None:
        for r in ([role] if role else list(self.images)):
            self.contrast[r] = default_contrast(self.images[r])
            self.events.contrast.emit(r)

    def set_mask(self, mask: Volume | np.ndarray | None) -> None:
        """Overlay a mask (a Volume on the CE-T1 grid, or a canonical array); None removes it."""
        if mask is None:
            self.mask = None
        else:
            array = mask.array if isinstance(mask, Volume) else mask
            canonical = self.to_canonical(array) if isinstance(mask, Volume) else array
            self.mask = np.ascontiguousarray(canonical > 0, np.uint8)
        self.events.mask.emit()

    def mask_volume(self, like: Volume) -> Volume:
        """The (possibly edited) mask back on the CE-T1 grid, as a Volume like ``like``."""
        return like.with_array(self.from_canonical(self.mask).astype(np.uint8))

    def set_overlay(self, *, visible: bool | None = None, mode: str | None = None,
                    opacity: float | None = None) -> None:
        if mode is not None and mode not in OVERLAY_MODES:
            raise ValueError(f"unknown overlay mode {mode!r}; choose from {OVERLAY_MODES}")
        self.overlay_visible = self.overlay_visible if visible is None else bool(visible)
        if not self.overlay_visible and self.tool != "navigate":  # hidden while painting: stop painting
            self.tool = "navigate"
            self.events.tool.emit()
        self.overlay_mode = mode or self.overlay_mode
        self.overlay_opacity = self.overlay_opacity if opacity is None else float(min(max(opacity, 0.0), 1.0))
        self.events.overlay.emit()

    def toggle_overlay(self) -> None:
        self.set_overlay(visible=not self.overlay_visible)

    def set_tool(self, tool: str | None = None, brush_mm: float | None = None) -> None:
        if tool is not None and tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; choose from {TOOLS}")
        self.tool = tool or self.tool
        self.brush_mm = self.brush_mm if brush_mm is None else float(min(max(brush_mm, 0.5), 50.0))
        self.events.tool.emit()
        if self.tool != "navigate" and not self.overlay_visible:  # never edit a mask nobody can see
            self.set_overlay(visible=True)

    def set_show_identifiers(self, show: bool) -> None:
        self.show_identifiers = bool(show)
        self.events.identifiers.emit()
