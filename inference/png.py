"""PNG encoding of an RGB or RGBA array with numpy and zlib (cohort previews, the benchmark chart, the icons),
and the "#rrggbb" colour parser the chart and the PDF report share."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def encode_png(rgb: np.ndarray, level: int = 9) -> bytes:
    """Encode an (h, w, 3) or (h, w, 4) uint8 array as an 8-bit RGB / RGBA PNG (filter 0 rows, deterministic)."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(f"expected (h, w, 3) or (h, w, 4) uint8, got {rgb.dtype} {rgb.shape}")
    h, w, channels = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * channels)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2 if channels == 3 else 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, level))
            + chunk(b"IEND", b""))


def hex_rgb(color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> (r, g, b) in 0..255."""
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
