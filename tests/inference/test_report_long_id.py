"""A patient id too long for the report's title (a 300-character folder name ran the title off the page even at its
smallest size): every character drawn lies on the page, and the whole id can be read on it."""

from __future__ import annotations

from dataclasses import replace

import pypdfium2 as pdfium
import pytest

from inference.pdf import cut, split_to_width, text_width, write_pdf
from inference.report import build_page
from tests.inference.pdf_reader import pdf_text


@pytest.fixture(autouse=True)
def _user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))


def _char_boxes(path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every drawn character with its box (left, bottom, right, top) in points, as PDFium reads the file."""
    doc = pdfium.PdfDocument(str(path))
    try:
        page = doc[0]
        width, height = page.get_size()
        text = page.get_textpage()
        boxes = [(text.get_text_range(i, 1), text.get_charbox(i)) for i in range(text.count_chars())]
        return [(c, box) for c, box in boxes if c.strip()], (width, height)
    finally:
        doc.close()


@pytest.mark.parametrize("patient_id", ["W" * 300, "patient-" + "x1" * 146, "Иванов_王" * 30])
def test_a_very_long_patient_id_stays_on_the_page_and_is_printed_whole(pipeline, prediction, tmp_path, patient_id):
    page = build_page(replace(prediction, patient_id=patient_id), nomogram=pipeline.nomogram,
                      model_dir=pipeline.model_dir)
    path = write_pdf(page, tmp_path / "report.pdf")
    boxes, (width, height) = _char_boxes(path)
    off = [(c, box) for c, box in boxes if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height]
    assert boxes and not off, off[:5]
    shown = patient_id if patient_id.isascii() else patient_id.encode("unicode_escape").decode("ascii")
    assert shown in pdf_text(path).replace("\n", "")  # the whole id, read back across its lines
    (title,) = [t for t in page.texts if t.startswith("otscc-edge report: patient")]
    assert title.endswith("...")
    computed = next(t for t in page.texts if t.startswith("computed "))
    # the title ends before the time computed, printed at its right: nothing drawn over another
    assert text_width(title, 8, bold=True) <= page.width - 60 - text_width(computed, 7) - 12


def test_a_short_id_keeps_its_one_line_title(pipeline, prediction):
    page = build_page(replace(prediction, patient_id="case001"), nomogram=pipeline.nomogram,
                      model_dir=pipeline.model_dir)
    assert "otscc-edge report: patient case001" in page.texts
    assert not any(t.startswith("Patient id in full") for t in page.texts)


def test_split_to_width_and_cut():
    pieces = split_to_width("W" * 50, 60, 10)
    assert "".join(pieces) == "W" * 50 and all(text_width(p, 10) <= 60 for p in pieces) and len(pieces) > 1
    assert split_to_width("Иван", 1, 10) == list("Иван")  # an escaped character is never split
    assert cut("short", 100, 10) == "short"
    long = cut("W" * 50, 60, 10)
    assert long.endswith("...") and text_width(long, 10) <= 60 and long.startswith("WW")
