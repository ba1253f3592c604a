"""Little GUI-thread work after a job's result (the review of 2026-11-30): 0.25-0.56 s froze the window after the
first segmentation, mostly the nomogram drawn twice and the mask outline traced over whole slices."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg

from inference.assets import SAMPLE_PATIENT
from tests.desktop.conftest import wait_job


def test_the_first_segmentation_draws_the_nomogram_once(window, nomogram_path, monkeypatch):
    """The window draws the nomogram's axes at start; the first run's pipeline loads the same file again, and its
    result drew it twice more (once with the points, once for the 'new' nomogram). Then a risk update moves only
    the marks: the ~60 axis labels stay."""
    w = window
    w.engine.settings = replace(w.engine.settings, nomogram=nomogram_path)  # the file the pipeline loads
    w._show_nomogram_axes()
    assert w.open_patient(SAMPLE_PATIENT) and wait_job(w) == ("load", "finished"), w.presenter.reports
    plot, draws = w.risk_panel.plot, []
    draw = plot.draw
    monkeypatch.setattr(plot, "draw", lambda *args: draws.append(args) or draw(*args))
    w.segment()
    assert wait_job(w) == ("segment", "finished"), w.presenter.reports
    assert len(draws) == 1 and draws[0][1] is not None  # once, with the patient's points
    assert len(plot.marks) == len(w.session.prediction.score.points) + 2

    created: list[str] = []

    class CountedText(pg.TextItem):
        def __init__(self, text, *args, **kwargs):
            created.append(text)
            super().__init__(text, *args, **kwargs)

    monkeypatch.setattr(pg, "TextItem", CountedText)
    w.clinical_panel.set_values({"age": w.session.clinical["age"] + 7})
    w.clinical_panel.flush()
    assert wait_job(w) == ("rescore", "finished"), w.presenter.reports
    # the points beside the axes only: drawn grey while the risk is out of date, then red (no axis label again)
    assert 0 < len(created) <= 2 * (len(w.session.prediction.score.points) + 1), created
    assert not any(row.label in created for row in plot.rows)
    assert len(plot.marks) == len(w.session.prediction.score.points) + 2


def test_the_outline_is_traced_in_the_tumor_box_where_the_mask_is(segmented):
    """The outline is traced on the tumor's box (not the whole slice) and placed at its corner: it must still lie
    on the mask."""
    w = segmented
    for view in w.viewer.ortho.values():
        plane = w.model.plane_slice(view.plane, w.model.mask)
        if not plane.any():
            continue
        rows, cols = np.flatnonzero(plane.any(axis=1)), np.flatnonzero(plane.any(axis=0))
        box = view.outline.mapRectToParent(view.outline.boundingRect())  # in the fill's pixels: x column, y row
        assert abs(box.left() - cols[0]) <= 1.0 and abs(box.right() - (cols[-1] + 1)) <= 1.0, (view.plane, box)
        assert abs(box.top() - rows[0]) <= 1.0 and abs(box.bottom() - (rows[-1] + 1)) <= 1.0, (view.plane, box)
        assert view.outline.data.shape[0] <= len(rows) + 2 and view.outline.data.shape[1] <= len(cols) + 2
