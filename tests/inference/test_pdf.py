"""The report's PDF writer: a file PDF readers parse, text that survives escaping, images the right way up, the
mask outline on exact voxel edges, and the report page's contents (both result kinds)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.pdf import Page, mask_outline, text_width, wrap, write_pdf
from tests.inference.pdf_reader import pdf_metadata, pdf_pages, pdf_render_gray, pdf_text, xref_problems


def test_letters_outside_winansi_keep_their_base_letter_and_other_characters_their_code():
    from inference.pdf import encode, shown_exactly

    assert encode("Łódź Dvořák Nguyễn").decode("cp1252") == "Lódz Dvorák Nguyen"  # ó, á are WinAnsi: kept
    assert encode("Größe Ø é") == "Größe Ø é".encode("cp1252")
    # no base letter in WinAnsi: the character's code (it was "?"); a control character: a space
    assert encode("腫瘍 \u2603 a\x01b") == rb"\u816b\u760d \u2603 a b"
    assert encode("Иванов") != encode("Петров")  # both were "??????": two patients' reports looked alike
    assert encode("Иванов").decode("unicode_escape") == "Иванов"  # and the name can be read back
    assert shown_exactly("Müller_Ødegård") and not shown_exactly("Dvořák") and not shown_exactly("Иванов")


def test_text_survives_escaping_and_the_file_parses(tmp_path):
    page = Page()
    page.text(40, 60, r"risk (intermediate) 25% \ back-slash", 10)
    page.text(40, 80, "bold: Größe", 10, bold=True)
    page.text(40, 100, "not in WinAnsi: 腫瘍", 10)
    page.text(40, 120, "Łódź Dvořák Nguyễn", 10)
    pdf = write_pdf(page, tmp_path / "t.pdf", metadata={"Title": "a (b) c"})
    assert xref_problems(pdf) == []  # a reader need not repair anything
    assert pdf_pages(pdf) == 1 and pdf_metadata(pdf)["Title"] == "a (b) c"
    text = pdf_text(pdf)
    assert r"risk (intermediate) 25% \ back-slash" in text
    assert "bold: Größe" in text and r"not in WinAnsi: \u816b\u760d" in text
    assert "Lódz Dvorák Nguyen" in text  # diacritics outside WinAnsi dropped, the letters kept
    assert page.texts[0] == r"risk (intermediate) 25% \ back-slash"


def test_image_is_drawn_row_zero_at_the_top_and_pixels_stay_sharp(tmp_path):
    pixels = np.zeros((4, 4), np.uint8)
    pixels[0, :] = 255  # top row white
    pixels[:, 3] = 128  # right column gray
    page = Page(width=100, height=100)
    page.image(10, 10, 80, 80, pixels)
    pdf = write_pdf(page, tmp_path / "i.pdf")
    image = pdf_render_gray(pdf)
    assert image.shape == (100, 100)
    assert image[20, 30] == 255  # top band (image row 0) is white at the top of the page
    assert image[60, 30] == 0
    assert image[60, 80] == 128
    assert image[5, 5] == 255  # page background outside the image


def test_text_width_and_wrap_follow_the_font_metrics():
    assert text_width("iiii", 10) < text_width("WWWW", 10)
    assert text_width("Risk", 10, bold=True) > text_width("Risk", 10)
    assert text_width("abc", 20) == pytest.approx(2 * text_width("abc", 10))
    text = "the segmentation model and the nomogram were trained on synthetic phantoms"
    lines = wrap(text, 120, 8)
    assert len(lines) > 1 and " ".join(lines) == text
    assert all(text_width(line, 8) <= 120 for line in lines)
    # a word wider than the line is broken between characters: kept whole, a long file name ran off the page
    long = wrap("inputs: " + "unbreakable-" * 10 + " end", 60, 8)
    assert len(long) > 3 and all(text_width(line, 8) <= 60 for line in long)
    assert long[0] == "inputs:" and long[-1].endswith(" end") and "".join(long[1:]).replace(" end", "") == \
        "unbreakable-" * 10


def test_mask_outline_runs_along_voxel_edges():
    one = np.zeros((3, 3), bool)
    one[1, 1] = True
    assert sorted(mask_outline(one)) == sorted([(1, 1, 2, 1), (1, 2, 2, 2), (1, 1, 1, 2), (2, 1, 2, 2)])
    block = np.zeros((4, 5), bool)
    block[1:3, 1:4] = True  # 2 x 3 voxels: perimeter 10 unit edges
    assert len(mask_outline(block)) == 10
    holed = np.ones((3, 3), bool)
    holed[1, 1] = False  # touching the border and with a hole: 12 outer + 4 inner edges
    assert len(mask_outline(holed)) == 16
    assert mask_outline(np.zeros((2, 2), bool)) == []


def test_page_refuses_an_image_that_is_not_2d_uint8():
    with pytest.raises(ValueError, match="2D"):
        Page().image(0, 0, 10, 10, np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="float"):  # 0..1 floats would silently turn black
        Page().image(0, 0, 10, 10, np.full((2, 2), 0.5))
