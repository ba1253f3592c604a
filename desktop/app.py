"""Application setup: QApplication, the user data folder (log, audit log, settings), logging, and ``run``.

The user data folder is ``$OTSCC_EDGE_DATA_DIR`` when set (tests, portable installs), otherwise Qt's
per-user data location (``~/.local/share/otscc-edge`` on Linux, ``%LOCALAPPDATA%/otscc-edge`` on
Windows). It holds ``otscc-edge.log``, ``audit.jsonl`` and ``settings.ini``.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

APP_NAME = "otscc-edge"
LOG_NAME = "otscc-edge.log"
AUDIT_NAME = "audit.jsonl"

log = logging.getLogger(__name__)


def data_dir() -> Path:
    """The user data folder (created when missing): the one the CLI uses too, so both find the same pseudonym
    key and audit log (``inference.audit.user_data_dir``: ``$OTSCC_EDGE_DATA_DIR`` or the platform's per-user
    data folder, what Qt calls GenericDataLocation)."""
    from inference.audit import user_data_dir

    path = user_data_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_logging(folder: Path) -> Path:
    """Send INFO and above to a rotating log file in ``folder`` (replacing an earlier one); returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "otscc_desktop", False):
            if Path(handler.baseFilename) == path:
                return path
            root.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.otscc_desktop = True
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for noisy in ("radiomics", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path


def settings_for(folder: Path) -> QSettings:
    """Settings as an INI file in the data folder (recent patients, backend, threads, window geometry)."""
    return QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)


def application(argv: list[str] | None = None) -> QApplication:
    from desktop.qt_compat import guard

    guard()
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    return app


def create_window(*, backend: str | None = None, threads: int | None = None, folder: Path | None = None,
                  factory=None, presenter=None):
    """The main window with its engine, audit log and settings wired (no patient loaded, no model loaded)."""
    from desktop.audit import AuditLog
    from desktop.engine import Engine, EngineSettings, default_factory
    from desktop.main_window import MainWindow

    folder = folder or data_dir()
    log_path = configure_logging(folder)
    settings = settings_for(folder)
    chosen_backend = backend or str(settings.value("backend", "auto"))
    chosen_threads = threads if threads is not None else (int(settings.value("threads", 0) or 0) or None)
    engine = Engine(EngineSettings(backend=chosen_backend, threads=chosen_threads),
                    factory=factory or default_factory, audit=AuditLog(folder / AUDIT_NAME))
    return MainWindow(engine, settings=settings, log_path=log_path, presenter=presenter)


def run(patient: str | None = None, *, backend: str | None = None, threads: int | None = None) -> int:
    """Open the window (and ``patient`` when given); returns the exit code."""
    start = time.perf_counter()
    app = application()
    window = create_window(backend=backend, threads=threads)
    previous_hook = sys.excepthook

    def hook(kind, value, tb):  # exceptions escaping Qt slots: one place, the error sink
        if issubclass(kind, KeyboardInterrupt):
            previous_hook(kind, value, tb)
            return
        window.errors.report(value.with_traceback(tb), "Operation")

    sys.excepthook = hook
    window.show()
    QTimer.singleShot(0, lambda: log.info("window shown %.2f s after start", time.perf_counter() - start))
    if patient:
        QTimer.singleShot(0, lambda: window.open_patient(patient))
    code = app.exec()
    sys.excepthook = previous_hook
    return int(code)
