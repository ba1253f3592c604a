"""One-page PDF report of a prediction (``inference.pdf``: vector, the PDF standard fonts; no Qt, no network).

Contents: the synthetic-training disclaimer, the result (risk, tumor measures, clinical values used with
estimated ones marked), CE-T1 and T2 slices with the mask contour, the nomogram drawn with the patient's
points, and a model summary (test figures from the model's evaluation file, hashes, backend, timings).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inference.atomic import atomic_path
from inference.measure import DOI_MAE_MM
from inference.nomogram import (
    BORDERLINE_MARGIN,
    CATEGORIES,
    LABELS,
    Nomogram,
    format_risk,
    risk_group_boundaries,
    risk_groups_text,
)
from inference.pdf import Page, cut, mask_outline, shown_exactly, split_to_width, text_width, wrap, write_pdf
from inference.preprocess import canonical_axes, to_canonical
from inference.roles import ROLE_LABELS
from inference.wording import plural


def _canonical(volume) -> np.ndarray:
    perm, flips, _ = canonical_axes(volume.geometry)
    return to_canonical(volume.array, perm, flips)


def _best_slice(mask: np.ndarray) -> int:
    area = mask.reshape(mask.shape[0], -1).sum(axis=1)
    return int(np.argmax(area)) if area.max() > 0 else mask.shape[0] // 2


def _zoom_box(mask2d: np.ndarray, margin: int = 24) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask2d)
    if len(ys) == 0:
        return slice(None), slice(None)
    half = int(max(np.ptp(ys), np.ptp(xs))) // 2 + margin
    cy, cx = int(ys.mean()), int(xs.mean())
    return (slice(max(0, cy - half), cy + half), slice(max(0, cx - half), cx + half))


def _window(image: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(image, (1, 99.5))
    return float(lo), float(max(hi, lo + 1e-6))


def _model_summary(model_dir: Path) -> str:
    try:
        summary = json.loads((model_dir / "eval_test.json").read_text())["summary"]
        dice = summary.get("dice", summary.get("all", {}).get("dice"))
        dice = dice.get("mean") if isinstance(dice, dict) else dice
        return f"test Dice {dice:.3f} on held-out SYNTHETIC patients" if dice is not None else ""
    except (OSError, KeyError, TypeError, ValueError):
        return "no evaluation file found"


MARGIN = 30.0
RED = "#d01010"
BEYOND = "#e07000"  # a patient dot held at the end of the fitted range its value lies outside


def _grayscale(image: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (np.clip((image.astype(np.float32) - lo) / (hi - lo), 0, 1) * 255).round().astype(np.uint8)


def _draw_images(page: Page, top: float, prediction) -> float:
    """CE-T1 at the slice with the largest tumor area, then CE-T1, T2 and T1 zoomed on the tumor, with the
    mask's voxel outline in red. Returns the y below the panels."""
    volumes = {role: _canonical(prediction.prepared.volumes[role]) for role in ("cet1", "t2", "t1")}
    mask = _canonical(prediction.mask) > 0
    spacing = prediction.prepared.volumes["cet1"].geometry.spacing
    perm, _, _ = canonical_axes(prediction.prepared.volumes["cet1"].geometry)
    sp_zyx = [spacing[2 - a] for a in perm]
    aspect = sp_zyx[1] / sp_zyx[2]  # displayed height of a row / width of a column
    z = _best_slice(mask)
    zoom = _zoom_box(mask[z])
    panels = [("CE-T1", "cet1", (slice(None), slice(None))), ("CE-T1 (zoom)", "cet1", zoom),
              ("T2 (zoom)", "t2", zoom), ("T1 (zoom)", "t1", zoom)]
    gap, max_h = 8.0, 150.0
    width = (page.width - 2 * MARGIN - 3 * gap) / 4
    bottom = top
    for i, (title, role, box) in enumerate(panels):
        vol = volumes[role]
        image, outline = vol[z][box], mask[z][box]
        rows, cols = image.shape
        w = width
        h = w * rows * aspect / cols
        if h > max_h:
            w, h = w * max_h / h, max_h
        x = MARGIN + i * (width + gap) + (width - w) / 2
        y = top + 12
        page.text(MARGIN + i * (width + gap) + width / 2, top + 7, f"{title}, slice {z + 1}/{vol.shape[0]}", 7,
                  align="center")
        page.image(x, y, w, h, _grayscale(image, *_window(vol)))
        sx, sy = w / cols, h / rows
        page.lines([(x + c0 * sx, y + r0 * sy, x + c1 * sx, y + r1 * sy) for c0, r0, c1, r1 in mask_outline(outline)],
                   width=0.6, color="#ff3030")
        for text, tx, ty, align, valign in (("R", x + 2, y + h / 2, "left", "center"),
                                            ("L", x + w - 2, y + h / 2, "right", "center"),
                                            ("A", x + w / 2, y + 2, "center", "top")):
            page.text(tx, ty, text, 7, color="#ffff00", align=align, valign=valign)
        bottom = max(bottom, y + h)
    return bottom


def draw_nomogram(page: Page, box: tuple[float, float, float, float], nomogram: Nomogram,
                  points: dict[str, float] | None, total: float | None) -> None:
    """Draw the nomogram's axes in ``box`` (x, y, width, height) with the patient's points as red dots."""
    axes = nomogram.axes()
    rows = [("Points", [(f"{p:g}", p) for p in range(0, 101, 10)])] + [(a.label, a.ticks) for a in axes]
    max_total = nomogram.max_total_points
    total_ticks = [(label, t * 100 / max_total) for label, t in nomogram.total_ticks()]
    rows += [("Total points", total_ticks),
             ("Risk of LNM", [(lab, t * 100 / max_total) for lab, t in nomogram.probability_ticks()])]
    # (x, held): a variable's dot is held at the end of its fitted range when the value lies beyond it
    patient = [None] + [nomogram.mark_position(a.variable, points[a.variable]) if points and a.variable in points
                        else None for a in axes]
    patient += [None if total is None else (total * 100 / max_total, False)] * 2
    bx, by, bw, bh = box
    label_w = 0.26 * bw  # room for the axis names left of the 0-100 points scale
    x_of = lambda p: bx + label_w + (p / 100) * (bw - label_w - 10)  # noqa: E731
    step = bh / len(rows)
    for r, ((label, ticks), mark) in enumerate(zip(rows, patient, strict=True)):
        y = by + (r + 0.75) * step
        xs = [t[1] for t in ticks]
        segments = [(x_of(min(xs)), y, x_of(max(xs)), y)] if xs else []
        shown = -1e9
        for text, p in sorted(ticks, key=lambda t: t[1]):
            if not text:  # the end of a fitted range: a mark, no label
                segments.append((x_of(p), y, x_of(p), y - 2))
                continue
            if p - shown < 4:  # keep labels of short axes from overlapping
                continue
            shown = p
            segments.append((x_of(p), y, x_of(p), y - 3.5))
            page.text(x_of(p), y - 5, text, 5.5, align="center")
        page.lines(segments, width=0.6)
        page.text(bx + label_w - 8, y, label, 6.5, align="right", valign="center")
        if mark is not None:  # a value outside the fitted range: held at its end, in orange (the warning says why)
            x, held = mark
            page.dot(x_of(x), y, 2.2, color=BEYOND if held else RED)


#: under the title when the patient id has characters the PDF's standard fonts lack (``inference.pdf.encode``)
NOT_SHOWN_EXACTLY = ("The patient id has characters this PDF's fonts cannot show (written without their accents, or "
                     "as \\uXXXX codes); result.json holds it exactly.")

#: at most this many lines of warnings under the risk (more push the nomogram off the page); the rest are counted
WARNING_LINES = 9


#: the smallest title (pt): a patient id too long for one line at it is cut in the title and printed whole under it
TITLE_MIN_SIZE = 8.0


def _draw_title(page: Page, patient_id: str, room: float, inner: float) -> float:
    """The title in ``room`` points, shrunk down to ``TITLE_MIN_SIZE``; an id longer than that allows is cut in the
    title and printed whole, broken between characters, in the lines under it (a 300-character folder name drew the
    title off the page). Returns where the page continues below it."""
    title = f"otscc-edge report: patient {patient_id}"
    size = min(13.0, 13 * room / text_width(title, 13, bold=True))
    if size >= TITLE_MIN_SIZE:
        page.text(MARGIN, 38, title, size, bold=True)
        return 50.0
    page.text(MARGIN, 38, cut(title, room, TITLE_MIN_SIZE, bold=True), TITLE_MIN_SIZE, bold=True)
    y = 44.0
    for line in split_to_width(f"Patient id in full: {patient_id}", inner, 6):
        page.text(MARGIN, y, line, 6, valign="top")
        y += 7.5
    return y + 5


def inputs_text(r: dict) -> str:
    """'CE-T1 cet1.nii.gz; T2 t2.nii.gz, registered (shift 1.6 mm, turn 0.4 deg); T1 ...' from result.json's
    ``sequences`` and ``registration``: which input became each sequence, and what registration did to it."""
    parts = []
    for role, seq in r.get("sequences", {}).items():
        text = f"{ROLE_LABELS.get(role, role)} {seq['source']}"
        reg = r.get("registration", {}).get(role)
        if role == "cet1":
            text += " (the reference grid)"
        elif reg is not None and reg.get("skipped"):
            text += f", not registered ({reg.get('reason') or 'skipped'})"
        elif reg is not None:
            shift = sum(t * t for t in reg["translation_mm"]) ** 0.5
            turn = max(abs(a) for a in reg["rotation_deg"])
            text += f", registered (shift {shift:.1f} mm, turn {turn:.1f} deg)"
        parts.append(text)
    return "; ".join(parts)


def build_page(prediction, *, nomogram: Nomogram, model_dir: Path) -> Page:
    """The report page (not saved; ``write_report`` saves it).

    Every text on it comes from ``prediction.to_json()`` (the patient is named by ``patient_id`` only)
    and the model folder's evaluation file: no header text of the inputs (docs/privacy.md).
    """
    from inference.pipeline import DISCLAIMER, restated_warning

    page = Page()
    r = prediction.to_json()
    inner = page.width - 2 * MARGIN
    room = inner
    if r.get("computed_at"):  # when this result was computed (the same instant as in result.json)
        when = r["computed_at"]
        computed = f"computed {when[:10]} {when[11:16]} (UTC{when[19:] or ''})"
        page.text(page.width - MARGIN, 38, computed, 7, align="right")
        room -= text_width(computed, 7) + 12
    top = _draw_title(page, r["patient_id"], room, inner)
    if not shown_exactly(r["patient_id"]):  # say so: two Cyrillic names of one length were both "patient ??????"
        page.text(MARGIN, top, NOT_SHOWN_EXACTLY, 7, bold=True, color="#a00000", valign="top")
        top += 12
    disclaimer = wrap(DISCLAIMER, inner - 12, 7.5)
    box_h = 9.5 * len(disclaimer) + 8
    page.rect(MARGIN, top, inner, box_h, fill="#fff0f0", stroke="#a00000", width=0.8)
    for i, line in enumerate(disclaimer):
        page.text(MARGIN + 6, top + 4 + 9.5 * i, line, 7.5, color="#a00000", valign="top")
    y = top + box_h + 20
    groups = r.get("risk_groups") or nomogram.data["risk_groups"]
    if r["status"] == "ok":
        near = f", BORDERLINE: near {r['borderline']['boundary']:.0%}" if r["borderline"] else ""
        flag = "; see the warnings below" if any(not w.startswith("BORDERLINE") for w in r["warnings"]) else ""
        shown = format_risk(r["probability"], risk_group_boundaries(groups))
        risk = f"Risk of cervical lymph-node metastasis: {shown} ({r['risk_group']} risk{near}){flag}"
    else:
        risk = "No tumor found by the model: no radiomics and no risk are reported."
    page.text(MARGIN, y, risk, 11, bold=True)
    tumor = r["tumor"]
    c = r["clinical"]
    lines = [f"Risk groups: {risk_groups_text(groups)}; BORDERLINE: within {BORDERLINE_MARGIN * 100:g} percentage "
             "points of a cut-off, where the model variants were measured to differ, so either group is possible"]
    if r["doi_mm_estimated"]:
        doi = (f"{_number(c.get('doi_mm'))} mm, ESTIMATED from the mask (mean error {DOI_MAE_MM} mm on synthetic "
               "phantoms), used by the nomogram")
        mask_doi = ""
    else:
        doi = f"{_number(c.get('doi_mm'))} mm as given, used by the nomogram"
        mask_doi = f", depth estimated from the mask {tumor['doi_estimate_mm']:.1f} mm (not used)"
    lines += [f"Tumor: {tumor['volume_ml']:.2f} ml, largest diameter {tumor['largest_diameter_mm']:.1f} mm{mask_doi}"
              + ("; mask EDITED by the user" if r["mask_edited"] else ""),
              f"Clinical: age {_number(c.get('age'))}, sex {c.get('sex')}, clinical T stage {c.get('ct_stage')}, "
              f"MRI node status {CATEGORIES['cn_status'].get(c.get('cn_status'), c.get('cn_status'))}, "
              f"depth of invasion {doi}"]
    lines.append(f"Inputs: {inputs_text(r)}")
    if r["status"] == "ok":
        lines.append(f"Rad-score {r['radscore']:+.3f}; total points {r['total_points']:.1f}; points: "
                     + ", ".join(f"{LABELS.get(k, k)} {v:.0f}" for k, v in r["points"].items()))
    y += 6
    for line in (w for text in lines for w in wrap(text, inner, 7)):
        y += 10.5
        page.text(MARGIN, y, line, 7)
    # every warning under the risk, where it is read with it (a cut-off tumor or a sequence missing half the head
    # were 6-point footer lines under the timings); those the page says elsewhere too (BORDERLINE in the headline,
    # an estimated DOI in the clinical line) last, and whole warnings only, up to WARNING_LINES lines
    ordered = sorted(r["warnings"], key=restated_warning)
    warned: list[str] = []
    for i, text in enumerate(ordered):
        lines_of = wrap(f"Warning: {text}", inner, 7, bold=True)
        if len(warned) + len(lines_of) > WARNING_LINES - (i < len(ordered) - 1):
            warned.append(f"... {plural(len(ordered) - i, 'more warning')}: see result.json")
            break
        warned += lines_of
    for line in warned:
        y += 10.5
        page.text(MARGIN, y, line, 7, bold=True, color="#a05000")
    y = _draw_images(page, y + 12, prediction) + 24
    page.text(MARGIN, y, "Fusion nomogram (red: this patient; orange: a value outside the fitted range, drawn at "
              "its end)", 8)
    foot_top = page.height - 100
    score = prediction.score  # unrounded points: result.json's 2-decimal ones put a top-of-axis value past its end
    draw_nomogram(page, (MARGIN, y + 6, inner, foot_top - y - 18), nomogram,
                  None if score is None else score.points, None if score is None else score.total_points)
    b = r["backend"]
    # the report's own time is known only once it is written (result.json and the terminal have it); a report
    # written again (a GUI export) must not show the last one's
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in r["timings_s"].items() if k != "report")
    foot = [f"Segmentation model: {model_dir.name} ({_model_summary(model_dir)}); backend "
            f"{b.get('backend')} {b.get('variant', b.get('model_file', ''))}",
            f"Nomogram sha256 {r['nomogram_sha256'][:16]}... (fitted on {r['nomogram_mask_source']} masks of a "
            f"SYNTHETIC cohort); otscc-edge {r['otscc_edge']}",
            f"Stage timings before this report: {timings}"]
    y = foot_top
    lines = [w for text in foot for w in wrap(text, inner, 6)]
    room = int((page.height - 14 - foot_top) // 9) + 1
    if len(lines) > room:  # never cut silently
        lines = lines[:room - 1] + [f"... {plural(len(lines) - room + 1, 'more line')}: see result.json"]
    for line in lines:
        page.text(MARGIN, y, line, 6)
        y += 9
    return page


def write_report(prediction, path: str | Path, *, nomogram: Nomogram, model_dir: Path) -> Path:
    """Write the one-page PDF atomically and return its path.

    The PDF's document information names the product only (no patient id, no input paths).
    """
    from inference import __version__

    page = build_page(prediction, nomogram=nomogram, model_dir=model_dir)
    metadata = {"Title": "otscc-edge report", "Creator": f"otscc-edge {__version__}",
                "Producer": f"otscc-edge {__version__}"}
    path = Path(path)
    with atomic_path(path) as tmp:
        write_pdf(page, tmp, metadata=metadata)
    return path


def _number(value) -> str:
    """68.0 -> "68", 7.8 -> "7.8"; anything else as it is."""
    return f"{value:g}" if isinstance(value, float) else str(value)
