"""``python -m export.packaging.icon``: draw the application icon and write it in every format the builds need.

Writes into ``assets/packaging/``: ``otscc-edge.png`` (256 px, Linux desktop entry and window icon),
``otscc-edge.ico`` (Windows executables and installer; PNG-compressed 16-256 px images) and
``otscc-edge.icns`` (macOS bundle; PNG-compressed 32-512 px images). ``otscc-edge.svg`` is drawn by hand
in the same design. Plain numpy + zlib, so the build needs no image library (PyInstaller would otherwise
need Pillow to convert a PNG on Windows/macOS).

The design: a slate rounded square, a pale MRI-like axial section, a red lesion outlined in yellow (the
segmentation contour).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np

from inference.png import encode_png

OUT = Path(__file__).resolve().parents[2] / "assets" / "packaging"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {32: b"ic11", 64: b"ic12", 128: b"ic07", 256: b"ic08", 512: b"ic09"}
SUPERSAMPLE = 4


def _disc(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def render(size: int) -> np.ndarray:
    """RGBA uint8 image (size, size, 4), anti-aliased by supersampling."""
    n = size * SUPERSAMPLE
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / n  # unit square
    rgba = np.zeros((n, n, 4), float)
    corner = 0.2
    cx, cy = np.clip(x, corner, 1 - corner), np.clip(y, corner, 1 - corner)
    rounded = (x - cx) ** 2 + (y - cy) ** 2 <= corner**2
    rgba[rounded] = (0.16, 0.22, 0.30, 1.0)
    head = _disc(x, y, 0.5, 0.52, 0.34, 0.38)
    rgba[head, :3] = (0.80, 0.84, 0.88)
    tongue = _disc(x, y, 0.5, 0.58, 0.20, 0.17)
    rgba[tongue, :3] = (0.55, 0.60, 0.66)
    lesion = _disc(x, y, 0.60, 0.52, 0.10, 0.09)
    outline = _disc(x, y, 0.60, 0.52, 0.125, 0.115) & ~lesion
    rgba[lesion, :3] = (0.85, 0.20, 0.20)
    rgba[outline, :3] = (0.98, 0.82, 0.20)
    small = rgba.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 4).mean(axis=(1, 3))
    alpha = small[..., 3:4]
    color = np.divide(small[..., :3], alpha, out=np.zeros_like(small[..., :3]), where=alpha > 0)
    return np.round(np.concatenate([color, alpha], axis=-1) * 255).astype(np.uint8)


def png_bytes(rgba: np.ndarray) -> bytes:
    """A PNG file (8-bit RGBA) of an (h, w, 4) uint8 array."""
    return encode_png(rgba)


def ico_bytes(images: dict[int, bytes]) -> bytes:
    """An ICO file of PNG-compressed images (Windows Vista and later read them)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, data in sorted(images.items()):
        dim = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return header + entries + blobs


def icns_bytes(images: dict[int, bytes]) -> bytes:
    """An ICNS file of PNG images under their OSType codes."""
    body = b"".join(ICNS_TYPES[s] + struct.pack(">I", 8 + len(d)) + d for s, d in sorted(images.items()))
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_icons(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(ICO_SIZES) | set(ICNS_TYPES))
    pngs = {s: png_bytes(render(s)) for s in sizes}
    files = {out / "otscc-edge.png": pngs[256], out / "otscc-edge.ico": ico_bytes({s: pngs[s] for s in ICO_SIZES}),
             out / "otscc-edge.icns": icns_bytes({s: pngs[s] for s in ICNS_TYPES})}
    for path, data in files.items():
        path.write_bytes(data)
    return list(files)


if __name__ == "__main__":
    for written in write_icons(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        sys.stdout.write(f"wrote {written}\n")
