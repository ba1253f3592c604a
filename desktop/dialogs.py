"""Dialogs: sequence roles, backend settings, log viewer, About. All are opened non-modally with
``open()`` (the window keeps repainting and tests can drive them); results come back through ``accepted``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.series_table import SeriesRow, initial_choice
from inference import __version__
from inference.pipeline import DISCLAIMER
from inference.roles import ROLE_LABELS

COLUMNS = ("Series", "Size (voxels)", "Spacing", "Images", "Automatic guess", "Why")


DESCRIPTION_WIDTH = 280  # px: the widest the series description column starts


class RolesDialog(QDialog):
    """Lists every candidate series and lets the user say which is CE-T1, T2 and T1."""

    def __init__(self, message: str, rows: list[SeriesRow], parent: QWidget | None = None, *,
                 asked: bool = True) -> None:
        """``asked``: loading stopped to ask (ambiguous roles); False: the user opened it to change the roles."""
        super().__init__(parent)
        self.setObjectName("rolesDialog")
        self.setWindowTitle("Which series is which?")
        self.rows = rows
        lead = ("The sequence roles could not be decided automatically:" if asked else
                "The sequence roles of the open patient, as used now:")
        intro = QLabel(f"{lead}<br><i>" + message.replace("<", "&lt;") + "</i><br>Choose the series for each role.")
        intro.setWordWrap(True)
        self.intro = intro
        self.table = QTableWidget(len(rows), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        for r, row in enumerate(rows):
            for c, value in enumerate((row.description, row.size, row.spacing, str(row.images), row.guess_label,
                                       row.reason)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        if header.sectionSize(0) > DESCRIPTION_WIDTH:  # a long series description pushed the guess and why columns
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)  # out of view: cut (tooltip: all)
            header.resizeSection(0, DESCRIPTION_WIDTH)
        self.combos: dict[str, QComboBox] = {}
        form = QFormLayout()
        chosen = initial_choice(rows)
        for role, label in ROLE_LABELS.items():
            combo = QComboBox()
            combo.addItem("— choose —", None)
            for row in rows:
                combo.addItem(row.description, row.key)
            if chosen[role] is not None:
                combo.setCurrentIndex(combo.findData(chosen[role]))
            combo.currentIndexChanged.connect(self._check)
            self.combos[role] = combo
            form.addRow(label, combo)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #a00000;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (intro, self.table):
            layout.addWidget(w)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(900, 420)
        self._check()

    def choice(self) -> dict[str, str]:
        """Role -> series key (path or SeriesInstanceUID) for ``Pipeline.prepare`` overrides."""
        return {role: combo.currentData() for role, combo in self.combos.items() if combo.currentData()}

    def choose(self, role: str, key: str) -> None:
        self.combos[role].setCurrentIndex(self.combos[role].findData(key))

    def _check(self) -> None:
        keys = [c.currentData() for c in self.combos.values()]
        if None in keys:
            problem = "Choose a series for every role."
        elif len(set(keys)) < len(keys):
            problem = "Each role needs a different series."
        else:
            problem = ""
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)


class SettingsDialog(QDialog):
    """Backend (from the registry, plus auto) and CPU threads (0 = the backend's choice)."""

    def __init__(self, backends: list[str], backend: str, threads: int | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Backend settings")
        self.backend = QComboBox()
        self.backend.addItems(backends)
        self.backend.setCurrentText(backend)
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("backend default")
        self.threads.setValue(threads or 0)
        note = QLabel("auto tries the fastest runtime that works here and falls back (the status bar says "
                      "which one ran and why). The change applies to the next run.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Backend", self.backend)
        form.addRow("CPU threads", self.threads)
        form.addRow(note)
        form.addRow(buttons)

    def values(self) -> tuple[str, int | None]:
        return self.backend.currentText(), (self.threads.value() or None)


class LogDialog(QDialog):
    """The log file's last lines, with a button to open it in the system's text viewer."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logDialog")
        self.setWindowTitle(f"Log: {path}")
        self.path = path
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFont("monospace", 9))
        reload_button, open_button = QPushButton("Reload"), QPushButton("Open in system viewer")
        reload_button.clicked.connect(self.reload)
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        row = QHBoxLayout()
        row.addWidget(QLabel(str(path)), 1)
        row.addWidget(reload_button)
        row.addWidget(open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.text)
        self.resize(900, 500)
        self.reload()

    def reload(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()[-2000:]
        except OSError as exc:
            lines = [f"(cannot read the log: {exc})"]
        self.text.setPlainText("\n".join(lines))
        self.text.verticalScrollBar().setValue(self.text.verticalScrollBar().maximum())


def about_html() -> str:
    return (f"<h3>otscc-edge {__version__}</h3>"
            "<p>Offline segmentation of oral tongue squamous cell carcinoma on MRI (CE-T1, T2, T1) and a "
            "radiomics + clinical nomogram for the risk of cervical lymph-node metastasis.</p>"
            f"<p style='color:#a00000'><b>{DISCLAIMER}</b></p>"
            "<p>Everything runs on this computer; no data leaves it. Patient identifiers are hidden unless "
            "View &gt; Show patient identifiers is on.</p>")
