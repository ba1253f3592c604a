"""What the main window asks before it could lose the user's work: unexported edits before the patient is closed,
replaced or re-segmented, and results of other images before an export would replace them.

A mixin of ``MainWindow`` (it uses its session, clinical panel and dialogs); the questions are injectable
(``confirm_discard``, ``confirm_replace``: message -> True to go ahead), tests replace them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from inference.batch_inputs import earlier_results_warnings
from inference.outputs import existing_result, replace_problem


class EditGuards:
    def unexported_edits(self) -> list[str]:
        """What the user changed that no export holds yet: "tumor mask", "clinical values" or nothing."""
        self.clinical_panel.flush()  # values typed a moment ago count too
        s = self.session
        unexported = s.prediction is None or s.prediction is not self._exported()
        mask = s.editor is not None and s.edited and (s.mask_changed or unexported)
        # not s.risk_stale: a mask stroke after an export made the exported clinical values "unexported" too
        clinical = s.clinical_edited and (unexported or s.clinical_changed)
        return [name for name, changed in (("tumor mask", mask), ("clinical values", clinical)) if changed]

    def may_discard_edits(self, doing: str = "", *, mask_only: bool = False) -> bool:
        """True when closing or replacing the patient loses no user edit, or the user chose to discard them.
        ``mask_only``: only the mask is replaced (segmenting again; ``doing`` says so), the clinical values stay."""
        edits = [e for e in self.unexported_edits() if not mask_only or e == "tumor mask"]
        if not edits:
            return True
        return self.confirm_discard(
            f"Patient {self.session.patient_id}: your edits of the {' and the '.join(edits)} were not exported"
            f"{doing}. Discard them? (Cancel, then Export results, keeps them.)")

    def _confirm_discard(self, message: str) -> bool:
        return self._ask_destructive("Unexported edits", message, "Discard edits")

    def may_replace_export(self, folder: str | Path, prediction) -> bool | None:
        """Whether the export may replace what ``folder/<patient id>`` holds: False when nothing needs asking (no
        results, or a re-export of these images), True when the user agreed, None: cancelled."""
        target = Path(folder) / prediction.patient_id
        problem = replace_problem(existing_result(target), prediction)
        if problem is None:
            return False
        return True if self.confirm_replace(f"{target} already holds {problem}. Replace them?") else None

    def may_export_beside_a_copy(self, folder: str | Path, prediction) -> list[str] | None:
        """The warnings an export into ``folder`` carries because it holds another patient id's results of this CE-T1
        (the same patient under another id, or another patient's image in this folder; empty: none), or None when
        the user cancelled. The caller hands them to the export, so the folder's results are read once."""
        copies = earlier_results_warnings(folder, prediction.provenance.get("input_sha256", {}).get("cet1"),
                                          prediction.patient_id)
        if not copies:
            return []
        message = copies[0][0].upper() + copies[0][1:] + ". Export anyway? (The result will carry this warning.)"
        return copies if self.confirm_copy_export(message) else None

    def _confirm_copy_export(self, message: str) -> bool:
        return self._ask_destructive("Same images as another patient's results", message, "Export anyway")

    def _confirm_replace(self, message: str) -> bool:
        return self._ask_destructive("Results of other images", message, "Replace them")

    def _ask_destructive(self, title: str, message: str, action: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        go = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is go
