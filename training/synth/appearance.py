"""Sequence contrasts: tissue intensities, tumor contrast-to-noise ratios and texture amplitudes.

Intensities are relative to tongue/neck muscle (= 1) and then scaled to scanner-like units. Tumor
contrast is specified as a contrast-to-noise ratio drawn per patient and sequence, so visibility varies:
ranges overlap and some tumors are barely visible on one sequence (T1 especially).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.synth.anatomy import N_TISSUES, Tissue

SEQUENCES = ("cet1", "t2", "t1")
# Tumor-to-muscle CNR ranges (mean difference / noise sigma), drawn uniformly per patient.
CNR_RANGES = {"cet1": (1.5, 14.0), "t2": (1.0, 12.0), "t1": (-1.5, 2.0)}
SNR_RANGE = (15.0, 35.0)  # muscle mean / noise sigma
FAT_SAT_SHARE = 0.8  # share of patients whose CE-T1 is fat-suppressed

T = Tissue
# Relative intensities (muscle = 1) for non-fat-suppressed sequences.
_BASE = {
    "t1": {T.SKIN: 1.2, T.FAT: 3.0, T.MUSCLE: 1.0, T.CORTEX: 0.08, T.MARROW: 2.7, T.TEETH: 0.05,
           T.TONGUE: 1.05, T.SEPTUM: 2.8, T.FLOOR: 1.0, T.SUBLINGUAL: 2.5, T.AIR: 0.0, T.CSF: 0.5,
           T.CORD: 1.2},
    "t2": {T.SKIN: 1.3, T.FAT: 3.2, T.MUSCLE: 1.0, T.CORTEX: 0.08, T.MARROW: 2.6, T.TEETH: 0.05,
           T.TONGUE: 1.05, T.SEPTUM: 3.0, T.FLOOR: 1.0, T.SUBLINGUAL: 2.8, T.AIR: 0.0, T.CSF: 5.0,
           T.CORD: 1.8},
    "cet1": {T.SKIN: 1.4, T.FAT: 3.0, T.MUSCLE: 1.0, T.CORTEX: 0.08, T.MARROW: 2.6, T.TEETH: 0.05,
             T.TONGUE: 1.08, T.SEPTUM: 2.8, T.FLOOR: 1.05, T.SUBLINGUAL: 2.5, T.AIR: 0.0, T.CSF: 0.6,
             T.CORD: 1.3},
}
_FATTY = (T.FAT, T.SEPTUM, T.SUBLINGUAL, T.MARROW)
# Residual fat signal after spectral fat suppression, relative to muscle.
_FAT_SAT_LEVEL = 0.35
# Texture amplitude (relative modulation) per tissue: muscle is striated, fat lobulated, bone flat.
_TEXTURE = {T.SKIN: 0.05, T.FAT: 0.06, T.MUSCLE: 0.07, T.MARROW: 0.08, T.TONGUE: 0.06, T.SEPTUM: 0.05,
            T.FLOOR: 0.07, T.SUBLINGUAL: 0.08, T.CSF: 0.02, T.CORD: 0.03}


@dataclass(frozen=True)
class Contrast:
    """Everything needed to turn labels and tumor memberships into one sequence's intensities."""

    sequence: str
    lut: np.ndarray  # (N_TISSUES,) relative intensity
    texture: np.ndarray  # (N_TISSUES,) texture amplitude
    scale: float  # scanner units of muscle
    snr: float
    cnr: float
    tumor: float  # relative tumor intensity
    edema: float
    necrosis: float
    heterogeneity: float  # relative modulation of tumor signal by the texture field
    fat_sat: bool

    @property
    def sigma(self) -> float:
        """Noise sigma in scanner units."""
        return self.scale / self.snr


def draw_contrast(rng: np.random.Generator, sequence: str, heterogeneity: float, fat_sat: bool) -> Contrast:
    """Draw one sequence's contrast for one patient."""
    lut = np.zeros(N_TISSUES)
    for tissue, value in _BASE[sequence].items():
        lut[tissue] = value * (1.0 if tissue == T.MUSCLE else rng.uniform(0.9, 1.1))
    if fat_sat:
        for tissue in _FATTY:
            lut[tissue] = _FAT_SAT_LEVEL * rng.uniform(0.8, 1.2)
    tex = np.zeros(N_TISSUES)
    for tissue, amp in _TEXTURE.items():
        tex[tissue] = amp
    snr = float(rng.uniform(*SNR_RANGE))
    cnr = float(rng.uniform(*CNR_RANGES[sequence]))
    tumor = 1.0 + cnr / snr
    if sequence == "cet1":
        edema, necrosis, het = 1.0 + 0.25 * (tumor - 1.0), 0.55, 0.45 * heterogeneity
    elif sequence == "t2":
        edema, necrosis, het = 1.0 + 0.55 * (tumor - 1.0), tumor * 1.4 + 0.5, 0.2 * heterogeneity
    else:
        edema, necrosis, het = 0.95, 0.75, 0.1 * heterogeneity
    return Contrast(
        sequence=sequence,
        lut=lut,
        texture=tex,
        scale=float(rng.uniform(300.0, 700.0)),
        snr=snr,
        cnr=cnr,
        tumor=tumor,
        edema=edema,
        necrosis=necrosis,
        heterogeneity=het,
        fat_sat=fat_sat,
    )
