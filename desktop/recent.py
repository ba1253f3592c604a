"""The main window's memory between sessions and patients: recent patients (File > Recent, by pseudonym unless
identifiers are shown), the window title, and where folder dialogs start. A mixin of ``MainWindow``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

MAX_RECENT = 8


class RecentPatients:
    def _refresh_title(self) -> None:
        pid = self.session.patient_id
        if pid is None:
            self.setWindowTitle("otscc-edge")
        elif self.model.show_identifiers:
            self.setWindowTitle(f"otscc-edge — {pid}")
        else:  # the pseudonym of File > Recent: which patient is open, without the folder name
            self.setWindowTitle(f"otscc-edge — {self._recent_label(self.session.path)} (identifiers hidden: View > "
                                "Show patient identifiers)")

    def _ask_directory(self, title: str) -> str | None:
        """A folder dialog that starts where the last one of its kind ended: the last export folder, or the folder
        holding the last patient opened (it started in the working directory: Ctrl+E, Enter exported there)."""
        export = title.startswith("Export")
        key = "dialogs/export_folder" if export else "dialogs/open_folder"
        picked = QFileDialog.getExistingDirectory(self, title, str(self.settings.value(key, "")))
        if picked:
            self.settings.setValue(key, picked if export else str(Path(picked).parent))
        return picked or None

    def recent(self) -> list[dict]:
        try:
            items = json.loads(str(self.settings.value("recent", "[]")))
        except json.JSONDecodeError:
            return []
        return [i for i in items if isinstance(i, dict) and "path" in i]

    def _recent_label(self, path: Path) -> str:
        """The open patient's name with identifiers hidden: its DICOM pseudonym, or one made from its folder's path
        (folder names may be names)."""
        label = self.session.patient_id or Path(path).name
        return label if label.startswith("anon-") else \
            "patient-" + hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:8]

    def _remember(self, path: Path) -> None:
        path = path.resolve()
        label = self._recent_label(path)
        items = [{"path": str(path), "label": label}] + [i for i in self.recent() if i["path"] != str(path)]
        self.settings.setValue("recent", json.dumps(items[:MAX_RECENT]))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        for item in self.recent():
            text = item["path"] if self.model.show_identifiers else item["label"]
            menu.addAction(text, lambda p=item["path"]: self.open_patient(p))
        if menu.isEmpty():
            menu.addAction("(none yet)").setEnabled(False)
