"""The benchmark chart's raster canvas: PNG bytes any decoder reads, text placed like Pillow places it, dots,
rectangles and lines where asked (export/raster.py; no imaging library at run time)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from export.raster import Canvas


def _decode_png(data: bytes) -> np.ndarray:
    """A minimal decoder for what Canvas writes (8-bit RGB, filter 0), independent of the writer's code."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,), tag = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(tag + body)
        chunks[tag] = chunks.get(tag, b"") + body
        pos += 12 + length
    w, h, depth, kind = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, kind) == (8, 2) and b"IEND" in chunks
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + 3 * w)
    assert not rows[:, 0].any()  # filter type 0 on every row
    return rows[:, 1:].reshape(h, w, 3)


def test_png_holds_exactly_the_drawn_pixels():
    canvas = Canvas(7, 5)
    canvas.rectangle(1, 1, 3, 2, "#1f77b4")
    canvas.line(5, 0, 5, 4, "#000000")
    image = _decode_png(canvas.png())
    assert image.shape == (5, 7, 3)
    assert (image[1:3, 1:4] == (0x1F, 0x77, 0xB4)).all()
    assert (image[:, 5] == 0).all()
    assert (image[0, :5] == 255).all() and (image[3:, :5] == 255).all()
    with pytest.raises(ValueError, match="horizontal and vertical"):
        canvas.line(0, 0, 3, 3, "#000000")


def test_dot_is_filled_at_the_centre_and_stops_at_its_radius():
    canvas = Canvas(30, 30)
    canvas.dot(15, 15, 5, "#d62728")
    image = _decode_png(canvas.png())
    assert tuple(image[15, 15]) == (0xD6, 0x27, 0x28)
    assert tuple(image[15, 22]) == (255, 255, 255) and tuple(image[8, 8]) == (255, 255, 255)
    assert image[15, 20, 0] > 0xD6 or image[15, 20, 1] > 0x27  # the rim is blended (anti-aliased)


def test_text_lands_where_its_anchor_says_and_matches_pillow():
    canvas = Canvas(300, 60)
    text = "tflite-int8 / litert 4.0"
    width = canvas.text_width(text, 15)
    canvas.text(150, 30, text, 15, anchor="mm")
    dark = np.argwhere(_decode_png(canvas.png()).min(axis=2) < 128)
    (y0, x0), (y1, x1) = dark.min(axis=0), dark.max(axis=0)
    assert abs((x0 + x1) / 2 - 150) <= 2 and abs(x1 - x0 - width) <= 3
    assert abs((y0 + y1) / 2 - 30) <= 3
    other = Canvas(60, 30)
    other.text(5, 5, "é", 15)  # outside ASCII: drawn as "?"
    question = Canvas(60, 30)
    question.text(5, 5, "?", 15)
    assert other.png() == question.png()
    image_module = pytest.importorskip("PIL.Image")
    from PIL import ImageDraw, ImageFont

    reference = image_module.new("L", (300, 40), 255)
    ImageDraw.Draw(reference).text((10, 10), text, fill=0, font=ImageFont.load_default(size=15), anchor="la")
    ours = Canvas(300, 40)
    ours.text(10, 10, text, 15, anchor="la")
    gray = _decode_png(ours.png()).mean(axis=2)
    ink = np.asarray(reference, np.float32) < 128
    assert (gray[ink] < 160).mean() > 0.8  # the same glyphs at the same place (no kerning: a pixel off here and there)
