"""A one-page vector PDF writer for the report: text, lines, rectangles, dots and grayscale images.

Pure Python + numpy + zlib, no plotting library: the report was drawn with matplotlib, whose import and
rendering were 0.6-1.1 s of every ``otscc predict`` and whose stack was ~21 MB of the installer bundle.

Coordinates are PDF points (1/72 inch) from the page's top left corner, y growing downwards. Text uses the
PDF standard fonts Helvetica and Helvetica-Bold (every PDF viewer has them; nothing is embedded) in
WinAnsiEncoding: letters outside it lose their diacritics where that helps ("ř" -> "r"), anything else is
written as its Unicode code ("И" -> "\u0418"): two Cyrillic names of one length were both "??????".
``shown_exactly`` says whether a text survives unaltered. Text stays text (searchable, selectable).
"""

from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.png import hex_rgb

A4 = (595.28, 841.89)

# Advance widths (1/1000 em) of WinAnsiEncoding codes 32-255, from Adobe's Helvetica / Helvetica-Bold font
# metrics (AFM); 556 where the metrics name no glyph for the code.
_WIDTHS = {
    False: """
278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 556 556 556 278
278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778 667 778 722 667 611 722
667 944 667 667 611 278 278 278 469 556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 556
556 333 500 278 556 500 722 500 500 500 334 260 334 584 556 556 556 556 556 556 1000 556 556 556 1000 667
333 1000 556 611 556 556 222 222 333 333 350 556 1000 556 1000 500 333 944 556 500 667 556 333 556 556 556
556 260 556 333 737 370 556 584 556 737 333 400 584 556 556 333 556 537 278 333 556 365 556 556 834 556 611
667 667 667 667 667 667 1000 722 667 667 667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722
722 722 667 667 611 556 556 556 556 556 556 889 500 556 556 556 556 278 278 278 278 556 556 556 556 556 556
556 584 611 556 556 556 556 500 556 500""",
    True: """
278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 556 556 556 333
333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 611 833 722 778 667 778 722 667 611 722
667 944 667 667 611 333 278 333 584 556 333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611 611
611 389 556 333 611 556 778 556 556 500 389 280 389 584 556 556 556 556 556 556 1000 556 556 556 1000 667
333 1000 556 611 556 556 278 278 500 500 350 556 1000 556 1000 556 333 944 556 500 667 556 333 556 556 556
556 280 556 333 737 370 556 584 556 737 333 400 584 556 556 333 611 556 278 333 556 365 556 556 834 556 611
722 722 722 722 722 722 1000 722 667 667 667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722
722 722 667 667 611 556 556 556 556 556 556 889 556 556 556 556 556 278 278 278 278 611 611 611 611 611 611
611 584 611 611 611 611 611 556 611 556""",
}
_WIDTHS = {bold: [int(w) for w in text.split()] for bold, text in _WIDTHS.items()}
_FONTS = {False: "F1", True: "F2"}
# distance from the baseline to the top of capitals / the bottom of descenders, in em (Helvetica)
_ASCENT, _DESCENT = 0.718, 0.207


def encode(text: str) -> bytes:
    """``text`` in WinAnsiEncoding (cp1252). A letter outside it loses its diacritics where that leaves one inside
    it (Polish "Łódź" -> "Lodz", Czech "ř" -> "r", Vietnamese "ệ" -> "e"), so a name stays readable; anything
    else becomes its code as Python writes it ("Иванов" -> "\u0418\u0432\u0430\u043d\u043e\u0432": names stay
    apart, and can be read back) and control characters a space. The unaltered text stays in result.json."""
    return "".join(_winansi(c) for c in text).encode("cp1252", errors="replace")


def shown_exactly(text: str) -> bool:
    """Whether ``text`` is drawn as it is (``encode`` alters nothing)."""
    return encode(text).decode("cp1252") == text


def _winansi(char: str) -> str:
    if ord(char) < 32:
        return " "
    try:
        char.encode("cp1252")
        return char
    except UnicodeEncodeError:
        pass
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    base = _NO_DECOMPOSITION.get(char, base)
    try:
        base.encode("cp1252")
    except UnicodeEncodeError:
        base = ""
    return base or char.encode("unicode_escape").decode("ascii")  # "\u0418", "\U0001f600"


#: letters with a stroke or bar, which Unicode does not decompose into base letter + mark
_NO_DECOMPOSITION = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "Ŧ": "T", "ŧ": "t", "ı": "i"}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of ``text`` in points at ``size``."""
    widths = _WIDTHS[bold]
    return sum(widths[b - 32] if b >= 32 else 556 for b in encode(text)) * size / 1000


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width``; a single word wider than that (a long file or
    folder name in the report's inputs line) is broken between characters (``split_to_width``): kept whole on its
    own line, it ran off the page."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, size, bold) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            *full, line = split_to_width(word, width, size, bold)
            lines.extend(full)
        lines.append(line)
    return lines


def split_to_width(word: str, width: float, size: float, bold: bool = False) -> list[str]:
    """``word`` cut between characters into pieces no wider than ``width`` (each at least one character: a
    character is never split, so an escaped one such as "\\u0418" stays whole)."""
    pieces, piece, used = [], "", 0.0
    for char in word:
        w = text_width(char, size, bold)  # widths add up: the font has no kerning here
        if piece and used + w > width:
            pieces.append(piece)
            piece, used = "", 0.0
        piece, used = piece + char, used + w
    return [*pieces, piece]


def cut(text: str, width: float, size: float, bold: bool = False, ellipsis: str = "...") -> str:
    """``text`` whole if it fits in ``width``, else its longest start that fits with ``ellipsis`` after it."""
    if text_width(text, size, bold) <= width:
        return text
    room, end = width - text_width(ellipsis, size, bold), 0
    for char in text:
        room -= text_width(char, size, bold)
        if room < 0:
            break
        end += 1
    return text[:end] + ellipsis


def _color(rgb: str | tuple[float, float, float]) -> str:
    if isinstance(rgb, str):  # "#rrggbb"
        rgb = tuple(c / 255 for c in hex_rgb(rgb))
    return " ".join(f"{c:.3f}" for c in rgb)


def _escape(data: bytes) -> bytes:
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


@dataclass
class Page:
    """One page; draw on it, then ``write_pdf``. ``texts`` lists every string drawn (tests read it)."""

    width: float = A4[0]
    height: float = A4[1]
    ops: list[str] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def _y(self, y: float) -> float:
        return self.height - y

    def text(self, x: float, y: float, text: str, size: float = 10, *, bold: bool = False,
             color: str = "#000000", align: str = "left", valign: str = "baseline") -> None:
        """One line of text; ``align`` left/center/right at ``x``, ``valign`` baseline/top/center/bottom at
        ``y`` (top: the capitals' top; bottom: the descenders')."""
        self.texts.append(text)
        x -= {"left": 0, "center": 0.5, "right": 1}[align] * text_width(text, size, bold)
        y += {"baseline": 0, "top": _ASCENT, "center": (_ASCENT - _DESCENT) / 2, "bottom": -_DESCENT}[valign] * size
        literal = _escape(encode(text)).decode("latin-1")
        self.ops.append(f"BT /{_FONTS[bold]} {size:g} Tf {_color(color)} rg {x:.2f} {self._y(y):.2f} Td "
                        f"({literal}) Tj ET")

    def lines(self, segments, *, width: float = 1.0, color: str = "#000000") -> None:
        """Straight segments ``[(x0, y0, x1, y1), ...]`` stroked as one path."""
        path = " ".join(f"{x0:.2f} {self._y(y0):.2f} m {x1:.2f} {self._y(y1):.2f} l" for x0, y0, x1, y1 in segments)
        if path:
            self.ops.append(f"{width:g} w {_color(color)} RG 2 J {path} S")  # square caps close the corners

    def rect(self, x: float, y: float, w: float, h: float, *, fill: str | None = None, stroke: str | None = None,
             width: float = 1.0) -> None:
        paint = {(True, True): "B", (True, False): "f", (False, True): "S"}.get((fill is not None, stroke is not None))
        if paint is None:
            return
        style = (f"{_color(fill)} rg " if fill else "") + (f"{_color(stroke)} RG {width:g} w " if stroke else "")
        self.ops.append(f"{style}{x:.2f} {self._y(y + h):.2f} {w:.2f} {h:.2f} re {paint}")

    def dot(self, x: float, y: float, radius: float, *, color: str = "#000000") -> None:
        """A filled circle (four Bezier arcs)."""
        k, r, cy = 0.5523 * radius, radius, self._y(y)
        self.ops.append(
            f"{_color(color)} rg {x + r:.2f} {cy:.2f} m {x + r:.2f} {cy + k:.2f} {x + k:.2f} {cy + r:.2f} {x:.2f} "
            f"{cy + r:.2f} c {x - k:.2f} {cy + r:.2f} {x - r:.2f} {cy + k:.2f} {x - r:.2f} {cy:.2f} c {x - r:.2f} "
            f"{cy - k:.2f} {x - k:.2f} {cy - r:.2f} {x:.2f} {cy - r:.2f} c {x + k:.2f} {cy - r:.2f} {x + r:.2f} "
            f"{cy - k:.2f} {x + r:.2f} {cy:.2f} c f")

    def image(self, x: float, y: float, w: float, h: float, pixels: np.ndarray) -> None:
        """A grayscale uint8 image (row 0 at the top) stretched onto the box, pixels shown as squares."""
        pixels = np.asarray(pixels)
        if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.size == 0:
            raise ValueError(f"image: a non-empty 2D uint8 array is needed, got {pixels.dtype} {pixels.shape}")
        pixels = np.ascontiguousarray(pixels)
        self.images.append(pixels)
        self.ops.append(f"q {w:.2f} 0 0 {h:.2f} {x:.2f} {self._y(y + h):.2f} cm /Im{len(self.images)} Do Q")


def mask_outline(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The edges between mask and background pixels of a 2D mask, as segments ``(col0, row0, col1, row1)`` in
    pixel-corner coordinates (pixel (r, c) spans [c, c+1] x [r, r+1]): the voxels' exact outline."""
    m = np.pad(np.asarray(mask, dtype=bool), 1)
    rows, cols = np.nonzero(m[1:, 1:-1] != m[:-1, 1:-1])  # horizontal edge above padded row r+1
    horizontal = [(c, r, c + 1, r) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    rows, cols = np.nonzero(m[1:-1, 1:] != m[1:-1, :-1])  # vertical edge left of padded column c+1
    vertical = [(c, r, c, r + 1) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    return horizontal + vertical


def write_pdf(page: Page, path: str | Path, *, metadata: dict[str, str] | None = None) -> Path:
    """Write ``page`` as a one-page PDF 1.4 file at ``path`` (the caller makes it atomic)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(header: str, data: bytes) -> bytes:
        data = zlib.compress(data, 6)
        return f"<< {header} /Filter /FlateDecode /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"

    fonts = {name: add(f"<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>".encode())
             for name, base in (("F1", "Helvetica"), ("F2", "Helvetica-Bold"))}
    images = [add(stream(f"/Type /XObject /Subtype /Image /Width {im.shape[1]} /Height {im.shape[0]} "
                         "/ColorSpace /DeviceGray /BitsPerComponent 8 /Interpolate false", im.tobytes()))
              for im in page.images]
    content = add(stream("", "\n".join(page.ops).encode("latin-1")))
    font_refs = " ".join(f"/{name} {ref} 0 R" for name, ref in fonts.items())
    image_refs = " ".join(f"/Im{i} {ref} 0 R" for i, ref in enumerate(images, 1))
    pages_ref = len(objects) + 2
    page_ref = add(f"<< /Type /Page /Parent {pages_ref} 0 R /MediaBox [0 0 {page.width:.2f} {page.height:.2f}] "
                   f"/Resources << /Font << {font_refs} >> /XObject << {image_refs} >> >> "
                   f"/Contents {content} 0 R >>".encode())
    add(f"<< /Type /Pages /Kids [{page_ref} 0 R] /Count 1 >>".encode())
    catalog = add(f"<< /Type /Catalog /Pages {pages_ref} 0 R >>".encode())
    # document information strings are PDFDocEncoding, which agrees with ASCII only: anything else is "?"
    info = add(b"<< " + b" ".join(b"/" + k.encode("ascii") + b" (" + _escape(v.encode("ascii", "replace")) + b")"
                                  for k, v in (metadata or {}).items()) + b" >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()
    path = Path(path)
    path.write_bytes(bytes(out))
    return path
