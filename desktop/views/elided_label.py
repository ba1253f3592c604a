"""A one-line label that shortens its text with "…" when it is narrower than the text, instead of widening the window.

The slice titles ("Sagittal · CE-T1 · slice 129/256", three side by side) and the backend line in the status bar
set the window's minimum width: at 150-200 % scaling on a 1366x768 screen it was wider than the screen. A label
whose size policy ignores its text (``QSizePolicy.Ignored``) fits, but then offers no width hint either and the
splitters shrank the axial view to ~125 px. This one keeps the full text's width as its size hint (the layouts
share the space as before) and asks for almost nothing as its minimum.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QWidget

ELLIPSIS = "…"


class ElidedLabel(QLabel):
    """``text()`` is the full text; the label shows as much of it as fits (the whole of it in the tooltip when cut).

    Args:
        text: Initial text (plain text, one line).
        parent: Parent widget.
        elide: Where the text is cut: ``Qt.ElideRight`` (the default) keeps its beginning.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(parent)
        self._full = ""
        self._elide = elide
        self._own_tip = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def text(self) -> str:  # noqa: D102 - QLabel's, with the full text
        return self._full

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        if str(text) != self._full:
            self._full = str(text)
            self.updateGeometry()  # the size hint follows the full text
        self._show()

    def setToolTip(self, tip: str) -> None:  # noqa: N802 (Qt naming)
        self._own_tip = tip
        self._show()

    def _padding(self) -> int:
        """Horizontal space the label needs beside its text (margins, style sheet padding)."""
        shown = super().text()
        return max(0, super().sizeHint().width() - self.fontMetrics().horizontalAdvance(shown))

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + self._padding(), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(ELLIPSIS * 3) + self._padding(), hint.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._show()

    def _show(self) -> None:
        padding = self._padding()
        room = max(0, self.width() - padding)
        shown = self._full
        if self.fontMetrics().horizontalAdvance(self._full) > room:
            shown = self.fontMetrics().elidedText(self._full, self._elide, room)
        if shown != super().text():
            super().setText(shown)
        cut = shown != self._full
        tip = "\n".join(t for t in (self._full if cut else "", self._own_tip) if t)
        if tip != super().toolTip():
            super().setToolTip(tip)
