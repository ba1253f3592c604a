"""PNG montage of one patient (CE-T1 with mask contour, T2, T1), encoded by ``inference.png``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from inference.png import encode_png
from training.synth.writers import write_bytes

PANEL_PX = 224


def _panel(slice2d: np.ndarray, contour: np.ndarray | None = None) -> np.ndarray:
    idx = np.linspace(0, slice2d.shape[0] - 1, PANEL_PX).round().astype(int)
    img = slice2d[np.ix_(idx, idx)].astype(np.float32)
    hi = max(float(np.percentile(img, 99.5)), 1.0)
    gray = (np.clip(img / hi, 0, 1) * 255).astype(np.uint8)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    if contour is not None:
        rgb[contour[np.ix_(idx, idx)]] = (255, 40, 40)
    return rgb


def _slice_at(vol, z_mm: float) -> np.ndarray:
    k = int(round((z_mm - vol.geometry.origin[2]) / vol.geometry.spacing[2]))
    return vol.array[int(np.clip(k, 0, vol.array.shape[0] - 1))]


def montage(patient) -> np.ndarray:
    """One row: CE-T1 (tumor contour in red), T2, T1 at the tumor's central slice."""
    mask = patient.mask.array.astype(bool)
    ce = patient.volumes["cet1"]
    k = int(np.argmax(mask.sum(axis=(1, 2)))) if mask.any() else mask.shape[0] // 2
    z_mm = ce.geometry.origin[2] + k * ce.geometry.spacing[2]
    m = mask[k]
    # A 2-pixel ring survives the downsampling to the panel size.
    ring = m & ~ndimage.binary_erosion(m, iterations=max(1, m.shape[0] // PANEL_PX + 1))
    panels = [_panel(ce.array[k], ring)]
    panels += [_panel(_slice_at(patient.volumes[s], z_mm)) for s in ("t2", "t1")]
    gap = np.zeros((PANEL_PX, 4, 3), np.uint8)
    return np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)


def write_preview(patient, path: Path) -> None:
    write_bytes(path, encode_png(montage(patient)))
