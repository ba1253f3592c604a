"""``python -m export.glyph_atlas``: rebuild the glyph atlas of ``export/raster.py`` (development only).

Renders Pillow's built-in font (Aileron Regular, public domain) at ``raster.SIZES`` for ASCII 32-126 and
stores each glyph's alpha bitmap, offset and advance as a base64 ``.npz`` in ``raster._GLYPHS``.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from export import raster
from export.raster import SIZES


def render_glyphs() -> str:
    """The atlas as base64 (development only: renders Pillow's built-in Aileron at ``SIZES``)."""
    from PIL import ImageFont

    arrays = {}
    for size in SIZES:
        font = ImageFont.load_default(size=size)
        bitmaps, meta = [], []
        for code in range(32, 127):
            mask, (ox, oy) = font.getmask2(chr(code), mode="L")
            w, h = mask.size
            bitmaps.append(np.frombuffer(bytes(mask), np.uint8)[: w * h])
            meta.append((w, h, ox, oy, round(font.getlength(chr(code)) * 64)))
        arrays[f"s{size}_pixels"] = np.concatenate(bitmaps)
        arrays[f"s{size}_meta"] = np.array(meta, np.int16)
        arrays[f"s{size}_metrics"] = np.array(font.getmetrics(), np.int16)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _write_glyphs(encoded: str) -> None:
    """Replace the ``_GLYPHS`` block of ``export/raster.py`` with ``encoded``."""
    path = Path(raster.__file__)
    source = path.read_text()
    start, end = source.index("_GLYPHS = (\n"), source.index("\n)  # end of _GLYPHS\n")
    lines = "\n".join(f'    "{encoded[i:i + 112]}"' for i in range(0, len(encoded), 112))
    path.write_text(source[:start] + "_GLYPHS = (\n" + lines + source[end:])


if __name__ == "__main__":
    _write_glyphs(render_glyphs())
