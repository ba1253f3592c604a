"""The image area: three orthogonal planes of one sequence, or axial CE-T1 / T2 / T1 side by side.

All views share the model, so the crosshair, slice, contrast and mask are linked by construction.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from desktop.model import PLANES, SEQUENCES, ViewerModel
from desktop.session import Session
from desktop.views.slice_view import SliceView

EMPTY_TEXT = ("<h3>No patient open</h3><p>Drop a patient folder here, or use <b>File &gt; Open patient</b> "
              "(Ctrl+O) or <b>File &gt; Recent patients</b>.</p><p>A patient folder holds CE-T1, T2 and T1 as "
              "NIfTI/NRRD/MHA files (cet1.nii.gz, t2.nii.gz, t1.nii.gz) or DICOM series.</p>")


class ViewerWidget(QWidget):
    """Signal ``hovered(str)`` relays the views' cursor readout."""

    hovered = Signal(str)

    def __init__(self, model: ViewerModel, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.ortho = {plane: SliceView(model, plane, None, session) for plane in PLANES}
        self.side = {role: SliceView(model, "axial", role, session) for role in SEQUENCES}
        for view in [*self.ortho.values(), *self.side.values()]:
            view.hovered.connect(self.hovered)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.ortho["coronal"])
        right.addWidget(self.ortho["sagittal"])
        ortho = QSplitter(Qt.Orientation.Horizontal)
        ortho.addWidget(self.ortho["axial"])
        ortho.addWidget(right)
        ortho.setStretchFactor(0, 3)
        ortho.setStretchFactor(1, 2)
        side = QSplitter(Qt.Orientation.Horizontal)
        for view in self.side.values():
            side.addWidget(view)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setObjectName("emptyHint")
        self.empty.setStyleSheet("color: #bbb; background: #181818; padding: 40px;")
        self.stack = QStackedWidget()
        for w in (self.empty, ortho, side):
            self.stack.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        model.events.volumes.connect(self._on_layout)
        model.events.layout.connect(self._on_layout)
        self._on_layout()

    @property
    def views(self) -> list[SliceView]:
        return [*self.ortho.values(), *self.side.values()]

    def visible_views(self) -> list[SliceView]:
        return list(self.ortho.values()) if self.model.layout == "orthogonal" else list(self.side.values())

    def focus_first(self) -> None:
        """Give the keys to the first visible view (after a load or a segmentation the arrows scrolled the panel)."""
        views = self.visible_views()
        if views:
            views[0].graphics.setFocus()

    def fit_all(self) -> None:
        for view in self.visible_views():
            view.fit()

    def _on_layout(self) -> None:
        if not self.model.loaded:
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(2 if self.model.layout == "side_by_side" else 1)
        self.fit_all()
