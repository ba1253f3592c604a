"""Qt-free parts of the desktop: viewer model geometry, mask editing, nomogram rows, clinical values, audit.

None of these tests needs a QApplication: the models must stay usable without Qt.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from desktop.mask_edit import MaskEditor, disc
from desktop.model import ORIENTATION, PLANE_AXES, ViewerModel, default_contrast
from desktop.nomogram_layout import nomogram_rows, thin_ticks
from desktop.session import normalize_clinical, tumor_centre
from inference.nomogram import Nomogram
from inference.volume import Volume
from tests.desktop.helpers import tiny_nomogram


def oblique_volumes(direction=(-1, 0, 0, 0, 1, 0, 0, 0, -1), spacing=(0.8, 0.6, 4.0)) -> dict[str, Volume]:
    """Three sequences on one grid whose x and z index axes run R->L... reversed (flipped direction)."""
    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray(rng.random((6, 10, 12)).astype(np.float32))  # z, y, x
    image.SetSpacing(spacing)
    image.SetOrigin((10.0, -20.0, 30.0))
    image.SetDirection(direction)
    vol = Volume.from_image(image)
    return {"cet1": vol, "t2": vol.with_array(vol.array * 2), "t1": vol.with_array(vol.array + 1)}


def test_model_positions_match_simpleitk():
    volumes = oblique_volumes()
    model = ViewerModel()
    model.set_volumes(volumes)
    image = volumes["cet1"].to_image()
    for point in [(0, 0, 0), (5, 9, 11), (2, 3, 4)]:
        xyz = model.index_xyz(point)
        assert model.physical_mm(point) == pytest.approx(image.TransformIndexToPhysicalPoint(xyz))
        # the displayed intensity is the file's voxel at that index
        assert model.intensity("cet1", point) == pytest.approx(volumes["cet1"].array[xyz[2], xyz[1], xyz[0]])


def test_model_display_orientation_is_lps():
    """Canonical axes increase towards S, P, L whatever the file's direction: radiological display."""
    model = ViewerModel()
    model.set_volumes(oblique_volumes())
    origin = np.array(model.physical_mm((0, 0, 0)))
    for axis, (physical, sign) in enumerate([(2, 1), (1, 1), (0, 1)]):  # S = +z, P = +y, L = +x in LPS
        step = [0, 0, 0]
        step[axis] = 1
        delta = np.array(model.physical_mm(tuple(step))) - origin
        assert np.sign(delta[physical]) == sign
        assert abs(delta[physical]) == pytest.approx(model.spacing[axis])
    assert model.spacing == pytest.approx((4.0, 0.6, 0.8))  # (S, P, L) from spacing (x, y, z)
    assert ORIENTATION["axial"] == ("R", "L", "A", "P")


def test_model_planes_cursor_and_contrast():
    model = ViewerModel()
    seen = []
    model.events.cursor.connect(lambda: seen.append(model.cursor))
    model.set_volumes(oblique_volumes())
    assert model.shape == (6, 10, 12)
    assert model.plane_slice("coronal").shape == (6, 12)  # rows S, columns L
    assert model.plane_spacing("coronal") == pytest.approx((4.0, 0.8))
    model.step_slice("axial", 100)
    assert model.cursor[0] == 5  # clamped to the last slice
    assert model.point_in_plane("axial", 2.5, 3.9) == (5, 2, 3)
    assert model.point_in_plane("axial", -1, 0) is None
    default = model.contrast["cet1"]
    model.drag_contrast("cet1", 50, -20)
    assert model.contrast["cet1"].window > default.window and model.contrast["cet1"].level > default.level
    model.reset_contrast("cet1")
    assert model.contrast["cet1"] == default
    assert seen, "cursor listeners were told"


def test_default_contrast_ignores_air_and_nan():
    array = np.zeros((4, 40, 40), np.float32)
    array[:, 10:30, 10:30] = np.linspace(100, 200, 400).reshape(20, 20)
    array[0, 0, 0] = np.nan
    c = default_contrast(array)
    lo, hi = c.levels
    assert 95 <= lo <= 110 and 190 <= hi <= 201


def test_mask_editor_brush_in_mm_with_undo_redo():
    mask = np.zeros((5, 40, 40), np.uint8)
    editor = MaskEditor(mask, spacing=(4.0, 0.5, 0.5))
    changes = []
    editor.changed.connect(lambda: changes.append(editor.in_stroke))
    editor.begin_stroke(1)
    editor.dab("axial", 2, (20.0, 20.0), radius_mm=2.0)  # 2 mm radius = 4 pixels of 0.5 mm
    editor.dab("axial", 2, (20.0, 22.0), radius_mm=2.0)
    editor.end_stroke()
    painted = int(mask.sum())
    one_disc = np.pi * 4 ** 2  # a 4-pixel radius
    assert mask[2].sum() == painted and one_disc < painted < 2 * one_disc  # two overlapping discs
    assert changes[-1] is False  # the end of a stroke is announced once, outside the stroke
    editor.begin_stroke(0)
    editor.dab("coronal", 20, (2.5, 20.5), radius_mm=1.0)  # erase on a coronal slice: one S row
    editor.end_stroke()
    assert 0 < mask.sum() < painted
    assert editor.undo() and mask.sum() == painted
    assert editor.undo() and mask.sum() == 0
    assert not editor.undo()
    assert editor.redo() and mask.sum() == painted
    editor.begin_stroke(1)
    editor.end_stroke()  # an empty stroke leaves no undo step and keeps redo
    assert editor.can_redo


def test_no_painting_on_a_hidden_mask():
    m = ViewerModel()
    m.set_overlay(visible=False)
    m.set_tool("paint")  # choosing a brush shows the mask
    assert m.overlay_visible and m.tool == "paint"
    m.set_overlay(visible=False)  # hiding it while painting stops painting
    assert m.tool == "navigate"
    m.set_tool("navigate")
    assert not m.overlay_visible  # looking without the mask stays possible


def test_disc_respects_anisotropic_pixels():
    inside = disc((21, 21), (2.0, 0.5), (10.5, 10.5), radius_mm=4.0)
    rows, cols = np.nonzero(inside)
    assert rows.max() - rows.min() == 4  # 4 mm across 2 mm rows: centre +- 2 rows
    assert cols.max() - cols.min() == 16  # 4 mm across 0.5 mm columns: centre +- 8 columns
    assert disc((3, 3), (1.0, 1.0), (1.5, 1.5), radius_mm=0.1).sum() == 1  # at least the pixel under it


def test_capsule_is_the_brush_dragged_along_a_segment():
    from desktop.mask_edit import capsule

    line = capsule((5, 40), (1.0, 1.0), (2.5, 3.5), (2.5, 33.5), radius_mm=1.0)
    assert line[2, 3:34].all() and line[1:4, 3:34].all() and not line[0].any() and not line[:, :2].any()
    assert np.array_equal(capsule((21, 21), (2.0, 0.5), (10.5, 10.5), (10.5, 10.5), 4.0),
                          disc((21, 21), (2.0, 0.5), (10.5, 10.5), 4.0))
    thin = capsule((10, 10), (1.0, 1.0), (0.5, 0.5), (9.5, 9.5), radius_mm=0.05)  # smaller than a pixel
    assert thin[np.arange(10), np.arange(10)].all()


def test_tumor_centre_lands_on_the_mask():
    mask = np.zeros((4, 10, 10), np.uint8)
    mask[1, 2:5, 2:5] = 1
    mask[3, 8, 8] = 1
    z, y, x = tumor_centre(mask, (0, 0, 0))
    assert mask[z, y, x] == 1
    assert tumor_centre(np.zeros_like(mask), (1, 2, 3)) == (1, 2, 3)


def test_plane_axes_cover_all_axes():
    for axes in PLANE_AXES.values():
        assert sorted(axes) == [0, 1, 2]


def test_nomogram_rows_place_the_patient():
    nomo = Nomogram(tiny_nomogram())
    features = {"original_shape_Sphericity": 0.75, "cet1_original_firstorder_Mean": 160.0,
                "t2_original_firstorder_Mean": 28.0}
    result = nomo.score(features, {"age": 70, "sex": "M", "ct_stage": "T2", "cn_status": 1, "doi_mm": 9})
    rows = nomogram_rows(nomo, result.points, result.total_points)
    assert [r.label for r in rows][0] == "Points" and rows[-2].label == "Total points"
    assert rows[-1].label == "Risk of LNM"
    by_label = {r.label: r for r in rows}
    assert by_label["MRI node status"].mark == pytest.approx(result.points["cn_status"])
    assert rows[-1].mark == pytest.approx(result.total_points * 100 / nomo.max_total_points)
    for row in rows:
        assert all(-1e-6 <= x <= 100 + 1e-6 for _, x in row.ticks)
    assert [t for t, _ in thin_ticks([("a", 0), ("b", 1), ("c", 9)], min_gap=4)] == ["a", "c"]
    assert all(r.mark is None for r in nomogram_rows(nomo, None, None))


def test_normalize_clinical_spellings():
    values = normalize_clinical({"age": "68", "sex": "m", "ct_stage": "cT2", "cn_status": "N+", "doi_mm": "auto",
                                 "synthetic": True, "smoker": "yes"})
    assert values == {"age": 68.0, "sex": "M", "ct_stage": "T2", "cn_status": 1, "doi_mm": "auto"}
    assert normalize_clinical({"sex": "X", "ct_stage": "T9", "cn_status": "maybe"}) == {}
    # the spellings the command line and CSVs read are read here too (cN1 and 1.0 were dropped, "male" was kept)
    assert normalize_clinical({"sex": "female", "ct_stage": 3, "cn_status": "cN1"}) == {"sex": "F", "ct_stage": "T3",
                                                                                      "cn_status": 1}
    assert normalize_clinical({"cn_status": 1.0, "sex": True}) == {"cn_status": 1}


def test_audit_log_appends_json_lines(tmp_path):
    from desktop.audit import AuditLog

    log = AuditLog(tmp_path / "sub" / "audit.jsonl")
    log.append({"event": "predict", "patient_id": "p1"})
    log.append({"event": "export", "patient_id": "p1"})
    lines = (tmp_path / "sub" / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["predict", "export"]
    entries = log.read()
    assert "patient_id" not in entries[1] and entries[0]["patient"] == entries[1]["patient"] == log.pseudonym("p1")
    assert (tmp_path / "sub" / "pseudonym.key").is_file()  # the GUI keeps its key beside its log
    assert log.verify().ok


def test_series_table_for_named_files(tmp_path):
    from desktop.series_table import describe_candidates, initial_choice

    vol = oblique_volumes()["cet1"]
    for name in ("cet1.nii.gz", "t1c.nii.gz", "t2.nii.gz", "t1.nii.gz", "mask.nii.gz"):
        sitk.WriteImage(vol.to_image(), str(tmp_path / name))
    (tmp_path / "notes.txt").write_text("not an image")
    rows = describe_candidates(tmp_path)
    assert [r.description for r in rows] == ["cet1.nii.gz", "t1.nii.gz", "t1c.nii.gz", "t2.nii.gz"]  # no mask
    row = rows[0]
    assert (row.size, row.images, row.guess) == ("12 x 10 x 6", 6, "cet1")
    assert row.spacing == "0.8 x 0.6 x 4 mm" and "file name" in row.reason
    # cet1.nii.gz and t1c.nii.gz could both be CE-T1: that one is the user's to choose
    assert initial_choice(rows) == {"cet1": None, "t2": str(tmp_path / "t2.nii.gz"), "t1": str(tmp_path / "t1.nii.gz")}


def test_series_table_for_dicom():
    from desktop.series_table import describe_candidates
    from inference.assets import ASSETS

    rows = describe_candidates(ASSETS / "sample_patient_dicom")
    assert len(rows) == 3
    guesses = {r.guess for r in rows}
    assert guesses == {"cet1", "t2", "t1"}
    cet1 = next(r for r in rows if r.guess == "cet1")
    assert "contrast" in cet1.reason.lower() or "gadoterate" in cet1.reason.lower()
    assert cet1.images == 20 and cet1.spacing.endswith("mm")


def test_models_import_no_qt():
    """The models stay Qt-free (napari's split): importing them loads neither PySide6 nor pyqtgraph."""
    import subprocess
    import sys

    modules = ["events", "model", "mask_edit", "session", "engine", "audit", "series_table", "nomogram_layout"]
    code = ("import sys\n" + "".join(f"import desktop.{m}\n" for m in modules)
            + "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph', 'tensorflow'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "[]", proc.stderr
