"""Help > Self-test: runs ``otscc self-test`` in a child process and shows its pass/fail table.

A child process keeps the window responsive and isolates the runtimes the self-test loads one by one.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QProcess
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget


class SelfTestDialog(QDialog):
    """Output of ``otscc self-test``; the headline says passed or failed when it ends."""

    def __init__(self, parent: QWidget | None = None, command: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("selfTestDialog")
        self.setWindowTitle("otscc-edge self-test")
        self.resize(820, 480)
        self.status = QLabel("Running the self-test: model hashes, every backend, radiomics, nomogram...")
        self.output = QPlainTextEdit(readOnly=True)
        self.output.setObjectName("selfTestOutput")
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        for widget in (self.status, self.output, close):
            layout.addWidget(widget)
        self.exit_code: int | None = None
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        program, *args = command or [sys.executable, "-m", "inference.cli", "self-test"]
        self.process.start(program, args)

    def _read(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode(errors="replace")
        self.output.appendPlainText(text.rstrip("\n"))

    def _finished(self, code: int, _status) -> None:
        self.exit_code = int(code)
        self.status.setText("Self-test PASSED." if code == 0 else
                            f"Self-test FAILED (exit code {code}): see the table below; reinstall the product "
                            "if a model hash or reference does not match.")

    def _error(self, _error) -> None:
        if self.exit_code is None:
            self.exit_code = -1
            self.status.setText(f"The self-test could not be started: {self.process.errorString()}")

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()
            self.process.waitForFinished(2000)
        super().closeEvent(event)
