"""The main window: wires the models (``ViewerModel``, ``Session``), the views, the job runner and the
error sink. It owns no image or result state itself; jobs run in ``JobRunner`` and hand results to the
session on the GUI thread.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QMainWindow,
    QSplitter,
)

from desktop.actions import build_actions, sync_actions
from desktop.dialogs import RolesDialog
from desktop.engine import Engine, Loaded, RoleQuestion, Segmented
from desktop.errors import ErrorReport, ErrorSink
from desktop.guards import EditGuards
from desktop.launchers import DialogLaunchers
from desktop.model import ViewerModel
from desktop.qt_compat import guard
from desktop.recent import RecentPatients
from desktop.session import Session
from desktop.views.clinical_panel import ClinicalPanel
from desktop.views.elided_label import ElidedLabel
from desktop.views.panels import MaskPanel, ProgressPanel, SideColumn
from desktop.views.risk_panel import RiskPanel
from desktop.views.viewer import ViewerWidget
from desktop.worker import JobRunner
from inference.errors import InputError
from inference.isolation import CRASH_NOTE
from inference.memory import release_memory
from inference.wording import plural

log = logging.getLogger(__name__)

JOB_STAGES = {"load": ("load", "register"), "segment": ("preprocess", "segment", "radiomics", "nomogram"),
              "rescore": ("radiomics", "nomogram"), "export": (), "series": ()}
#: jobs whose result replaces the mask: it cannot be edited while they run (the edits would be thrown away)
MASK_JOBS = ("load", "segment")
JOB_TITLES = {"load": "Loading the patient", "segment": "Segmentation", "rescore": "Risk update",
              "export": "Export", "series": "Reading the series"}
#: the narrowest the side column's scroll area gets (its panels' compact arrangement fits ~290 px)
MIN_SIDE_WIDTH = 300
#: the side column's width when the window has room, and the width the images keep before it gives way (the slice
#: titles used to enforce that as a minimum, which made the window wider than a small screen)
SIDE_WIDTH, IMAGES_WIDTH = 560, 528
DEFAULT_SIZE = (1600, 1000)
GEOMETRY_KEY = "window/geometry"


class MainWindow(EditGuards, DialogLaunchers, RecentPatients, QMainWindow):
    """Signal ``job_done(name, outcome)`` with outcome "finished", "failed" or "cancelled"."""

    job_done = Signal(str, str)

    def __init__(self, engine: Engine, *, settings: QSettings, log_path: Path,
                 presenter: Callable[[ErrorReport], None] | None = None) -> None:
        super().__init__()
        guard()  # PySide6 6.12.0 emit() refcount bug (see desktop.qt_compat)
        self.setObjectName("mainWindow")
        self.engine, self.settings, self.log_path = engine, settings, log_path
        self.model = ViewerModel()
        self.session = Session(self.model)
        self.runner = JobRunner(self)
        self.errors = ErrorSink(self, presenter)
        #: how to ask for a folder; tests replace it (title -> path or None)
        self.ask_directory: Callable[[str], str | None] = self._ask_directory
        #: how to ask before unexported mask edits are dropped (message -> True to discard); tests replace it
        self.confirm_discard: Callable[[str], bool] = self._confirm_discard
        #: how to ask before an export replaces results of other images (message -> True to replace)
        self.confirm_replace: Callable[[str], bool] = self._confirm_replace
        #: how to ask before exporting beside another patient id's results of the same CE-T1 (message -> True to go on)
        self.confirm_copy_export: Callable[[str], bool] = self._confirm_copy_export
        #: the prediction last exported (its edits are safe on disk); weak, so a closed patient's arrays are freed
        self._exported: Callable[[], object] = lambda: None
        self.roles_dialog: RolesDialog | None = None
        self._handlers: dict[str, Callable[[object], None]] = {}
        self._pending_rescore = False
        #: an export asked for while the risk for values typed a moment ago was being computed: (folder,)
        self._pending_export: tuple[str | Path | None] | None = None
        self._after_note: str | None = None  # a status message for when the running job ends
        #: from the close question on: a job ending meanwhile starts nothing, its (name, outcome) waits here
        self._closing = False
        self._held: tuple[str, str] | None = None
        self._held_question: RoleQuestion | None = None  # a roles question that arrived during the close question
        self._shown_pipeline = None
        self.viewer = ViewerWidget(self.model, self.session)
        self.progress = ProgressPanel()
        self.mask_panel = MaskPanel(self.model, self.session)
        self.clinical_panel = ClinicalPanel(self.session)
        self.risk_panel = RiskPanel(self.session)
        self._build_layout()
        self.actions = build_actions(self)
        # cut with "…" rather than widening the window past a small screen (the backend line alone was 700 px)
        self.backend_label = ElidedLabel()
        self.backend_label.setObjectName("backendLabel")
        self.hover_label = ElidedLabel()
        self.statusBar().addWidget(self.hover_label, 1)
        self.statusBar().addPermanentWidget(self.backend_label)
        self._connect()
        self.setAcceptDrops(True)
        self._restore_geometry()
        self._show_nomogram_axes()
        self._refresh_backend()
        self._refresh_title()
        self.update_actions()

    def _show_nomogram_axes(self) -> None:
        """Draw the nomogram's axes before any model is loaded (a bad file is reported by the first run)."""
        from inference.nomogram import Nomogram, NomogramError

        try:
            self.risk_panel.set_nomogram(Nomogram.load(self.engine.settings.nomogram))
        except NomogramError as exc:
            log.info("nomogram not drawn yet: %s", exc)

    # -- construction --------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        """The size and place the window had when it was last closed; else 1600x1000 shrunk to fit the screen's
        free area (a 1366x768 laptop, or 1920x1080 at 150 % scaling, has less than that)."""
        saved = self.settings.value(GEOMETRY_KEY)
        if isinstance(saved, QByteArray) and not saved.isEmpty() and self.restoreGeometry(saved):
            self._share_width()
            return
        screen = self.screen() or QGuiApplication.primaryScreen()
        free = screen.availableGeometry() if screen is not None else None
        width, height = DEFAULT_SIZE
        if free is not None and free.width() > 0 and free.height() > 0:
            width, height = min(width, int(free.width() * 0.95)), min(height, int(free.height() * 0.92))
        self.resize(width, height)
        self._share_width()

    def _share_width(self, grow_only: bool = False) -> None:
        """Images first: in a narrow window the side column gives way (down to ``MIN_SIDE_WIDTH``, where its panels
        are compact) before the images shrink below ``IMAGES_WIDTH``; the splitter would otherwise keep the column's
        560 px. ``grow_only``: only widen a column left narrow by a smaller window (the splitter gives new width to
        the images alone)."""
        width, splitter = self.width(), self.centralWidget()
        if splitter is None:  # a resize during construction
            return
        side = max(MIN_SIDE_WIDTH, min(SIDE_WIDTH, width - IMAGES_WIDTH))
        if grow_only and splitter.sizes()[1] >= side:
            return
        splitter.setSizes([width - side, side])

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        if event.oldSize().width() > 0 and event.size().width() > event.oldSize().width():
            self._share_width(grow_only=True)

    def _build_layout(self) -> None:
        # The panels need ~830 px of height; a 1366x768 laptop (or 1080p at 150 % scaling) has ~720 free: they
        # scroll there instead of pushing the nomogram off the screen. Narrow, they take a compact arrangement.
        scroll = SideColumn([self.progress, self.mask_panel, self.clinical_panel, self.risk_panel])
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setMinimumWidth(MIN_SIDE_WIDTH)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.viewer)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        self.setCentralWidget(splitter)  # its sizes: _share_width, once the window's size is known

    def _connect(self) -> None:
        r = self.runner
        r.progress.connect(lambda _name, stage, fraction: self.progress.set_progress(stage, fraction))
        r.finished.connect(self._on_finished)
        r.failed.connect(self._on_failed)
        r.cancelled.connect(self._on_cancelled)
        self.progress.segment_button.clicked.connect(self.segment)
        self.progress.cancel_button.clicked.connect(self.cancel)
        self.mask_panel.recompute_requested.connect(self.recompute)
        self.clinical_panel.changed.connect(self._on_clinical_edited)
        self.viewer.hovered.connect(self.hover_label.setText)
        self.model.events.identifiers.connect(self._refresh_title)
        self.model.events.identifiers.connect(self._rebuild_recent_menu)
        for event in (self.session.events.patient, self.session.events.segmentation,
                      self.session.events.prediction, self.session.events.mask_edit, self.session.events.editing):
            event.connect(self.update_actions)
        self.session.events.patient.connect(self._refresh_title)

    # -- jobs ----------------------------------------------------------------------------------------
    def _busy(self) -> bool:
        """True (and said in the status bar) while a job runs: asked before any question, which would be moot.
        Values typed in the clinical panel a moment ago are applied first: that may start a risk update."""
        self.clinical_panel.flush()
        if self.runner.busy:
            self.statusBar().showMessage(f"Busy: {JOB_TITLES[self.runner.current]} is running.", 4000)
        return self.runner.busy

    def start_job(self, name: str, fn, on_done: Callable[[object], None]) -> bool:
        if self._busy():
            return False
        self._handlers[name] = on_done
        self.progress.begin(JOB_STAGES[name], f"{JOB_TITLES[name]}...")
        if name in MASK_JOBS:
            self.session.lock_editing(True)
        self.runner.start(name, fn)
        self.update_actions()
        return True

    def cancel(self) -> None:
        if self._pending_export is not None:  # the export waiting for this job is cancelled with it
            self._pending_export = None
            self._after_note = "Export cancelled."  # said when the job ends (that clears the status bar)
        if self.runner.busy:
            self.runner.cancel()
            self.progress.cancelling()

    def _on_finished(self, name: str, result: object) -> None:
        handler = self._handlers.pop(name)
        self._refresh_backend()  # a pipeline this job created: its nomogram first, then the points read off it
        try:
            handler(result)
        except Exception as exc:  # noqa: BLE001 - GUI boundary: report it, keep the window usable
            report = self.errors.report(exc, JOB_TITLES[name])
            self._after_job(name, "failed", f"{JOB_TITLES[name]} failed: {report.message if report else ''}")
            return
        self._after_job(name, "finished", f"{JOB_TITLES[name]} done.")

    def _on_failed(self, name: str, error: BaseException) -> None:
        self._handlers.pop(name, None)
        report = self.errors.report(error, JOB_TITLES[name])
        self._after_job(name, "failed", f"{JOB_TITLES[name]} failed: {report.message if report else ''}")

    def _on_cancelled(self, name: str) -> None:
        self._handlers.pop(name, None)
        self._after_job(name, "cancelled", f"{JOB_TITLES[name]} cancelled: nothing was changed.")

    def _after_job(self, name: str, outcome: str, text: str) -> None:
        if outcome != "finished":  # an earlier success ("Exported to ...") must not stand beside this failure
            self.statusBar().clearMessage()
        if self._after_note:
            self.statusBar().showMessage(self._after_note, 8000)
            self._after_note = None
        self.progress.finish(JOB_STAGES[name], text, done=outcome == "finished")
        if name in MASK_JOBS:  # after the handler: the mask it brought is editable now
            self.session.lock_editing(False)
        self._refresh_backend()
        self.update_actions()
        self.job_done.emit(name, outcome)
        if self._closing:  # nothing new starts from a closing window (or one asking whether to close)
            self._held = (name, outcome)
            return
        self._start_pending(name, outcome)

    def _start_pending(self, name: str, outcome: str) -> None:
        """The risk update and export that waited for the job ``name`` that ended with ``outcome``."""
        if self._pending_rescore and not self.runner.busy:
            self._pending_rescore = False
            self.rescore_if_possible()
        if self._pending_export is not None and not self.runner.busy:  # after the last risk update it waited for
            (folder,), self._pending_export = self._pending_export, None
            if name == "rescore" and outcome == "finished":
                self.export(folder)
            else:
                said = {"failed": "failed", "cancelled": "was cancelled"}.get(outcome, outcome)
                self.statusBar().showMessage(f"Export not started: the risk update {said}.", 8000)

    # -- opening -------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path = self.ask_directory("Open a patient folder")
        if path:
            self.open_patient(path)

    def open_patient(self, path: str | Path, overrides: dict[str, str] | None = None, *, asked: bool = False) -> bool:
        """``asked``: the discard question was answered already (the roles dialog continues an opening)."""
        if self._busy() or not (asked or self.may_discard_edits()):
            return False
        path = Path(path)
        if path.is_file():  # a dropped image file: its folder is the patient
            path = path.parent
        return self.start_job("load", lambda progress, cancelled: self.engine.load(
            path, overrides, progress=progress, cancelled=cancelled), self._on_loaded)

    def close_patient(self) -> bool:
        """Close the open patient (File > Close patient); refused while a job runs. Exported files stay."""
        if self._busy() or not self.may_discard_edits():
            return False
        self.session.clear()
        self.progress.reset()
        release_memory()
        self.statusBar().showMessage("Patient closed.", 4000)
        return True

    def _on_loaded(self, result: Loaded | RoleQuestion) -> None:
        if isinstance(result, RoleQuestion):
            if self._closing:  # not over the close question: asked if the window stays
                self._held_question = result
                return
            self._ask_roles(result)
            return
        self.statusBar().clearMessage()  # e.g. "Exported to" the previous patient's folder
        self.session.set_loaded(result)
        self._focus_views()
        release_memory()  # the previous patient's arrays were just dropped
        self._remember(result.path)
        # what reading the images said too (duplicate DICOM files, files skipped), as the command line prints it
        said = list(self.session.warnings) + list(result.prepared.patient.notes)
        if said:
            self.statusBar().showMessage("Warning: " + "; ".join(said), 30000)

    def _ask_roles(self, question: RoleQuestion) -> None:
        dialog = RolesDialog(question.message, question.rows, self)
        dialog.accepted.connect(lambda: self.open_patient(question.path, dialog.choice(), asked=True))
        self.roles_dialog = dialog
        dialog.open()

    # -- segmentation and risk -----------------------------------------------------------------------
    def segment(self) -> None:
        s = self.session
        if s.prepared is None:
            self.errors.report(InputError("no patient is open"), "Segmentation")
            return
        if self._busy() or not self.may_discard_edits(" and segmenting again replaces the mask", mask_only=True):
            return
        prepared, clinical = s.prepared, s.clinical_for_scoring()
        self.start_job("segment", lambda progress, cancelled: self.engine.segment(
            prepared, clinical, progress=progress, cancelled=cancelled), self._on_segmented)

    def _on_segmented(self, result: Segmented) -> None:
        self.session.set_segmented(result)
        self._focus_views()

    def _focus_views(self) -> None:
        """The arrow keys change slices from here (they scrolled the side panel); never taken from a clinical value
        being typed meanwhile."""
        focused = QApplication.focusWidget()
        if focused is None or not self.clinical_panel.isAncestorOf(focused):
            self.viewer.focus_first()

    def recompute(self) -> None:
        """Radiomics and nomogram again from the displayed (edited) mask and the clinical values."""
        self.rescore_if_possible(explicit=True)

    def rescore_if_possible(self, explicit: bool = False) -> bool:
        s = self.session
        if s.segmented is None:
            return False
        problem = s.clinical_blocker()
        if problem is not None:  # the risk on screen (if any) is withdrawn until the values are complete
            s.clinical_problem = problem
            s.events.prediction.emit()
            if explicit:
                self.errors.report(InputError(f"{problem} (Clinical values panel)"), "Risk update")
            return False
        if s.clinical_problem is not None:  # the values are fine now: a cancelled run must not leave the old text
            s.clinical_problem = None
            s.events.prediction.emit()
        if self.runner.busy:
            self._pending_rescore = True
            return False
        kwargs = dict(prediction=s.prediction, prepared=s.prepared, mask=s.current_mask(),
                      clinical=s.clinical_for_scoring(), edited=s.mask_changed, timings=s.segmented.timings,
                      automatic=s.segmented.mask)
        return self.start_job("rescore", lambda progress, cancelled: self.engine.rescore(
            **kwargs, progress=progress, cancelled=cancelled), self.session.set_prediction)

    def _on_clinical_edited(self) -> None:
        s = self.session
        s.set_clinical(self.clinical_panel.values())
        if s.risk_stale or (s.prediction is None and s.segmented is not None):
            self.rescore_if_possible()
        elif s.clinical_problem is not None and s.clinical_blocker() is None:  # back to the values of the risk
            s.clinical_problem = None
            s.events.prediction.emit()

    # -- export --------------------------------------------------------------------------------------
    def export(self, folder: str | Path | None = None) -> bool:
        s = self.session
        if self._busy():
            if self.runner.current == "rescore":  # e.g. for values typed a moment ago: exported once it is ready
                self._pending_export = (folder,)
                self.statusBar().showMessage("Export follows when the risk update finishes.", 8000)
            return False
        if s.prediction is None:
            self.errors.report(InputError("nothing to export yet: segment the patient and enter the clinical "
                                          "values first"), "Export")
            return False
        if s.risk_withdrawn:
            self.errors.report(InputError(f"no risk for the values entered: {s.clinical_problem}"), "Export")
            return False
        if s.risk_stale:
            self.errors.report(InputError("the mask or the clinical values changed since the risk was computed; "
                                          "press Recompute risk, then export"), "Export")
            return False
        folder = folder or self.ask_directory("Export results to a folder (outside the patient folder)")
        if not folder:
            return False
        prediction, inputs = s.prediction, [s.path]
        replace = self.may_replace_export(folder, prediction)
        copies = None if replace is None else self.may_export_beside_a_copy(folder, prediction)
        if copies is None:
            return False
        return self.start_job("export", lambda progress, cancelled: self.engine.export(
            prediction, folder, inputs, progress=progress, cancelled=cancelled, replace_other=replace, copies=copies),
            lambda paths: self._on_exported(paths, prediction))

    def _on_exported(self, paths: dict[str, Path], prediction=None) -> None:
        self.last_export = paths
        self._exported = weakref.ref(prediction) if prediction is not None else (lambda: None)
        self.statusBar().showMessage(f"Exported to {paths['result'].parent}", 15000)

    # -- menus' helpers ------------------------------------------------------------------------------
    def update_actions(self) -> None:
        sync_actions(self)

    def _refresh_backend(self) -> None:
        pipeline = self.engine.loaded_pipeline
        if pipeline is None:
            st = self.engine.settings
            self.backend_label.setText(f"Backend: {st.backend} (loads at the first run)")
            self.backend_label.setToolTip("")
            return
        if pipeline is not self._shown_pipeline:
            self._shown_pipeline = pipeline
            self.risk_panel.set_nomogram(pipeline.nomogram)
            crashed = [note for note in pipeline.backend_notes if CRASH_NOTE in note]
            if crashed:  # auto passed over a model that crashed its runtime (in a child process): say so
                log.warning("backend candidates passed over after a runtime crash: %s", crashed)
                self.statusBar().showMessage("Warning: " + "; ".join(crashed), 30000)
        d = pipeline.describe_backend()
        notes = d.get("notes") or []
        text = f"Backend: {d.get('backend')}"
        details = [str(d[k]) for k in ("model_file", "variant", "device") if d.get(k)]
        if d.get("threads"):
            details.append(f"{d['threads']} threads")
        text += f" ({', '.join(details)})" if details else ""
        if notes:  # auto skipped higher-priority runtimes: say so, the reasons are in the tooltip
            text += f"  ·  {plural(len(notes), 'other backend')} unavailable here (hover for why)"
        self.backend_label.setText(text)
        self.backend_label.setToolTip("\n".join([json.dumps({k: v for k, v in d.items() if k != "notes"}),
                                                 *notes]))

    # -- Qt events -----------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and not self.runner.busy:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.open_patient(urls[0].toLocalFile())

    def closeEvent(self, event) -> None:  # noqa: N802
        # set before the question: a risk update ending while it was open started the export waiting for it, whose
        # folder dialog then opened over the question
        self._closing, self._held, self._held_question = True, None, None
        if not self.may_discard_edits():
            self._closing = False
            event.ignore()
            if self._held_question is not None:  # a load that ended asking which series: ask now
                self._ask_roles(self._held_question)
            held, self._held, self._held_question = self._held, None, None
            if held is not None and not self.runner.busy:  # the window stays: what waited for that job starts now
                self._start_pending(*held)
            return
        self.runner.wait()
        self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        self.settings.sync()
        super().closeEvent(event)
