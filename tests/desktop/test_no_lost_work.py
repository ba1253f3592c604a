"""The GUI loses no work and shows nothing stale (the review of 2026-11-30): outputs never land in the patient
folder, results of other images are not replaced without asking, values typed a moment ago count, an edited mask
is not re-segmented away, a stale risk is struck through, error boxes do not pile up, the roles can be corrected."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from inference.assets import SAMPLE_PATIENT
from inference.errors import OutputError, UnreadableFileError
from tests.desktop.conftest import wait_job


def test_export_to_the_folder_holding_the_patient_is_refused(segmented, tmp_path):
    """There, out/<patient id> is the patient folder itself: its reference mask.nii.gz used to be replaced. The
    engine is given a copy of the patient as the input, so a regression cannot write into the repository."""
    w = segmented
    patient = tmp_path / w.session.patient_id
    shutil.copytree(SAMPLE_PATIENT, patient)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in patient.iterdir())
    with pytest.raises(OutputError, match="which is the input folder"):
        w.engine.export(w.session.prediction, tmp_path, [patient], progress=lambda *a: None,
                        cancelled=lambda: False)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in patient.iterdir()) == before


def test_a_new_error_replaces_an_open_box_and_names_the_earlier_one(window):
    from desktop.errors import ErrorSink

    sink = ErrorSink(window)
    sink.report(UnreadableFileError("cet1.nii.gz: truncated"), "Loading the patient")
    first = sink.box
    sink.report(OSError("disk full"), "Exporting")
    assert not first.isVisible() and sink.box.isVisible()  # one box on screen, not a pile
    assert sink.box.windowTitle() == "Exporting failed" and "disk full" in sink.box.text()
    text = sink.box.text()
    assert "Earlier, not yet dismissed" in text and "Loading the patient failed: cet1.nii.gz" in text
    sink.box.close()  # dismissed: the next box starts afresh
    sink.report(OSError("again"), "Exporting")
    assert "Earlier" not in sink.box.text()
    sink.box.close()


def test_values_typed_a_moment_ago_are_not_lost_or_exported_stale(segmented, tmp_path):
    """The panel applies typed values after a short pause: an export or a close within it used the values from
    before the last keystrokes (the report said DOI 7.8 while the field showed 15), and a close asked nothing."""
    w, s = segmented, segmented.session
    w.ask_directory = lambda title: str(tmp_path / "out")
    asked: list[str] = []
    w.confirm_discard = lambda message: asked.append(message) or False
    age = s.prediction.clinical["age"]
    try:
        w.clinical_panel.set_values({"age": age + 9})  # typed; the pause has not passed yet
        # applied at once, which starts the risk for them: closing waits for it (a close answered "Discard" while
        # it ran used to get the closed patient's risk back into the empty window when it finished)
        assert not w.close_patient() and w.runner.current == "rescore" and not asked
        # not with the old values either: the export waits for their risk and then starts by itself (it used to
        # say "Busy" and had to be pressed again)
        assert not w.export() and "Export follows" in w.statusBar().currentMessage()
        assert wait_job(w) == ("rescore", "finished"), w.presenter.reports
        assert s.prediction.clinical["age"] == age + 9
        assert w.runner.current == "export" and wait_job(w) == ("export", "finished"), w.presenter.reports
        result = json.loads((tmp_path / "out" / s.patient_id / "result.json").read_text())
        assert result["clinical"]["age"] == age + 9
        w.clinical_panel.set_values({"age": age + 10})
        assert not w.close_patient() and wait_job(w) == ("rescore", "finished") and not asked
        assert not w.close_patient() and "clinical values" in asked[-1]  # asked now; Cancel keeps them
    finally:
        w.confirm_discard = lambda message: True
        w.clinical_panel.set_values({"age": age})
        w.clinical_panel.flush()
        if w.runner.busy:
            wait_job(w)


def test_an_export_waiting_for_a_failed_risk_update_is_dropped(segmented, tmp_path, monkeypatch):
    w, s = segmented, segmented.session
    age = s.prediction.clinical["age"]
    w.ask_directory = lambda title: pytest.fail("no export after a failed risk update")

    def fail(**kwargs):
        raise OSError("radiomics crashed")

    monkeypatch.setattr(w.engine, "rescore", fail)
    w.presenter.reports.clear()
    w.clinical_panel.set_values({"age": age + 1})
    assert not w.export() and wait_job(w) == ("rescore", "failed") and not w.runner.busy
    assert "Export not started: the risk update failed" in w.statusBar().currentMessage()
    assert w._pending_export is None and w.presenter.reports
    monkeypatch.undo()
    w.clinical_panel.set_values({"age": age})
    w.clinical_panel.flush()
    if w.runner.busy:
        wait_job(w)
    w.ask_directory = lambda title: None


def test_an_export_waiting_for_a_risk_update_is_cancelled_with_it(segmented):
    w, s = segmented, segmented.session
    age = s.prediction.clinical["age"]
    w.ask_directory = lambda title: pytest.fail("no export after Cancel")
    w.clinical_panel.set_values({"age": age + 2})
    assert not w.export() and w._pending_export is not None
    w.cancel()
    assert w._pending_export is None
    assert wait_job(w)[0] == "rescore" and not w.runner.busy
    assert w.statusBar().currentMessage() == "Export cancelled."  # said when the job ended, not cleared by it
    w.clinical_panel.set_values({"age": age})
    w.clinical_panel.flush()
    if w.runner.busy:
        wait_job(w)
    w.ask_directory = lambda title: None


def test_an_export_over_results_of_other_images_asks_first(segmented, tmp_path):
    w, s = segmented, segmented.session
    target = tmp_path / "out" / s.patient_id
    target.mkdir(parents=True)
    other = {"patient_id": s.patient_id, "probability": 0.72, "input_sha256": {"cet1": "another patient"}}
    (target / "result.json").write_text(json.dumps(other))
    asked: list[str] = []
    w.confirm_replace = lambda message: asked.append(message) or False  # Cancel
    assert not w.export(tmp_path / "out") and not w.runner.busy
    assert "OTHER images (risk 72%" in asked[0]
    assert json.loads((target / "result.json").read_text()) == other and sorted(target.iterdir()) == [
        target / "result.json"]
    w.confirm_replace = lambda message: asked.append(message) or True  # Replace them
    assert w.export(tmp_path / "out") and wait_job(w) == ("export", "finished"), w.presenter.reports
    assert json.loads((target / "result.json").read_text())["input_sha256"] == s.prediction.provenance["input_sha256"]
    assert w.export(tmp_path / "out") and wait_job(w) == ("export", "finished")  # its own results: no question
    assert len(asked) == 2


def test_an_export_beside_another_ids_results_of_the_same_cet1_asks_and_carries_the_warning(segmented, tmp_path):
    """otscc predict warns when OUT holds another patient id's results of the same CE-T1; the GUI exported silently."""
    w, s = segmented, segmented.session
    out = tmp_path / "out"
    (out / "P-OTHER").mkdir(parents=True)
    earlier = {"patient_id": "P-OTHER", "input_sha256": {"cet1": s.prediction.provenance["input_sha256"]["cet1"]}}
    (out / "P-OTHER" / "result.json").write_text(json.dumps(earlier))
    asked: list[str] = []
    w.confirm_copy_export = lambda message: asked.append(message) or False  # Cancel
    assert not w.export(out) and not w.runner.busy and not (out / s.patient_id).exists()
    assert asked[0].startswith("This patient's CE-T1 is identical, voxel for voxel, to that of the results of "
                               f"'P-OTHER' already in {out}") and asked[0].endswith("Export anyway? (The result will "
                                                                                    "carry this warning.)")
    w.confirm_copy_export = lambda message: asked.append(message) or True  # Export anyway
    assert w.export(out) and wait_job(w) == ("export", "finished"), w.presenter.reports
    warnings = json.loads((out / s.patient_id / "result.json").read_text())["warnings"]
    assert sum("identical, voxel for voxel, to that of the results of 'P-OTHER'" in x for x in warnings) == 1
    assert not any("P-OTHER" in x for x in s.prediction.warnings)  # the session's prediction is not changed
    (out / "P-OTHER" / "result.json").unlink()
    assert w.export(out) and wait_job(w) == ("export", "finished") and len(asked) == 2  # nothing to ask now


def test_a_risk_that_no_longer_fits_the_mask_is_struck_through(segmented, qtbot):
    """After an edit the old risk stayed on screen at full size, with a small note as the only sign."""
    w, m, editor = segmented, segmented.model, segmented.session.editor
    assert "OUT OF DATE" not in w.risk_panel.headline.text()
    w.model.set_overlay(visible=False)
    w.actions["erase"].trigger()
    assert m.overlay_visible  # a brush on a hidden mask painted where nobody could see
    z = int(np.argmax(editor.mask.sum(axis=(1, 2))))
    rows, cols = np.nonzero(editor.mask[z])
    editor.begin_stroke(0)  # what a click of the eraser on the tumor does
    assert editor.dab("axial", z, (float(rows[0]), float(cols[0])), 3.0) > 0
    editor.end_stroke()
    try:
        assert w.session.risk_stale
        headline = w.risk_panel.headline.text()
        assert "OUT OF DATE" in headline and "<s>" in headline and "color:#999" in headline
    finally:
        w.actions["undo"].trigger()
        w.actions["navigate"].trigger()
    assert not w.session.risk_stale and "OUT OF DATE" not in w.risk_panel.headline.text()


def test_a_long_series_description_does_not_push_the_guess_out_of_the_roles_dialog(window):
    from desktop.dialogs import DESCRIPTION_WIDTH, RolesDialog
    from desktop.series_table import SeriesRow

    long = "AX T1 FS POST GD " + "MULTIPHASE DYNAMIC 3D VIBE RECONSTRUCTION " * 3
    rows = [SeriesRow(f"uid{i}", f"#{i} {long}", "256 x 256 x 20", "0.8 x 0.8 x 4 mm", 20, "cet1", "description")
            for i in (5, 6)]
    dialog = RolesDialog("2 series could be CE-T1", rows, window)
    header = dialog.table.horizontalHeader()
    assert header.sectionSize(0) == DESCRIPTION_WIDTH and dialog.table.item(0, 0).toolTip().endswith("TION ")
    shown = sum(header.sectionSize(c) for c in range(5))  # description ... automatic guess
    assert shown < dialog.width()
    dialog.close()


def test_an_automatic_sequence_choice_can_be_changed(window, tmp_path):
    """The roles dialog only came up when the roles were ambiguous: a wrong automatic choice could not be fixed."""
    folder = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, folder)
    assert not window.actions["choose_sequences"].isEnabled()  # no patient yet
    window.open_patient(folder)
    assert wait_job(window) == ("load", "finished") and window.roles_dialog is None
    assert window.actions["choose_sequences"].isEnabled() and window.choose_sequences()
    assert window.runner.current == "series" and window.roles_dialog is None  # headers read off the GUI thread
    assert wait_job(window) == ("series", "finished"), window.presenter.reports
    dialog = window.roles_dialog
    assert "as used now" in dialog.intro.text()
    assert {r: c.currentData() for r, c in dialog.combos.items()} == {
        role: str(folder / f"{role}.nii.gz") for role in ("cet1", "t2", "t1")}
    dialog.choose("t2", str(folder / "t1.nii.gz"))
    dialog.choose("t1", str(folder / "t2.nii.gz"))  # the user says the two were swapped
    dialog.accept()
    assert wait_job(window) == ("load", "finished"), window.presenter.reports
    roles = window.session.prepared.patient.roles
    assert roles["t2"].label.endswith("t1.nii.gz") and "override" in roles["t2"].reason


def test_a_risk_computed_for_a_closed_patient_is_not_shown(segmented):
    s = segmented.session
    stale = s.prediction
    shown = s.prediction
    s.prepared = object()  # what another patient opened meanwhile looks like to the session
    try:
        s.set_prediction(stale)  # the late result of a job started for the previous patient
        assert s.prediction is shown
        s.prediction = None
        s.set_prediction(stale)
        assert s.prediction is None
    finally:
        s.prepared = stale.prepared
        s.set_prediction(shown)
    assert s.prediction is shown


def test_a_mask_stroke_after_an_export_does_not_call_the_exported_clinical_values_unexported(qapp, tmp_path, factory,
                                                                                             qtbot):
    """Exported with typed clinical values, then one more stroke: the close question named 'the tumor mask and the
    clinical values', although the values it named were in the export."""
    from tests.desktop.conftest import close_window, make_window
    from tests.desktop.helpers import paint_beside_the_tumor

    w = make_window(tmp_path / "userdata", factory)
    try:
        assert w.open_patient(SAMPLE_PATIENT) and wait_job(w) == ("load", "finished")
        w.clinical_panel.set_values({"cn_status": 1})
        w.clinical_panel._timer.timeout.emit()
        w.segment()
        assert wait_job(w) == ("segment", "finished"), w.presenter.reports
        w.ask_directory = lambda title: str(tmp_path / "out")
        assert w.export() and wait_job(w) == ("export", "finished"), w.presenter.reports
        assert w.unexported_edits() == []
        paint_beside_the_tumor(w, qtbot)
        assert w.session.mask_changed and w.unexported_edits() == ["tumor mask"]
        age = int(w.clinical_panel.values()["age"])
        w.clinical_panel.set_values({"age": age + 5})  # a value changed after the export: that one is unexported
        w.clinical_panel._timer.timeout.emit()
        assert w.unexported_edits() == ["tumor mask", "clinical values"]
    finally:
        w.confirm_discard = lambda message: True
        close_window(w)
