"""The open patient, its segmentation, prediction and clinical values (Qt-free).

Events: ``patient`` (a patient was loaded or closed), ``segmentation`` (a new automatic mask),
``prediction`` (a risk was computed, or cleared), ``clinical`` (values changed), ``mask_edit`` (the mask was
painted/erased/undone; measures and the stale flag changed), ``editing`` (mask edits were locked or unlocked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from desktop.engine import Loaded, Segmented, clinical_complete, clinical_problem
from desktop.events import Events
from desktop.mask_edit import MaskEditor
from desktop.model import ViewerModel
from inference.measure import TumorMeasures, measure_mask
from inference.nomogram import CLINICAL, ClinicalValueError, canonical_value
from inference.pipeline import Prediction


def normalize_clinical(values: dict[str, Any]) -> dict[str, Any]:
    """clinical.json / CSV spellings -> the panel's: sex M/F, ct_stage T1-3, cn_status 0/1, numbers."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in CLINICAL or value in (None, ""):
            continue
        text = str(value).strip().upper()
        if key in ("sex", "ct_stage", "cn_status"):  # the spellings the command line and CSVs read, too
            try:
                out[key] = canonical_value(key, value)
            except ClinicalValueError:
                out[key] = None  # the field stays empty and the risk panel asks for it
        elif key == "doi_mm" and text == "AUTO":
            out[key] = "auto"
        else:
            try:
                out[key] = float(value)
            except (TypeError, ValueError):
                out[key] = None
    return {k: v for k, v in out.items() if v is not None}


class Session:
    def __init__(self, viewer: ViewerModel) -> None:
        self.viewer = viewer
        self.events = Events("patient", "segmentation", "prediction", "clinical", "mask_edit", "editing")
        self.path: Path | None = None
        self.prepared = None
        self.segmented: Segmented | None = None
        self.prediction: Prediction | None = None
        self.editor: MaskEditor | None = None
        self.clinical: dict[str, Any] = {}
        self.loaded_clinical: dict[str, Any] = {}  # as the patient folder gave them (plus the DOI default)
        self.measures: TumorMeasures | None = None
        self.clinical_problem: str | None = None
        self.warnings: list[str] = []
        #: a job that replaces the mask (segment, load) runs: edits made now would be thrown away when it ends
        self.editing_locked = False

    # -- state ---------------------------------------------------------------------------------------
    @property
    def patient_id(self) -> str | None:
        return None if self.prepared is None else self.prepared.patient.patient_id

    @property
    def base_mask(self):
        """The mask the current risk was computed from (or the automatic one when there is no risk)."""
        if self.prediction is not None:
            return self.prediction.mask
        return None if self.segmented is None else self.segmented.mask

    @property
    def can_edit(self) -> bool:
        """There is a mask to paint and no job is about to replace it."""
        return self.editor is not None and not self.editing_locked

    def lock_editing(self, locked: bool) -> None:
        """Refuse mask edits (paint, erase, undo, redo) while a job that replaces the mask runs, and accept them
        again after it; a mask the job brings is locked or not as the session is."""
        self.editing_locked = bool(locked)
        if self.editor is not None:
            self.editor.set_locked(self.editing_locked)
        self.events.editing.emit()

    @property
    def mask_changed(self) -> bool:
        """The displayed mask differs from the one the risk was computed from (Recompute is needed)."""
        base = self.base_mask
        if base is None or self.viewer.mask is None:
            return False
        return not np.array_equal(self.viewer.from_canonical(self.viewer.mask), base.array > 0)

    @property
    def edited(self) -> bool:
        """The mask differs from the model's automatic mask (recorded in the result)."""
        return bool(self.prediction is not None and self.prediction.edited) or self.mask_changed

    @property
    def risk_stale(self) -> bool:
        return self.prediction is not None and (self.mask_changed or self.clinical_changed)

    @property
    def clinical_changed(self) -> bool:
        """The clinical values on screen are not those the risk on screen was computed from."""
        return self.prediction is not None and self.clinical_for_scoring() != _comparable(self.prediction)

    def current_mask(self):
        """The displayed (possibly edited) mask as a Volume on the CE-T1 grid."""
        return self.viewer.mask_volume(self.segmented.mask)

    def clinical_for_scoring(self) -> dict[str, Any]:
        return _scoring(self.clinical)

    @property
    def clinical_edited(self) -> bool:
        """The user changed the clinical values the patient folder gave (or typed ones it lacked)."""
        return self.prepared is not None and _scoring(self.clinical) != _scoring(self.loaded_clinical)

    def missing_clinical(self) -> list[str]:
        return clinical_complete(self.clinical)

    def clinical_blocker(self) -> str | None:
        """Why the current values cannot give a risk (missing or implausible), or None."""
        return clinical_problem(self.clinical)

    @property
    def risk_withdrawn(self) -> bool:
        """A risk is on record but the values now entered cannot give one: the old risk must not be shown."""
        return self.prediction is not None and self.clinical_problem is not None and self.risk_stale

    # -- transitions (called on the GUI thread with job results) --------------------------------------
    def set_loaded(self, loaded: Loaded) -> None:
        self.path, self.prepared = loaded.path, loaded.prepared
        self.segmented = self.prediction = self.editor = self.measures = None
        self.clinical_problem = None
        # no measured DOI: the mask-based estimate is the suggestion (labelled ESTIMATED when used)
        self.clinical = {"doi_mm": "auto", **normalize_clinical(loaded.clinical)}
        self.loaded_clinical = dict(self.clinical)
        self.warnings = list(loaded.warnings) + list(loaded.prepared.warnings)
        self.viewer.set_volumes(loaded.prepared.volumes)
        self.viewer.set_tool("navigate")  # the first click on a new patient must not paint
        self.events.patient.emit()
        self.events.clinical.emit()
        self.events.prediction.emit()

    def clear(self) -> None:
        """Close the patient: drop its volumes, masks, prediction and clinical values (frees their memory)."""
        if self.editor is not None:
            self.editor.changed.disconnect(self._on_edit)
        self.path = self.prepared = self.segmented = self.prediction = self.editor = self.measures = None
        self.clinical, self.loaded_clinical, self.clinical_problem, self.warnings = {}, {}, None, []
        self.viewer.clear()
        self.events.patient.emit()
        self.events.segmentation.emit()
        self.events.clinical.emit()
        self.events.prediction.emit()
        self.events.mask_edit.emit()

    def set_segmented(self, segmented: Segmented) -> None:
        self.segmented = segmented
        self.viewer.set_mask(segmented.mask)
        self.editor = MaskEditor(self.viewer.mask, self.viewer.spacing)
        self.editor.set_locked(self.editing_locked)
        self.editor.changed.connect(self._on_edit)
        self.measures = segmented.measures
        self.clinical_problem = segmented.clinical_problem
        self.viewer.set_cursor(tumor_centre(self.viewer.mask, self.viewer.cursor))
        self.events.segmentation.emit()
        self.set_prediction(segmented.prediction)

    def set_prediction(self, prediction: Prediction | None) -> None:
        if prediction is not None and prediction.prepared is not self.prepared:  # a job of a patient since closed
            return
        self.prediction = prediction
        if prediction is not None:
            self.clinical_problem = None
            self.measures = measure_mask(self.current_mask()) if self.mask_changed else prediction.measures
            if prediction.doi_estimated:  # keep "auto" as the user's choice, not the number it became
                self.clinical = {**self.clinical, "doi_mm": "auto"}
        self.events.prediction.emit()
        self.events.mask_edit.emit()

    def set_clinical(self, values: dict[str, Any]) -> None:
        values = {k: v for k, v in values.items() if v not in (None, "")}
        if values != self.clinical:
            self.clinical = values
            self.events.clinical.emit()

    def _on_edit(self) -> None:
        self.viewer.events.mask.emit()
        if not self.editor.in_stroke:  # measure at the end of a stroke, not on every dab
            self.update_measures()

    def update_measures(self) -> None:
        if self.segmented is not None:
            self.measures = measure_mask(self.current_mask())
        self.events.mask_edit.emit()


def tumor_centre(mask: np.ndarray, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """The mask voxel nearest the mask's centre of mass (so the crosshair lands on tumor), else ``default``."""
    points = np.argwhere(mask > 0)
    if points.size == 0:
        return default
    nearest = points[np.argmin(((points - points.mean(axis=0)) ** 2).sum(axis=1))]
    return tuple(int(v) for v in nearest)


def _scoring(clinical: dict[str, Any]) -> dict[str, Any]:
    """The values the nomogram reads, without empty fields."""
    return {k: clinical[k] for k in CLINICAL if clinical.get(k) not in (None, "")}


def _comparable(prediction: Prediction) -> dict[str, Any]:
    """The prediction's clinical values as the panel spells them (an estimated DOI stays "auto")."""
    used = normalize_clinical(prediction.clinical)
    if prediction.doi_estimated:
        used["doi_mm"] = "auto"
    return used
