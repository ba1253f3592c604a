"""Help > Benchmark this device: runs ``otscc benchmark --json FILE`` in a child process (the export
package may import TensorFlow; the GUI process never does) and shows its table and a latency chart."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QProcess
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inference.wording import plural

log = logging.getLogger(__name__)

NOT_AVAILABLE = "The benchmark is not available in this build (the export package is not installed)."


def benchmark_available() -> bool:
    """True when ``export/commands/benchmark.py`` is installed (checked without importing ``export``)."""
    spec = importlib.util.find_spec("export")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(p) / "commands" / "benchmark.py").is_file() for p in spec.submodule_search_locations)


def benchmark_rows(data: Any) -> list[dict[str, Any]]:
    """Table rows from the benchmark JSON: a list of objects, or an object holding one under a list key."""
    if isinstance(data, dict):
        data = next((v for k in ("rows", "results", "backends", "formats") if isinstance(v := data.get(k), list)),
                    [data])
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def latency_column(rows: list[dict[str, Any]]) -> str | None:
    """The first numeric column that looks like a latency (name mentions ms/latency/time)."""
    for key in rows[0] if rows else []:
        if any(w in key.lower() for w in ("latency", "_ms", "ms_", "time", "seconds")) and all(
                isinstance(r.get(key), (int, float)) or r.get(key) is None for r in rows):
            return key
    return None


def row_name(row: dict[str, Any], index: int) -> str:
    """'format / runtime' (the same format can run on several runtimes), else any name-like field."""
    if row.get("format") and row.get("runtime"):
        return f"{row['format']} / {row['runtime']}"
    return str(row.get("name") or row.get("backend") or row.get("format") or index)


def cell_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):  # e.g. per-stage pipeline seconds
        return ", ".join(f"{k} {cell_text(v)}" for k, v in value.items())
    if isinstance(value, list):  # e.g. the pipeline stages a run left out: not Python's "['radiomics', ...]"
        return ", ".join(cell_text(v) for v in value)
    return "" if value is None else str(value)


def p95_missing_reason(data: Any) -> str:
    """Why a measured row's ``slice_ms_p95`` is null (the benchmark leaves it out below a number of timed runs), as
    the result itself explains it in ``units`` (the GUI never imports ``export``, which holds that number)."""
    runs = data.get("runs") if isinstance(data, dict) else None
    units = data.get("units") if isinstance(data, dict) else None
    why = units.get("slice_ms_p95") if isinstance(units, dict) else None
    why = why.split(";", 1)[-1].strip() if isinstance(why, str) and ";" in why else (
        "too few timed runs for a 95th percentile (it would be their maximum)")
    timed = plural(runs, "timed run") if isinstance(runs, int) else "too few timed runs"
    return (f"No p95: this benchmark had {timed}; the p95 is {why}. "
            "Run otscc benchmark with more --runs for one.")


def device_summary(data: Any) -> str:
    device = data.get("device") if isinstance(data, dict) else None
    if not isinstance(device, dict):
        return ""
    cores = device.get("physical_cores") or device.get("logical_cores")
    return (f"Device: {device.get('cpu', '?')}" + (f", {cores} cores" if cores else "")
            + (f", GPU {device['gpu']}" if device.get("gpu") else ", no GPU") + ".")


class BenchmarkDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, extra_args: list[str] | None = None) -> None:
        super().__init__(parent)
        self.extra_args = list(extra_args or [])  # e.g. ["--runs", "5"] (tests, quick checks)
        self.setObjectName("benchmarkDialog")
        self.setWindowTitle("Benchmark this device")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setMaximumHeight(140)
        self.table = QTableWidget(0, 0)
        self.chart = pg.PlotWidget(background="w")
        self.chart.setMinimumHeight(200)
        self.run_button = QPushButton("Run benchmark")
        self.run_button.clicked.connect(self.start)
        layout = QVBoxLayout(self)
        for w in (self.status, self.run_button, self.output, self.table, self.chart):
            layout.addWidget(w)
        self.resize(900, 650)
        self.process: QProcess | None = None
        self._json = Path(tempfile.mkdtemp(prefix="otscc-bench-")) / "benchmark.json"
        self.available = benchmark_available()
        self.status.setText("Measures segmentation latency of every backend that runs here (a few minutes)."
                            if self.available else NOT_AVAILABLE)
        self.run_button.setEnabled(self.available)

    def start(self) -> None:
        if not self.available or self.process is not None:
            return
        self.output.clear()
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.status.setText("Running... (the window stays usable)")
        self.run_button.setEnabled(False)
        self.process.start(sys.executable, ["-m", "inference.cli", "benchmark", "--json", str(self._json),
                                            *self.extra_args])

    def _read(self) -> None:
        self.output.appendPlainText(bytes(self.process.readAllStandardOutput()).decode(errors="replace").rstrip())

    def _finished(self, code: int, _status) -> None:
        self.process = None
        self.run_button.setEnabled(True)
        if code != 0:
            self.status.setText(f"The benchmark stopped with exit code {code}; see the output above.")
            return
        try:
            data = json.loads(self._json.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            self.status.setText(f"The benchmark wrote no readable result ({exc}).")
            return
        self.show_rows(benchmark_rows(data), device_summary(data), p95_missing_reason(data))

    def show_rows(self, rows: list[dict[str, Any]], device: str = "", p95_reason: str = "") -> None:
        """Fill the table and chart; a measured row's null p95 reads "n/a" with ``p95_reason`` as its tooltip."""
        columns = list(dict.fromkeys(k for r in rows for k in r))
        self.table.setColumnCount(len(columns))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(columns)
        for i, row in enumerate(rows):
            for j, key in enumerate(columns):
                item = QTableWidgetItem(cell_text(row.get(key)))
                if key == "slice_ms_p95" and row.get(key) is None and row.get("status", "ok") == "ok":
                    item.setText("n/a")  # not blank: a blank cell reads as a value lost
                    item.setToolTip(p95_reason or p95_missing_reason({}))
                self.table.setItem(i, j, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.chart.clear()
        self.bar_names: list[str] = []
        key = latency_column(rows)
        measured = [(i, r) for i, r in enumerate(rows) if isinstance(r.get(key), (int, float))] if key else []
        if measured:
            heights = [float(r[key]) for _, r in measured]
            self.chart.addItem(pg.BarGraphItem(x=list(range(len(measured))), height=heights, width=0.6,
                                               brush="#4a7ebb"))
            self.bar_names = [row_name(r, i) for i, r in measured]
            self.chart.getAxis("bottom").setTicks([list(enumerate(self.bar_names))])
            self.chart.setLabel("left", key)
        skipped = len(rows) - len(measured)
        self.status.setText(" ".join(filter(None, [
            device, f"{plural(len(measured), 'backend')} measured" + (f", {skipped} skipped or failed (see the table)"
                                                              if skipped else "") + ".",
            "" if key else "(no latency column to chart)"])))
