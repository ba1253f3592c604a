"""Test data and small helpers for the desktop tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: features that pyradiomics extracts for every patient (shape once, first order per sequence)
FEATURES = ["original_shape_Sphericity", "cet1_original_firstorder_Mean", "t2_original_firstorder_Mean"]


def tiny_nomogram() -> dict:
    """A tiny valid nomogram whose node status and DOI move the risk visibly."""
    return {
        "schema_version": 1, "kind": "fusion", "created": "2026-11-28", "synthetic_training_data": True,
        "mask_source": "auto",
        "radscore": {"features": FEATURES, "means": [0.7, 150.0, 30.0], "sds": [0.1, 50.0, 10.0],
                     "weights": [0.8, 0.5, -0.4], "intercept": 0.0},
        "model": {"variables": ["radscore", "age", "sex", "ct_stage", "cn_status", "doi_mm"],
                  "means": [0.0, 60.0, 0.6, 2.0, 0.4, 7.0], "sds": [1.0, 12.0, 0.5, 0.7, 0.5, 3.0],
                  "coefficients": [0.9, 0.2, 0.1, 0.3, 1.2, 0.8], "intercept": -0.8,
                  "axes": {"radscore": [-3.0, 3.0], "age": [30.0, 90.0], "sex": [0.0, 1.0],
                           "ct_stage": [1.0, 3.0], "cn_status": [0.0, 1.0], "doi_mm": [0.0, 20.0]}},
        "risk_groups": [{"name": "low", "below": 0.2}, {"name": "intermediate", "below": 0.5},
                        {"name": "high", "below": 1.01}],
        "points": {"max_points": 100}, "training_metrics": {"auc": 0.5}, "versions": {"otscc-edge": "test"},
    }



def paint_beside_the_tumor(window, qtbot) -> None:
    """One click of the Paint tool on the axial view, 12.5 pixels right of the cursor (beside the sample's tumor)."""
    from PySide6.QtCore import Qt

    from tests.desktop.test_viewer import widget_pos

    m, axial = window.model, window.viewer.ortho["axial"]
    window.actions["paint"].trigger()
    row, col = m.plane_cursor("axial")
    row_mm, col_mm = m.plane_spacing("axial")
    qtbot.mouseClick(axial.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=widget_pos(axial, (col + 12.5) * col_mm, (row + 0.5) * row_mm))


@contextmanager
def resized(window, width: int, height: int) -> Iterator[None]:
    """``window`` at ``width`` x ``height`` (laid out) for the ``with`` block, then at its size before: the
    module's shared window must not leave a test at another size (see conftest)."""
    from PySide6.QtWidgets import QApplication

    size = window.size()
    window.resize(width, height)
    QApplication.processEvents()
    try:
        yield
    finally:
        window.resize(size)
        QApplication.processEvents()


def held(monkeypatch, engine, job: str) -> threading.Event:
    """Make ``engine.<job>`` (``load``, ``segment``) wait in its worker thread until the returned event is set (at
    most 30 s), so a test can act while the job runs."""
    gate, run = threading.Event(), getattr(engine, job)

    def waiting(*args, **kwargs):
        gate.wait(30)
        return run(*args, **kwargs)

    monkeypatch.setattr(engine, job, waiting)
    return gate


def hover(qtbot, viewport, pos) -> None:
    """Move the mouse (no button) to ``pos`` in ``viewport``. pyqtgraph drops a move that comes sooner than its rate
    limit (100 Hz) after the previous one in the same scene: a fast ``open_patient`` between two moves once left the
    brush ring where the first move put it (a flaky failure of test_no_brush_ring_while_the_mask_is_locked)."""
    from PySide6.QtTest import QTest

    QTest.qWait(12)
    qtbot.mouseMove(viewport, pos)
