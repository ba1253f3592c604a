"""The main window's dialogs (settings, about, log, benchmark, self-test, the sequence roles): a mixin of
``MainWindow``, which keeps the dialog objects as attributes (tests reach them there)."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from desktop.dialogs import LogDialog, RolesDialog, SettingsDialog, about_html


class DialogLaunchers:
    def show_settings(self) -> None:
        from inference.backends.base import BACKENDS

        st = self.engine.settings
        dialog = SettingsDialog(["auto", *BACKENDS], st.backend, st.threads, self)
        dialog.accepted.connect(lambda: self.apply_settings(*dialog.values()))
        self.settings_dialog = dialog
        dialog.open()

    def apply_settings(self, backend: str, threads: int | None) -> None:
        self.engine.configure(backend=backend, threads=threads)
        self.settings.setValue("backend", backend)
        self.settings.setValue("threads", threads or 0)
        self._shown_pipeline = None
        self._refresh_backend()

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About otscc-edge", about_html(),
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("aboutBox")
        self.about_box = box
        box.open()

    def show_log(self) -> None:
        self.log_dialog = LogDialog(self.log_path, self)
        self.log_dialog.show()

    def show_benchmark(self) -> None:
        from desktop.benchmark import BenchmarkDialog

        self.benchmark_dialog = BenchmarkDialog(self)
        self.benchmark_dialog.show()

    def show_self_test(self) -> None:
        from desktop.self_test import SelfTestDialog

        self.self_test_dialog = SelfTestDialog(self)
        self.self_test_dialog.show()

    def choose_sequences(self) -> bool:
        """File > Choose sequences: which series is CE-T1, T2 and T1, for the open patient, whatever was decided
        automatically (a wrong automatic choice could not be corrected before); OK reopens the patient with the
        choice once the series are read. False when there is nothing to choose from or a job runs."""

        s = self.session
        if s.prepared is None or self._busy():
            return False
        path, current = s.path, {role: ref.key for role, ref in s.prepared.patient.roles.items()}
        # the DICOM headers are read off the GUI thread: seconds for a large study
        return self.start_job("series", lambda progress, cancelled: _candidates(path, cancelled),
                              lambda rows: self._ask_sequences(path, rows, current))

    def _ask_sequences(self, path, rows, current: dict) -> None:
        dialog = RolesDialog("change any role; OK reopens the patient with your choice (the automatic choice is "
                             "shown in the table)", rows, self, asked=False)
        for role, key in current.items():
            if any(r.key == key for r in rows):
                dialog.choose(role, key)
        dialog.accepted.connect(lambda: dialog.choice() != current and self.open_patient(path, dialog.choice()))
        self.roles_dialog = dialog
        dialog.open()


def _candidates(path, cancelled) -> list:
    """The roles dialog's rows, unless Cancel was pressed meanwhile (then no dialog opens)."""
    from desktop.series_table import describe_candidates
    from inference.errors import CancelledError

    rows = describe_candidates(path)
    if cancelled():
        raise CancelledError("cancelled")
    return rows
