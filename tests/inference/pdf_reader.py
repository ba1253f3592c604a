"""Read a written PDF back in tests: PDFium (``pypdfium2``, a dev dependency), an engine independent of our writer,
so page count, metadata, text and pixels are what a PDF reader sees. PDFium repairs a broken cross-reference table
silently, so :func:`xref_problems` checks ours itself (poppler's ``pdfinfo`` reported repairs on stderr).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium


def pdf_pages(path: Path) -> int:
    with _open(path) as doc:
        return len(doc)


def pdf_metadata(path: Path) -> dict[str, str]:
    with _open(path) as doc:
        return {k: v for k, v in doc.get_metadata_dict().items() if v}


def pdf_text(path: Path) -> str:
    """Text of every page, lines joined with newlines."""
    with _open(path) as doc:
        return "\n".join(doc[i].get_textpage().get_text_range().replace("\r\n", "\n") for i in range(len(doc)))


def pdf_render_gray(path: Path, page: int = 0) -> np.ndarray:
    """Page ``page`` rendered at 72 dpi (1 pixel per point), 8-bit gray, row 0 at the top."""
    with _open(path) as doc:
        return doc[page].render(scale=1, grayscale=True).to_numpy().copy()


def xref_problems(path: Path) -> list[str]:
    """What is wrong with the file's classic cross-reference table ([] when every offset starts its object and
    ``startxref`` points at the table)."""
    data = Path(path).read_bytes()
    start = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    if start is None:
        return ["no startxref at the end"]
    table = int(start.group(1))
    head = re.match(rb"xref\s+0 (\d+)\s+", data[table:])
    if head is None:
        return [f"startxref {table} does not point at an xref table"]
    problems, count, pos = [], int(head.group(1)), table + head.end()
    for number in range(count):
        entry = data[pos + 20 * number:pos + 20 * number + 20]
        offset, kind = int(entry[:10]), entry[17:18]
        if number and (kind != b"n" or not data[offset:].startswith(f"{number} 0 obj".encode())):
            problems.append(f"object {number}: xref offset {offset} does not start it")
    return problems


@contextmanager
def _open(path: Path) -> Iterator[pdfium.PdfDocument]:
    doc = pdfium.PdfDocument(str(path))
    try:
        yield doc
    finally:
        doc.close()
