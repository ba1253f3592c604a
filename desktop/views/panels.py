"""Side panels: run progress (one bar per pipeline stage) and the mask panel (overlay, brush, measures)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from desktop.model import OVERLAY_MODES, TOOLS, ViewerModel
from desktop.session import Session
from inference.pipeline import STAGES

STAGE_LABELS = {"load": "Load", "register": "Register", "preprocess": "Preprocess", "segment": "Segment",
                "radiomics": "Radiomics", "nomogram": "Nomogram"}
#: stages without a bar of their own: only the status line says them
STATUS_ONLY = {"model": "Loading the model"}
#: narrower than this (logical px), the side panels take their compact arrangement (more rows, ~300 px wide)
COMPACT_BELOW = 440


def _box(*widgets: QWidget) -> QWidget:
    """``widgets`` in a row of their own, to move as one between rows (the compact arrangement)."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    return box


class ProgressPanel(QGroupBox):
    """Segment / Cancel buttons and a progress bar per stage of ``inference.pipeline.STAGES``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        self.segment_button = QPushButton("Segment")
        self.segment_button.setObjectName("segmentButton")
        self.segment_button.setToolTip("Run the segmentation model, then radiomics and the nomogram (Ctrl+R)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        self.status = QLabel("Open a patient to start.")
        self.status.setWordWrap(True)
        self._cancelling = False
        self.bars: dict[str, QProgressBar] = {}
        grid = QGridLayout(self)
        grid.setVerticalSpacing(2)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)  # they touched
        buttons.addWidget(self.segment_button, 2)
        buttons.addWidget(self.cancel_button, 1)
        grid.addLayout(buttons, 0, 0, 1, 4)
        for i, stage in enumerate(STAGES):
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(0)
            bar.setTextVisible(False)
            bar.setMaximumHeight(10)
            bar.setMinimumWidth(24)  # the style asked ~95 px: the column could not be narrower than 365 px
            self.bars[stage] = bar
            row, col = 1 + i // 2, (i % 2) * 2
            grid.addWidget(QLabel(STAGE_LABELS[stage]), row, col)
            grid.addWidget(bar, row, col + 1)
        grid.addWidget(self.status, 1 + (len(STAGES) + 1) // 2, 0, 1, 4)

    def begin(self, stages: tuple[str, ...], text: str) -> None:
        self._cancelling = False
        # loading starts a new patient's run: the previous patient's bars are not this one's
        for stage in STAGES if "load" in stages else stages:
            self.bars[stage].setValue(0)
        self.status.setText(text)

    def cancelling(self) -> None:
        """Cancel was pressed: said until the job ends (a stage's progress no longer replaces it at once)."""
        self._cancelling = True
        self.status.setText("Cancelling... (the current step finishes first)")

    def set_progress(self, stage: str, fraction: float) -> None:
        if stage not in self.bars:
            if stage in STATUS_ONLY and not self._cancelling:
                self.status.setText(f"{STATUS_ONLY[stage]}...")
            return
        # a stage that starts means the ones before it in this run are done
        for earlier in STAGES[:STAGES.index(stage)]:
            if 0 < self.bars[earlier].value() < 100:
                self.bars[earlier].setValue(100)
        self.bars[stage].setValue(max(1, round(100 * fraction)))
        if not self._cancelling:
            self.status.setText(f"{STAGE_LABELS[stage]}...")

    def finish(self, stages: tuple[str, ...], text: str, done: bool = True) -> None:
        self._cancelling = False
        for stage in stages:
            if done:
                self.bars[stage].setValue(100)
            elif self.bars[stage].value() < 100:
                self.bars[stage].setValue(0)
        self.status.setText(text)

    def reset(self, text: str = "Open a patient to start.") -> None:
        """Empty bars and a fresh status line (a closed patient's run, or its failed export, is not current)."""
        self._cancelling = False
        for bar in self.bars.values():
            bar.setValue(0)
        self.status.setText(text)

    def value(self, stage: str) -> int:
        return self.bars[stage].value()


class MaskPanel(QGroupBox):
    """Overlay style, brush tool, undo/redo/recompute, and the tumor measures of the displayed mask.

    Signal ``recompute_requested``.
    """

    recompute_requested = Signal()

    def __init__(self, model: ViewerModel, session: Session, parent: QWidget | None = None) -> None:
        super().__init__("Tumor mask", parent)
        self.model, self.session = model, session
        self.visible = QPushButton("Overlay (M)")
        self.visible.setCheckable(True)
        self.mode = QComboBox()
        self.mode.addItems(OVERLAY_MODES)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.tools = QButtonGroup(self)
        tool_row = QHBoxLayout()
        for i, tool in enumerate(TOOLS):
            button = QRadioButton(tool.capitalize())
            button.setObjectName(f"tool_{tool}")
            self.tools.addButton(button, i)
            tool_row.addWidget(button)
        self.brush = QDoubleSpinBox()
        self.brush.setRange(0.5, 50.0)
        self.brush.setSingleStep(0.5)
        self.brush.setSuffix(" mm")
        self.brush.setToolTip("Brush diameter in millimetres (in the plane being edited)")
        self._brush_box = _box(QLabel("Brush"), self.brush)
        tool_row.addWidget(self._brush_box)
        self.undo_button, self.redo_button = QPushButton("Undo"), QPushButton("Redo")
        for button in (self.undo_button, self.redo_button):
            button.setMinimumWidth(50)  # the style's 80 px made the row 290 px
        self.recompute_button = QPushButton("Recompute risk")
        self.recompute_button.setObjectName("recomputeButton")
        self.recompute_button.setToolTip("Re-extract radiomics from the edited mask and update the risk")
        edit_row = QHBoxLayout()
        for b in (self.undo_button, self.redo_button, self.recompute_button):
            edit_row.addWidget(b)
        self.measures = QLabel()
        self.measures.setObjectName("measures")
        self.measures.setTextFormat(Qt.TextFormat.RichText)
        self.measures.setWordWrap(True)
        self.measures.setMinimumHeight(3 * self.measures.fontMetrics().lineSpacing() + 6)
        overlay_row = QHBoxLayout()
        overlay_row.addWidget(self.visible)
        overlay_row.addWidget(self.mode)
        self._opacity_box = _box(QLabel("Opacity"), self.opacity)
        overlay_row.addWidget(self._opacity_box)
        self._rows = {"overlay": overlay_row, "tool": tool_row, "extra": QHBoxLayout()}
        self.compact = False
        rows = QVBoxLayout(self)
        for row in (overlay_row, tool_row, self._rows["extra"], edit_row):
            rows.addLayout(row)
        rows.addWidget(self.measures)
        self.visible.toggled.connect(lambda on: model.set_overlay(visible=on))
        self.mode.currentTextChanged.connect(lambda mode: model.set_overlay(mode=mode))
        self.opacity.valueChanged.connect(lambda v: model.set_overlay(opacity=v / 100))
        self.tools.idToggled.connect(lambda i, on: on and model.set_tool(TOOLS[i]))
        self.brush.valueChanged.connect(lambda v: model.set_tool(brush_mm=v))
        self.undo_button.clicked.connect(lambda: session.editor and session.editor.undo())
        self.redo_button.clicked.connect(lambda: session.editor and session.editor.redo())
        self.recompute_button.clicked.connect(self.recompute_requested)
        model.events.overlay.connect(self._sync)
        model.events.tool.connect(self._sync)
        for event in (session.events.segmentation, session.events.mask_edit, session.events.patient,
                      session.events.prediction, session.events.editing):
            event.connect(self._sync)
        self._sync()

    def set_compact(self, compact: bool) -> None:
        """Opacity and brush on a row of their own (compact), or at the ends of the overlay and tool rows."""
        if compact == self.compact:
            return
        self.compact = compact
        for box, wide in ((self._opacity_box, "overlay"), (self._brush_box, "tool")):
            self._rows["extra" if not compact else wide].removeWidget(box)
            self._rows[wide if not compact else "extra"].addWidget(box)

    def _sync(self) -> None:
        m, s = self.model, self.session
        for widget, value in ((self.visible, m.overlay_visible), (self.mode, m.overlay_mode),
                              (self.opacity, round(m.overlay_opacity * 100)), (self.brush, m.brush_mm)):
            widget.blockSignals(True)
            if isinstance(widget, QComboBox):
                widget.setCurrentText(value)
            elif isinstance(widget, QPushButton):
                widget.setChecked(value)
            else:
                widget.setValue(value)
            widget.blockSignals(False)
        self.tools.button(TOOLS.index(m.tool)).setChecked(True)
        has_mask = s.editor is not None
        for w in (*self.tools.buttons(), self.brush):
            w.setEnabled(s.can_edit)  # not while a segmentation or a load is about to replace the mask
        self.undo_button.setEnabled(has_mask and s.editor.can_undo)
        self.redo_button.setEnabled(has_mask and s.editor.can_redo)
        self.measures.setText(self._measures_text())

    def _measures_text(self) -> str:
        s = self.session
        if s.measures is None:
            return "<i>No mask yet: press Segment.</i>"
        m = s.measures
        if m.volume_ml == 0:
            return "<b>No tumor in the mask.</b> Paint it, or check the images."
        edited = " <span style='color:#d08000'>(edited, not yet recomputed)</span>" if s.mask_changed else ""
        return (f"Volume <b>{m.volume_ml:.2f} ml</b> &nbsp; largest diameter <b>{m.largest_diameter_mm:.1f} mm"
                f"</b><br>estimated depth of invasion <b>{m.doi_estimate_mm:.1f} mm</b> "
                f"(thickness {m.thickness_mm:.1f} mm, {m.slices} slice{'' if m.slices == 1 else 's'}){edited}")


class SideColumn(QScrollArea):
    """The side panels in a scroll area; narrower than ``COMPACT_BELOW`` the panels that can take a compact
    arrangement (``set_compact``) do, so their text wraps in the width there is (at 150 % scaling on 1366x768 the
    column showed 323 of its 520 px: the risk group read "L" and the disclaimer was cut mid-sentence)."""

    def __init__(self, panels: list[QWidget], stretch_last: bool = True) -> None:
        super().__init__()
        self.setObjectName("sidePanels")
        self.panels = panels
        side = QWidget()
        column = PanelColumn(side)
        column.setContentsMargins(4, 4, 4, 4)
        for i, panel in enumerate(panels):
            column.addWidget(panel, 1 if stretch_last and i == len(panels) - 1 else 0)
        self.setWidget(side)
        self.setWidgetResizable(True)
        # a last resort (a very large font): the panels should fit the column's width
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        compact = event.size().width() < COMPACT_BELOW
        for panel in self.panels:
            if hasattr(panel, "set_compact"):
                panel.set_compact(compact)
        super().resizeEvent(event)


class PanelColumn(QVBoxLayout):
    """The side panels' column. It reports no height-for-width (word-wrapped labels make Qt's layouts report
    one), so the scroll area around it fits the panels to its height, down to their minimum, as a plain
    layout would: with it, the area sized them to their preferred height and scrolled even on 1600x1000."""

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return False
