"""A one-line label that shortens its text with "…" when it is narrower than the text, instead of widening the window.

The slice titles ("Sagittal · CE-T1 · slice 129/256", three side by side) and the backend line in the status bar
set the window's minimum width: at 150-200 % scaling on a 1366x768 screen it was wider than the screen. A label
whose size policy ignores its text (``QSizePolicy.Ignored``) fits, but then offers no width hint either and the
splitters shrank the axial view to ~125 px. This one keeps the full text's width as its size hint (the layouts
share the space as before) and asks for almost nothing as its minimum.

Shorter forms of the text may be given: when the full text does not fit, the first shorter form that fits is
shown, and only the last one is cut. A slice title cut in the middle ("Axial · …slice 1/13") lost the sequence
name, the only label of a side-by-side column; its short form "CE-T1 1/13" keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QWidget

ELLIPSIS = "…"


class ElidedLabel(QLabel):
    """``text()`` is the full text; the label shows as much of it as fits (the whole of it in the tooltip when cut).

    Args:
        text: Initial text (plain text, one line).
        parent: Parent widget.
        elide: Where the text is cut: ``Qt.ElideRight`` (the default) keeps its beginning. A shorter form (see
            ``setText``) is always cut at the right: it is the part of the text to keep.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(parent)
        self._full = ""
        self._shorter: tuple[str, ...] = ()
        self._elide = elide
        self._own_tip = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def text(self) -> str:  # noqa: D102 - QLabel's, with the full text
        return self._full

    def setText(self, text: str, shorter: Sequence[str] = ()) -> None:  # noqa: N802 (Qt naming)
        """Show ``text``, or the first of ``shorter`` (shortest last) that fits when it does not.

        Args:
            text: The full text (``text()``, the size hint and the tooltip when cut).
            shorter: Shorter forms of it, longest first.
        """
        self._shorter = tuple(str(t) for t in shorter)
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
        metrics = self.fontMetrics()
        fits = [t for t in (self._full, *self._shorter) if metrics.horizontalAdvance(t) <= room]
        if fits:
            shown = fits[0]
        elif self._shorter:
            shown = metrics.elidedText(self._shorter[-1], Qt.TextElideMode.ElideRight, room)
        else:
            shown = metrics.elidedText(self._full, self._elide, room)
        if shown != super().text():
            super().setText(shown)
        cut = shown != self._full
        tip = "\n".join(t for t in (self._full if cut else "", self._own_tip) if t)
        if tip != super().toolTip():
            super().setToolTip(tip)
