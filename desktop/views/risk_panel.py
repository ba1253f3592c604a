"""Risk panel: probability, risk group and the fusion nomogram drawn with pyqtgraph, with this patient's
points on every axis, the total points and the probability scale, so the risk can be read and checked."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from desktop.nomogram_layout import NomogramRow, nomogram_rows, thin_ticks
from desktop.session import Session
from inference.nomogram import Nomogram, encode_clinical, format_risk, risk_group_boundaries
from inference.pipeline import DISCLAIMER, borderline_warning, restated_warning

GROUP_COLORS = {"low": "#2e8b57", "intermediate": "#d08000", "high": "#c02020"}
MARK_COLOR = (208, 16, 16)
BEYOND_COLOR = (224, 112, 0)
STALE_COLOR = (170, 170, 170)  # the marks of an out-of-date risk
X_RANGE = (-56.0, 114.0)  # row labels left of 0, the 0-100 axes, the patient's points right of 100


class NomogramPlot(pg.PlotWidget):
    """Static drawing of the nomogram rows; the patient's positions are red dots."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("nomogramPlot")
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMinimumHeight(250)
        self.rows: list[NomogramRow] = []
        self.marks: list[tuple[float, float]] = []
        self.beyond: list[tuple[float, float]] = []  # marks held at the end of the fitted range
        self._font = QFont()
        self._font.setPointSizeF(7.5)
        self._drawn: tuple | None = None
        self._stale = False
        self._axes_key: tuple | None = None  # (nomogram, character width) of the axes on screen
        self._mark_items: list = []

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(ev)
        if getattr(self, "_drawn", None) is not None:  # labels are thinned for the width: redo them
            self.draw(*self._drawn)

    def _layout(self) -> tuple[tuple[float, float], float]:
        """(x range, width of one tick-label character in x units) for the current widget width.

        X_RANGE, widened where a narrow plot would cut the row labels (left of 0) or the points ("38 pts", right of
        100): in a 323 px side column at 150 % scaling both were cut, and tick labels overlapped.
        """
        width = max(self.width(), 150)
        bold = QFont(self._font)
        bold.setBold(True)
        label_px = max((QFontMetricsF(bold).horizontalAdvance(row.label) for row in self.rows), default=0) + 8
        points_px = QFontMetricsF(self._font).horizontalAdvance("100 pts") + 6
        px_per_unit = max(width - label_px - points_px, 80) / 105  # the axes' 0-100 and the gaps beside them
        x0 = min(X_RANGE[0], -3 - label_px / px_per_unit)
        x1 = max(X_RANGE[1], 102 + points_px / px_per_unit)
        digit = QFontMetricsF(self._font).horizontalAdvance("0")  # tick labels are mostly digits, wider than average
        return (x0, x1), max(digit, QFontMetricsF(self._font).averageCharWidth()) / (width / (x1 - x0))

    def draw(self, nomogram: Nomogram | None, points: dict[str, float] | None, total: float | None,
             stale: bool = False) -> None:
        """Draw ``nomogram`` with the patient's ``points`` and ``total`` (None: axes only); ``stale``: points of a
        risk that no longer belongs to the mask or values on screen, drawn in grey.

        The axes (~60 text items: most of the ~0.15 s a full drawing takes on the GUI thread) are drawn again only
        when the nomogram or the width changes; new points replace the marks alone.
        """
        self._drawn = (nomogram, points, total, stale)
        self._stale = stale
        if nomogram is None:
            self.clear()
            self.rows, self.marks, self.beyond, self._axes_key, self._mark_items = [], [], [], None, []
            return
        self.rows = nomogram_rows(nomogram, points, total)
        x_range, char_width = self._layout()
        if self._axes_key != (nomogram, char_width):  # the same object (a Nomogram compares by identity)
            self.clear()
            self._mark_items = []
            self._draw_axes(char_width)
            self._axes_key = (nomogram, char_width)
        for item in self._mark_items:
            self.removeItem(item)
        self._mark_items = []
        self._draw_marks()
        n = len(self.rows)
        self.setXRange(*x_range, padding=0)
        self.setYRange(-0.6, n - 0.2, padding=0)

    def _draw_axes(self, char_width: float) -> None:
        n = len(self.rows)
        black = pg.mkPen("k", width=1)
        for r, row in enumerate(self.rows):
            y = n - 1 - r
            xs = [x for _, x in row.ticks]
            if xs:
                self.plot([min(xs), max(xs)], [y, y], pen=black)
            shown = thin_ticks(row.ticks, char_width=char_width)
            tick_x = [v for _, x in shown for v in (x, x)]
            tick_y = [v for _ in shown for v in (y, y + 0.15)]
            self.plot(tick_x, tick_y, pen=black, connect="pairs")
            for text, x in shown:  # on white, above the dashed total-to-risk connector that crosses the risk labels
                if text:  # not the unlabelled ends of a fitted range
                    self._text(text, x, y + 0.15, (0.5, 1.0), fill="w")
            self._text(row.label, -3, y, (1.0, 0.5), bold=True)

    def _draw_marks(self) -> None:
        """The patient's dots, their points beside the axes and the total-to-risk connector."""
        self.marks, self.beyond = [], []
        n = len(self.rows)
        for r, row in enumerate(self.rows):
            y = n - 1 - r
            if row.mark is not None:
                self.marks.append((row.mark, y))
                color = STALE_COLOR if self._stale else BEYOND_COLOR if row.beyond else MARK_COLOR
                if row.beyond:  # held at the end of the fitted range (the value lies outside it): orange
                    self.beyond.append((row.mark, y))
                if row.value_text:
                    self._mark_items.append(self._text(row.value_text, 102, y, (0.0, 0.5), color=color))
        if self.marks:
            brushes = [STALE_COLOR if self._stale else BEYOND_COLOR if m in self.beyond else MARK_COLOR
                       for m in self.marks]
            self._mark_items.append(self.plot([m[0] for m in self.marks], [m[1] for m in self.marks], pen=None,
                                              symbol="o", symbolSize=9, symbolBrush=brushes, symbolPen="w"))
            total_x = self.marks[-1][0]
            self._mark_items.append(self.plot([total_x, total_x], [0, 1],
                                              pen=pg.mkPen(STALE_COLOR if self._stale else MARK_COLOR, width=1,
                                                           style=Qt.PenStyle.DashLine)))

    def _text(self, text: str, x: float, y: float, anchor, *, bold: bool = False, color=(0, 0, 0),
              fill=None) -> pg.TextItem:
        item = pg.TextItem(text, color=color, anchor=anchor, fill=fill)
        item.setZValue(5)  # above the axes and the connector
        font = QFont(self._font)
        font.setBold(bold)
        item.setFont(font)
        item.setPos(x, y)
        self.addItem(item)
        return item


class RiskPanel(QGroupBox):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__("Nodal metastasis risk", parent)
        self.session = session
        self.nomogram: Nomogram | None = None
        self.headline = QLabel()
        self.headline.setObjectName("riskHeadline")
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setObjectName("riskDetail")
        self.detail.setWordWrap(True)
        self.plot = NomogramPlot()
        self.disclaimer = QLabel(DISCLAIMER)
        self.disclaimer.setObjectName("disclaimer")
        self.disclaimer.setWordWrap(True)
        self.disclaimer.setStyleSheet("color: #a00000; background: #fff0f0; border: 1px solid #a00000; "
                                      "padding: 3px;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        # right under the risk, above the notes: in view whenever the risk is, however many warnings follow
        layout.addWidget(self.disclaimer)
        layout.addWidget(self.detail)
        layout.addWidget(self.plot, 1)
        for event in (session.events.prediction, session.events.mask_edit, session.events.clinical,
                      session.events.patient):
            event.connect(self.sync)
        self.sync()

    def set_nomogram(self, nomogram: Nomogram | None) -> None:
        """Show ``nomogram``; one with the same contents as the one shown changes nothing (the first run's pipeline
        loads the file drawn at start again: redrawing it cost ~0.17 s of the GUI thread after a segmentation)."""
        if nomogram is not None and self.nomogram is not None and nomogram.data == self.nomogram.data:
            return
        self.nomogram = nomogram
        self.sync()

    def sync(self) -> None:
        s, p = self.session, self.session.prediction
        score = None if p is None else p.score
        if p is None or s.risk_withdrawn:  # no risk, or one computed from values that are no longer entered
            score = None
            problem = s.clinical_problem or ("Press Segment to compute the risk." if s.prepared is not None
                                             else "No patient open.")
            self.headline.setText("<span style='font-size:15pt; color:#777'>Risk: —</span>")
            self.detail.setText(problem[:1].upper() + problem[1:])
        elif score is None:  # the model found nothing, or the user erased the whole mask
            what = "The edited mask is empty" if p.edited else "No tumor found by the model"
            self.headline.setText(f"<span style='font-size:15pt'>{what}</span>" + (
                "<br><b style='color:#d08000'>OUT OF DATE: the mask or clinical values changed. Press Recompute "
                "risk.</b>" if s.risk_stale else ""))
            self.detail.setText("No radiomics and no risk are reported. Paint the tumor and press Recompute if "
                                "you see one.")
        else:
            color = GROUP_COLORS.get(score.risk_group, "#333")
            stale = s.risk_stale  # the number no longer belongs to what is on screen: greyed and struck through
            shown = format_risk(score.probability, risk_group_boundaries(p.provenance.get("risk_groups", [])), 0)
            number = f"<s>{shown}</s>" if stale else shown  # never "50%" beside INTERMEDIATE for 0.4996
            self.headline.setText(
                f"<span style='{'color:#999' if stale else ''}'><span style='font-size:17pt'><b>{number}</b></span>"
                f"&nbsp; risk of cervical lymph-node metastasis &nbsp;<span style='font-size:13pt; "
                f"color:{'#999' if stale else color}'><b>{score.risk_group.upper()}</b></span></span>"
                + ("<br><b style='color:#d08000'>OUT OF DATE: the mask or clinical values changed. Press Recompute "
                   "risk.</b>" if stale else ""))
            notes = []  # first what may make the risk wrong, then the figures behind it
            if p.borderline:
                low, high = p.borderline["groups"]
                notes.append(f"<b style='color:#d08000'>BORDERLINE: within {p.borderline['margin'] * 100:g} "
                             f"percentage points of the {p.borderline['boundary']:.0%} boundary; {low} or {high} "
                             f"both possible</b>")
            said = {borderline_warning(score.probability, p.borderline)} if p.borderline else set()
            if self.nomogram is not None:  # a risk read off the nomogram beyond its patients: say so beside it
                values = {**encode_clinical(p.clinical), "radscore": score.radscore}
                outside = self.nomogram.outside_fitted_range(values)
                said |= set(outside)
                notes += [f"<b style='color:#d08000'>{w}</b>" for w in outside]
            # why the mask, and so the risk, may be wrong (a tumor cut off by the volume's edge, a very small mask,
            # a sequence missing part of the head or the tumor): beside the risk, as in the report
            notes += [f"<b style='color:#d08000'>{html.escape(w)}</b>" for w in p.warnings
                      if w not in said and not restated_warning(w)]  # BORDERLINE above, an estimated DOI below
            figures = [f"Rad-score {score.radscore:+.3f}, total points {score.total_points:.0f}"]
            if p.doi_estimated:
                figures.append(f"DOI {p.clinical['doi_mm']} mm ESTIMATED from the mask")
            if p.edited:
                figures.append("mask edited by the user")
            figures_text = "; ".join(figures)  # grey when they belong to an out-of-date risk, as its number
            notes.append(f"<span style='color:#999'>{figures_text}</span>" if stale else figures_text)
            self.detail.setText("; ".join(notes))
        drawing = (self.nomogram, *((None, None) if score is None else (score.points, score.total_points)),
                   score is not None and s.risk_stale)
        if getattr(self.plot, "_drawn", None) != drawing:  # ~0.1 s: a load's three events redrew it three times
            self.plot.draw(*drawing)
        self._fit_labels()

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(ev)
        self._fit_labels()

    def _fit_labels(self) -> None:
        """Reserve the height the wrapped texts need at the current width: the side column reports no
        height-for-width (panels.PanelColumn), so without this a note that wraps to more lines pushed the
        nomogram's bottom rows (the risk scale) out of the panel instead of making the column scroll."""
        for label in (self.headline, self.detail, self.disclaimer):
            width = label.width() if label.width() > 50 else max(300, self.width() - 30)
            needed = label.heightForWidth(width)
            if needed > 0 and needed != label.minimumHeight():
                label.setMinimumHeight(needed)

    @property
    def probability_text(self) -> str:
        return self.headline.text()
