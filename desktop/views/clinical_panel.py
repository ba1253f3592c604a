"""Clinical values for the nomogram: age, sex, clinical T stage, MRI node status, depth of invasion.

The DOI field is pre-filled with the mask-based estimate, shown as a suggestion (italic, orange, "auto")
until the user types a measured value; "Use estimate" switches back. Edits are applied after a short pause
(``changed`` fires once per burst of edits) so every keystroke does not start a rescore.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.session import Session

MISSING = "—"
SEXES = (MISSING, "M", "F")
STAGES = (MISSING, "T1", "T2", "T3")
NODES = (MISSING, "cN0", "cN+")
DEBOUNCE_MS = 500
#: 0-99.9 mm with one decimal, "." or "," as the separator whatever the locale (a locale's validator let en_US
#: take "12,25" as 12.25 and made de_DE refuse the "7.8" it was shown)
DOI_PATTERN = r"\d{0,2}([.,]\d?)?"
SUGGESTED_STYLE = "font-style: italic; color: #c06000;"


class ClinicalPanel(QGroupBox):
    """Signal ``changed()``: the values differ from the session's (read them with ``values()``)."""

    changed = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__("Clinical values", parent)
        self.session = session
        self.age = QSpinBox()
        # three digits: a limit of 119 made the box drop the last digit typed ("150" became 15, a plausible age
        # that fed the risk); an implausible age now reaches the plausibility check and is named there
        self.age.setRange(0, 999)
        self.age.setSpecialValueText(MISSING)  # 0 = not given
        self.age.setSuffix(" years")
        self.sex, self.ct_stage, self.cn_status = QComboBox(), QComboBox(), QComboBox()
        self.sex.addItems(SEXES)
        self.ct_stage.addItems(STAGES)
        self.cn_status.addItems(NODES)
        self.doi = QLineEdit()
        self.doi.setValidator(QRegularExpressionValidator(QRegularExpression(DOI_PATTERN), self.doi))
        self.doi.setPlaceholderText("measured DOI in mm")
        self.doi_hint = QLabel()
        self.doi_hint.setWordWrap(True)
        self.doi_hint.setObjectName("doiHint")
        self.use_estimate = QPushButton("Use estimate")
        self.use_estimate.setToolTip("Use the depth of invasion estimated from the mask (labelled ESTIMATED)")
        self._auto = False
        doi_box = QWidget()
        doi_row = QHBoxLayout(doi_box)
        doi_row.setContentsMargins(0, 0, 0, 0)
        doi_row.addWidget(self.doi, 1)
        doi_row.addWidget(QLabel("mm"))
        doi_row.addWidget(self.use_estimate)
        self._grid = QGridLayout(self)
        self._grid.setVerticalSpacing(4)
        self._cells = [(QLabel(text), widget) for text, widget in (
            ("Age", self.age), ("Sex", self.sex), ("Clinical T stage", self.ct_stage),
            ("MRI node status", self.cn_status), ("Depth of invasion", doi_box))]
        self.compact: bool | None = None
        self.set_compact(False)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit_if_changed)
        self.age.valueChanged.connect(self._edited)
        self._keys_stay = _KeysStayInCombo(self)
        for combo in (self.sex, self.ct_stage, self.cn_status):
            combo.currentIndexChanged.connect(self._edited)
            combo.installEventFilter(self._keys_stay)
        self.doi.textEdited.connect(self._doi_typed)
        self.use_estimate.clicked.connect(self._use_estimate)
        for event in (session.events.clinical, session.events.mask_edit, session.events.prediction):
            event.connect(self.sync)
        session.events.patient.connect(self._patient_changed)
        self.sync()

    def set_compact(self, compact: bool) -> None:
        """Two fields a row (wide, ~390 px), or one field a row with the depth of invasion under its label (compact,
        ~200 px: at 150 % scaling the side column has ~320)."""
        if compact == self.compact:
            return
        self.compact, grid = compact, self._grid
        for label, widget in self._cells:
            grid.removeWidget(label)
            grid.removeWidget(widget)
        grid.removeWidget(self.doi_hint)
        (doi_label, doi_box), fields = self._cells[-1], self._cells[:-1]
        for i, (label, widget) in enumerate(fields):
            row, col = (i, 0) if compact else (i // 2, 2 * (i % 2))
            grid.addWidget(label, row, col)
            grid.addWidget(widget, row, col + 1)
        if compact:
            grid.addWidget(doi_label, 4, 0, 1, 2)
            grid.addWidget(doi_box, 5, 0, 1, 2)
            grid.addWidget(self.doi_hint, 6, 0, 1, 2)
        else:
            grid.addWidget(doi_label, 2, 0)
            grid.addWidget(doi_box, 2, 1, 1, 3)
            grid.addWidget(self.doi_hint, 3, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 0 if compact else 1)

    # -- reading -------------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.age.value() > 0:
            values["age"] = float(self.age.value())
        if self.sex.currentIndex() > 0:
            values["sex"] = self.sex.currentText()
        if self.ct_stage.currentIndex() > 0:
            values["ct_stage"] = self.ct_stage.currentText()
        if self.cn_status.currentIndex() > 0:
            values["cn_status"] = self.cn_status.currentIndex() - 1
        if self._auto:
            values["doi_mm"] = "auto"
        elif self._typed_doi() is not None:
            values["doi_mm"] = self._typed_doi()
        return values

    def _typed_doi(self) -> float | None:
        with contextlib.suppress(ValueError):  # empty, or "." alone while typing ("1." reads as 1)
            return float(self.doi.text().strip().replace(",", "."))
        return None

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill the fields (e.g. from a test or a script) and apply them like user edits."""
        self.age.setValue(int(values.get("age", self.age.value()) or 0))
        for combo, key, options in ((self.sex, "sex", SEXES), (self.ct_stage, "ct_stage", STAGES)):
            if key in values:
                combo.setCurrentIndex(options.index(values[key]) if values[key] in options else 0)
        if "cn_status" in values:
            self.cn_status.setCurrentIndex(0 if values["cn_status"] is None else int(values["cn_status"]) + 1)
        if "doi_mm" in values:
            self._auto = values["doi_mm"] == "auto"
            if not self._auto:
                self.doi.setText("" if values["doi_mm"] is None else f"{float(values['doi_mm']):g}")
            self._style_doi()
        self._edited()

    # -- session -> fields ---------------------------------------------------------------------------
    def sync(self) -> None:
        """Show the session's values (without emitting ``changed``)."""
        if self._timer.isActive():  # the user is typing: do not overwrite
            return
        c = self.session.clinical
        widgets = (self.age, self.sex, self.ct_stage, self.cn_status, self.doi)
        for w in widgets:
            w.blockSignals(True)
        self.age.setValue(int(c.get("age", 0) or 0))
        self.sex.setCurrentIndex(SEXES.index(c["sex"]) if c.get("sex") in SEXES else 0)
        self.ct_stage.setCurrentIndex(STAGES.index(c["ct_stage"]) if c.get("ct_stage") in STAGES else 0)
        self.cn_status.setCurrentIndex(0 if c.get("cn_status") is None else int(c["cn_status"]) + 1)
        doi = c.get("doi_mm")
        self._auto = doi == "auto"
        if not self._auto and self._typed_doi() != (None if doi is None else float(doi)):
            self.doi.setText("" if doi is None else f"{float(doi):g}")  # not "8." -> "8" mid-typing (then 80)
        for w in widgets:
            w.blockSignals(False)
        self._style_doi()

    def _patient_changed(self) -> None:
        """Another patient (or none): values typed for the previous one in the last moment are dropped, never
        applied to this one (they were, when the pause ended just after a load)."""
        self._timer.stop()
        self.sync()

    def _estimate(self) -> float | None:
        m = self.session.measures
        return None if m is None or m.volume_ml == 0 else round(m.doi_estimate_mm, 1)

    def _style_doi(self) -> None:
        estimate = self._estimate()
        self.use_estimate.setEnabled(estimate is not None and not self._auto)
        if self._auto:
            self.doi.setText("" if estimate is None else f"{estimate:g}")
            self.doi.setStyleSheet(SUGGESTED_STYLE)
            self.doi_hint.setText("<span style='color:#c06000'>Suggested: estimated from the mask (labelled "
                                  "ESTIMATED in the result). Type the measured DOI if you have it.</span>"
                                  if estimate is not None else "The estimate appears after segmentation.")
        else:
            self.doi.setStyleSheet("")
            self.doi_hint.setText("" if estimate is None else
                                  f"Mask-based estimate: {estimate:g} mm (suggestion; measured value used).")

    # -- edits ---------------------------------------------------------------------------------------
    def _doi_typed(self, text: str) -> None:
        self._auto = False  # a typed value is a measurement
        self._style_doi()
        self._edited()

    def _use_estimate(self) -> None:
        self._auto = True
        self._style_doi()
        self._edited()

    def _edited(self, *_) -> None:
        self._timer.start()

    def flush(self) -> None:
        """Apply values typed in the last ``DEBOUNCE_MS`` now (before an export, a close or a new segmentation: the
        session would otherwise still hold the values from before the last keystrokes)."""
        if self._timer.isActive():
            self._timer.stop()
            self._emit_if_changed()

    def _emit_if_changed(self) -> None:
        if self.values() != self.session.clinical:
            self.changed.emit()


class _KeysStayInCombo(QObject):
    """A letter or digit typed into a focused drop-down selects its item: without this, the window's one-key
    shortcuts took them ("F" in Sex ran Fit views, "M" hid the mask)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.ShortcutOverride:
            plain = not (event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier))
            if plain and event.text().isprintable() and event.text().strip():
                event.accept()
        return False
