"""Fixtures for the desktop tests: offscreen Qt, a small test nomogram, and windows driven like a user would.

One window loads and segments the sample patient once per module (``segmented``); tests that change it
restore what they change, so the slow steps (registration, segmentation) run once. Its size is checked after each
test (``_the_shared_window_keeps_its_size``): the crosshair and hover tests depend on pixels per voxel, so a size
left behind made them depend on the order the tests ran in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from desktop.qt_compat import guard  # noqa: E402
from inference.assets import SAMPLE_PATIENT  # noqa: E402
from tests.desktop.helpers import tiny_nomogram  # noqa: E402

guard()  # before any signal is emitted (PySide6 6.12.0 refcount bug, see desktop/qt_compat.py)

JOB_TIMEOUT_MS = 120_000


@pytest.fixture(scope="session")
def nomogram_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nomogram") / "nomogram.json"
    path.write_text(json.dumps(tiny_nomogram()))
    return path


@pytest.fixture(scope="session")
def factory(nomogram_path):
    """Pipeline factory: the shipped model and backends, the test nomogram."""
    from dataclasses import replace

    from desktop.engine import default_factory

    return lambda settings: default_factory(replace(settings, nomogram=nomogram_path))


class Recorder:
    """Error presenter for tests: records instead of opening a message box."""

    def __init__(self) -> None:
        self.reports = []

    def __call__(self, report) -> None:
        self.reports.append(report)


def make_window(folder: Path, factory, **kwargs):
    from desktop.app import application, create_window

    application()
    presenter = Recorder()
    window = create_window(folder=folder, factory=factory, presenter=presenter, **kwargs)
    window.presenter = presenter
    window.ask_directory = lambda title: None  # never a blocking file dialog
    window.confirm_discard = lambda message: True  # never a blocking "discard edits?" box
    window.confirm_replace = lambda message: False  # never a blocking "replace results of other images?" box
    # never a blocking "same images as another patient's results?" box: export anyway (the result carries the warning),
    # as before the question existed (the sample DICOM and NIfTI patients are the same images under two ids)
    window.confirm_copy_export = lambda message: True
    window.show()
    return window


def wait_job(window, timeout_ms: int = JOB_TIMEOUT_MS) -> tuple[str, str]:
    """Run the event loop until the window's current job ends; returns (name, outcome)."""
    from PySide6.QtCore import QEventLoop, QTimer

    done: list[tuple[str, str]] = []
    loop = QEventLoop()

    def finished(name: str, outcome: str) -> None:
        done.append((name, outcome))
        loop.quit()

    window.job_done.connect(finished)
    QTimer.singleShot(timeout_ms, loop.quit)
    if window.runner.busy:
        loop.exec()
    window.job_done.disconnect(finished)
    if not done:
        raise TimeoutError(f"no job finished within {timeout_ms} ms")
    return done[0]


def close_window(window) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent

    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def window(qapp, tmp_path, factory):
    """A fresh window (no patient) with its own data folder."""
    w = make_window(tmp_path / "userdata", factory)
    yield w
    close_window(w)


@pytest.fixture(scope="module")
def segmented(qapp, tmp_path_factory, factory):
    """A window that loaded and segmented the sample patient (once per module)."""
    w = make_window(tmp_path_factory.mktemp("userdata"), factory)
    assert w.open_patient(SAMPLE_PATIENT)
    assert wait_job(w) == ("load", "finished"), w.presenter.reports
    w.segment()
    assert wait_job(w) == ("segment", "finished"), w.presenter.reports
    yield w
    close_window(w)


@pytest.fixture(autouse=True)
def _the_shared_window_keeps_its_size(request):
    """A test that resizes the module's ``segmented`` window must put its size back (try/finally): this fails the
    test that did not, and restores the size for the next one."""
    if "segmented" not in request.fixturenames:
        yield
        return
    from PySide6.QtWidgets import QApplication

    w = request.getfixturevalue("segmented")
    size = w.size()
    yield
    left = w.size()
    if left != size:
        w.resize(size)
        QApplication.processEvents()
        pytest.fail(f"{request.node.name} left the shared window at {left.width()}x{left.height()} "
                    f"(it was {size.width()}x{size.height()}): restore its size in a finally block")
