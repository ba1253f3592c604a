"""The one place every error goes (napari's notification-manager idea): it writes the log with the full
traceback, keeps a history, and shows one readable message with what to do next.

How the message is shown is injectable: the default presenter opens a non-modal message box (the window
keeps working), tests pass a presenter that records instead of blocking.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from inference.errors import (
    AmbiguousSequenceError,
    BackendCrashedError,
    CancelledError,
    GeometryError,
    InputError,
    InvalidPixelDataError,
    MissingSequenceError,
    ModelFolderError,
    OtsccError,
    OutputError,
    PatientNotFoundError,
    RadiomicsError,
    RegistrationError,
    UnreadableFileError,
    UnsupportedFormatError,
)

log = logging.getLogger(__name__)

#: (error type, what to do next); the first matching row wins, so specific types come first
ADVICE: tuple[tuple[type[BaseException], str], ...] = (
    (PatientNotFoundError, "Choose the patient's folder (File > Open patient): it must hold the CE-T1, T2 and "
                           "T1 images as NIfTI/NRRD/MHA files or DICOM series."),
    (UnreadableFileError, "Re-export or re-copy the file named above from the PACS: it is damaged or not an "
                          "image. Nothing was changed: the patient open before (if any) is still open."),
    (UnsupportedFormatError, "Convert the images to NIfTI (.nii.gz), NRRD, MHA or DICOM."),
    (MissingSequenceError, "Add the missing sequence to the folder, or name the files cet1/t2/t1."),
    (AmbiguousSequenceError, "Choose which series is CE-T1, T2 and T1 in the dialog, or keep one file per "
                             "sequence in the folder."),
    (GeometryError, "Use an axial 3D stack (one series per sequence, uniform slices) and try again."),
    (InvalidPixelDataError, "Check the series on the PACS viewer; re-export it if it looks wrong there."),
    (ModelFolderError, "The app's model folder is missing or holds no model: reinstall otscc-edge (the model is "
                       "part of the installation). Nothing else was changed."),
    (InputError, "Check the clinical values and the patient folder, then try again."),
    (RegistrationError, "Check that T2 and T1 belong to the same examination as CE-T1."),
    (OutputError, "Your results are still open and nothing was lost: choose another output folder (outside "
                  "the patient's folder, writable, with free space) and export again."),
    (BackendCrashedError, "Nothing else was affected (the model was tried in a separate process). Reinstall "
                          "the model folder, or choose another backend in Settings > Backend, then try again."),
    (RadiomicsError, "Paint the whole tumor (Paint tool) and press Recompute risk, or press Segment for the "
                     "automatic mask."),
    (OtsccError, "See the log (Help > Open log) for details; try Settings > Backend if the model failed."),
    (MemoryError, "Close other programs or choose fewer threads (Settings > Backend), then try again."),
    (OSError, "Check that the folder is readable/writable and the disk is not full."),
)
UNEXPECTED = "This is a bug in otscc-edge: please send the log file (Help > Open log) to the maintainers."


@dataclass(frozen=True)
class ErrorReport:
    title: str
    message: str
    advice: str
    details: str
    error: BaseException

    @property
    def text(self) -> str:
        return f"{self.message}\n\nWhat to do next: {self.advice}"


def advice_for(error: BaseException) -> str:
    return next((advice for kind, advice in ADVICE if isinstance(error, kind)), UNEXPECTED)


def describe(error: BaseException, context: str) -> ErrorReport:
    """One readable message (first lines of the error, no traceback) and the advice for its type."""
    problem = error.problem if isinstance(error, OtsccError) else None  # without command-line hints
    text = (str(error) if problem is None else problem).strip() or type(error).__name__
    if not isinstance(error, OtsccError):
        text = f"{type(error).__name__}: {text}"
    lines = text.splitlines()
    message = "\n".join(lines[:6]) + ("\n..." if len(lines) > 6 else "")
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return ErrorReport(f"{context} failed", message, advice_for(error), details, error)


class ErrorSink(QObject):
    """Receives every error: logs it, remembers it, shows it. Signal ``reported(ErrorReport)``."""

    reported = Signal(object)

    def __init__(self, parent: QWidget | None = None,
                 presenter: Callable[[ErrorReport], None] | None = None) -> None:
        super().__init__(parent)
        self._parent = parent
        self.presenter = presenter or self._show_box
        self.history: list[ErrorReport] = []
        self.box: QMessageBox | None = None
        self._unread: list[ErrorReport] = []  # shown in the open box, newest last

    def report(self, error: BaseException, context: str = "Operation") -> ErrorReport | None:
        if isinstance(error, CancelledError):  # not an error: the user asked for it
            log.info("%s cancelled", context)
            return None
        report = describe(error, context)
        expected = isinstance(error, OtsccError)
        log.log(logging.WARNING if expected else logging.ERROR, "%s: %s", report.title, report.message,
                exc_info=error)
        self.history.append(report)
        self.presenter(report)
        self.reported.emit(report)
        return report

    def _show_box(self, report: ErrorReport) -> None:
        """One box at a time: a new error replaces a box still open (boxes piled up, one per failed job), and the
        new box names the earlier errors that were not dismissed yet, so none goes unseen."""
        unread = self._unread if self.box is not None and self.box.isVisible() else []
        if self.box is not None:
            self.box.close()
            self.box.deleteLater()
        self._unread = [*unread, report]
        text = report.text
        if unread:
            earlier = "\n".join(f"- {r.title}: {r.message.splitlines()[0]}" for r in unread[-3:])
            more = f" ({len(unread) - 3} more in the log)" if len(unread) > 3 else ""
            text += f"\n\nEarlier, not yet dismissed{more}:\n{earlier}"
        box = QMessageBox(QMessageBox.Icon.Warning, report.title, text, QMessageBox.StandardButton.Ok,
                          self._parent)
        box.setDetailedText("\n".join(r.details for r in reversed(self._unread)))
        box.setObjectName("errorBox")
        self.box = box
        box.setModal(False)
        box.show()  # modeless: the images stay usable while the message is read
