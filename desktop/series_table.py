"""Rows for the "which series is which?" dialog (Qt-free): every candidate image of a patient folder with
its size, spacing, number of images, and the role the automatic assignment would give it and why.

Only non-identifying header fields are read (series description, matrix, spacing), never names or IDs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from inference.roles import ROLE_LABELS, classify_series, role_from_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesRow:
    """One candidate: ``key`` is what ``Pipeline.prepare(cet1=...)`` accepts (a path or a SeriesInstanceUID)."""

    key: str
    description: str
    size: str  # e.g. "256 x 256 x 20"
    spacing: str  # e.g. "0.78 x 0.78 x 4.5 mm"
    images: int
    guess: str | None  # "cet1" | "t2" | "t1" | None
    reason: str

    @property
    def guess_label(self) -> str:
        return ROLE_LABELS.get(self.guess, "none")


def describe_candidates(folder: str | Path) -> list[SeriesRow]:
    """All image files (named layout) or DICOM series (DICOM layout) in ``folder``, in a stable order."""
    from inference.imagefile import image_suffix

    root = Path(folder)
    files = sorted(p for p in root.iterdir() if p.is_file() and image_suffix(p))
    rows = [_file_row(p) for p in files]
    rows = [r for r in rows if r is not None]
    return rows or _dicom_rows(root)


def _file_row(path: Path) -> SeriesRow | None:
    import SimpleITK as sitk

    from inference.imagefile import strip_suffix

    role = role_from_name(strip_suffix(path))
    if role == "mask":
        return None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:  # an unreadable file is still listed, so the user sees it was considered
        log.info("cannot read header of %s: %s", path.name, exc)
        return SeriesRow(str(path), path.name, "?", "?", 0, None, "header not readable")
    size, spacing = reader.GetSize(), reader.GetSpacing()
    why = f"file name '{path.name}'" if role else f"file name '{path.name}' names no sequence"
    return SeriesRow(str(path), path.name, " x ".join(str(s) for s in size),
                     " x ".join(f"{s:.3g}" for s in spacing) + " mm", int(size[2]) if len(size) > 2 else 1,
                     role, why)


def _dicom_rows(root: Path) -> list[SeriesRow]:
    from inference import dicom

    series, _ = dicom.scan_folder(root)
    rows = []
    for s in series:
        summary = s.summary()
        guess, why = classify_series(s.info())
        pixel = summary["pixel_spacing_mm"]
        thickness = summary["slice_thickness_mm"]
        spacing = " x ".join(f"{v:.3g}" for v in pixel) + (f" x {thickness:.3g}" if thickness else "") + " mm"
        number = "?" if summary["series_number"] is None else summary["series_number"]  # series 0 is a number
        rows.append(SeriesRow(s.uid, f"#{number} {summary['description']}",
                              f"{summary['columns']} x {summary['rows']} x {summary['images']}", spacing,
                              summary["images"], guess, why))
    return rows


def initial_choice(rows: list[SeriesRow]) -> dict[str, str | None]:
    """Role -> key pre-selected in the dialog: the row guessed for each role when it is the only one; a role two
    rows could fill stays unchosen (OK waits for the user: pre-filling the first made the arbitrary choice one
    click away)."""
    choice: dict[str, str | None] = {}
    for role in ROLE_LABELS:
        guessed = [r.key for r in rows if r.guess == role]
        choice[role] = guessed[0] if len(guessed) == 1 else None
    return choice
