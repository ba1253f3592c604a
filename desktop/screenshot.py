"""Screenshots of the main states for the docs: ``python -m desktop.screenshot OUTDIR``.

Run it under a real X server so fonts and styles are those users see::

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python -m desktop.screenshot docs/img/gui

It opens the sample patient, segments it, and saves ``loaded.png``, ``segmented.png``, ``side_by_side.png``,
``editing.png``, ``roles_dialog.png`` and ``error.png``; it logs the window-open time it measured.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("desktop.screenshot")


def _wait(window, timeout_s: float = 180.0) -> str:
    from PySide6.QtCore import QEventLoop, QTimer

    outcome: list[str] = []
    loop = QEventLoop()
    window.job_done.connect(lambda name, result: (outcome.append(f"{name}:{result}"), loop.quit()))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if window.runner.busy:
        loop.exec()
    return outcome[0] if outcome else "timeout"


def _settle(app, ms: int = 300) -> None:
    from PySide6.QtTest import QTest

    QTest.qWait(ms)
    app.processEvents()


def _save(widget, path: Path) -> None:
    widget.grab().save(str(path))
    log.info("saved %s", path)


def take(out: Path, patient: Path, nomogram: Path | None) -> dict[str, float]:
    from dataclasses import replace

    start = time.perf_counter()
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from desktop.app import application, create_window
    from desktop.engine import default_factory

    app = application()
    factory = None if nomogram is None else (lambda s: default_factory(replace(s, nomogram=nomogram)))
    data = Path(tempfile.mkdtemp(prefix="otscc-shots-"))
    window = create_window(folder=data, factory=factory)
    window.confirm_discard = lambda message: True  # a scripted session: its demo edits may go
    window.confirm_replace = lambda message: False
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    timings = {"window_open_s": time.perf_counter() - start}
    out.mkdir(parents=True, exist_ok=True)
    _save(window, out / "empty.png")
    window.open_patient(patient)
    assert _wait(window) == "load:finished", window.errors.history
    _settle(app)
    _save(window, out / "loaded.png")
    started = time.perf_counter()
    window.segment()
    assert _wait(window) == "segment:finished", window.errors.history
    timings["segment_s"] = time.perf_counter() - started
    _settle(app)
    _save(window, out / "segmented.png")
    _save(window.risk_panel, out / "risk_panel.png")
    window.actions["side_by_side"].trigger()
    _settle(app)
    _save(window, out / "side_by_side.png")
    window.actions["orthogonal"].trigger()
    _edit(window, app, QTest, QPoint, Qt)
    _save(window, out / "editing.png")
    _roles_and_error(window, app, patient, out)
    window.close()
    shutil.rmtree(data, ignore_errors=True)
    return timings


def _edit(window, app, qtest, qpoint, qt) -> None:
    """Paint a stroke beside the tumor in the axial view and leave the brush ring visible."""
    m, axial = window.model, window.viewer.ortho["axial"]
    window.actions["paint"].trigger()
    window.mask_panel.brush.setValue(5.0)
    row, col = m.plane_cursor("axial")
    row_mm, col_mm = m.plane_spacing("axial")
    from PySide6.QtCore import QPointF

    for k in range(8):
        scene = axial.box.mapViewToScene(QPointF((col + 10 + k) * col_mm, (row + 4 + k // 2) * row_mm))
        pos = axial.graphics.mapFromScene(scene)
        qtest.mouseClick(axial.graphics.viewport(), qt.MouseButton.LeftButton, pos=pos)
    qtest.mouseMove(axial.graphics.viewport(), pos + qpoint(12, 4))
    _settle(app)


def _roles_and_error(window, app, patient: Path, out: Path) -> None:
    """The 'which series is which' dialog on a copy with two CE-T1 candidates, then a malformed patient."""
    tmp = Path(tempfile.mkdtemp(prefix="otscc-shot-patient-"))
    ambiguous = tmp / "ambiguous"
    shutil.copytree(patient, ambiguous)
    shutil.copy(ambiguous / "cet1.nii.gz", ambiguous / "t1_gd.nii.gz")
    window.open_patient(ambiguous)
    _wait(window)
    _settle(app)
    if window.roles_dialog is not None:
        _save(window.roles_dialog, out / "roles_dialog.png")
        window.roles_dialog.reject()
    broken = tmp / "broken"
    broken.mkdir()
    (broken / "cet1.nii.gz").write_bytes(b"\x1f\x8b not an image")
    for name in ("t2.nii.gz", "t1.nii.gz"):
        shutil.copy(patient / name, broken / name)
    window.open_patient(broken)
    _wait(window)
    _settle(app)
    if window.errors.box is not None:
        _save(window.errors.box, out / "error.png")
        window.errors.box.close()
    shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    from inference.assets import SAMPLE_PATIENT

    parser = argparse.ArgumentParser(prog="python -m desktop.screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--patient", type=Path, default=SAMPLE_PATIENT, help="patient folder (default: sample)")
    parser.add_argument("--nomogram", type=Path, default=None, help="nomogram JSON (default: the shipped one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    timings = take(args.out, args.patient, args.nomogram)
    log.info("timings: %s", {k: round(v, 2) for k, v in timings.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
