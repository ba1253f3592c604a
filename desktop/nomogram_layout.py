"""Rows of the drawn nomogram (Qt-free): the same layout as the PDF report (``inference.report``).

Every row is on a 0-100 x scale: the Points ruler, one axis per variable with the patient's points, the
total-points axis (rescaled to 0-100) and the probability axis under it.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.nomogram import Nomogram


@dataclass(frozen=True)
class NomogramRow:
    label: str
    ticks: list[tuple[str, float]]  # (text, x on 0..100)
    mark: float | None  # the patient's position on this row (x on 0..100), None when not applicable
    value_text: str = ""  # e.g. "23 pts"
    beyond: bool = False  # the value lies outside the fitted range: ``mark`` is held at its end


def nomogram_rows(nomogram: Nomogram, points: dict[str, float] | None,
                  total: float | None) -> list[NomogramRow]:
    """Rows top to bottom; ``points``/``total`` from ``NomogramResult`` (None: axes only)."""
    max_total = nomogram.max_total_points
    scale = 100.0 / max_total if max_total > 0 else 1.0
    rows = [NomogramRow("Points", [(f"{p:g}", float(p)) for p in range(0, 101, 10)], None)]
    for axis in nomogram.axes():
        value = None if points is None else points.get(axis.variable)
        ticks = [(t, float(x)) for t, x in axis.ticks]
        mark, beyond = (None, False) if value is None else nomogram.mark_position(axis.variable, value)
        text = "" if value is None else f"{value:.0f} pts"  # in orange when beyond: no room for words there
        rows.append(NomogramRow(axis.label, ticks, mark, text, beyond))
    total_ticks = [(label, t * scale) for label, t in nomogram.total_ticks()]
    mark = None if total is None else float(total) * scale
    rows.append(NomogramRow("Total points", total_ticks, mark, "" if total is None else f"{total:.0f}"))
    risk = [(label, float(t) * scale) for label, t in nomogram.probability_ticks()]
    rows.append(NomogramRow("Risk of LNM", risk, mark))
    return rows


def thin_ticks(ticks: list[tuple[str, float]], min_gap: float = 4.0,
               char_width: float = 0.0) -> list[tuple[str, float]]:
    """Drop tick labels that would overlap the previous one kept (short axes, crowded probabilities).

    Two centred labels need ``char_width * (len(a) + len(b)) / 2`` between their centres (x units per
    character), and at least ``min_gap``.
    """
    shown: list[tuple[str, float]] = []
    marks: list[tuple[str, float]] = []  # unlabelled ticks (the ends of a fitted range): always kept, never in the way
    for text, x in sorted(ticks, key=lambda t: t[1]):
        if not text:
            marks.append((text, x))
            continue
        if shown:
            last_text, last_x = shown[-1]
            if x - last_x < max(min_gap, char_width * (len(last_text) + len(text)) / 2 + char_width):
                continue
        shown.append((text, x))
    return sorted(shown + marks, key=lambda t: t[1])
