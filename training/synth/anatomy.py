"""Oral-cavity anatomy as label functions of physical position (anatomy = CE-T1 scanner frame).

Every structure is a simple analytic shape (ellipses, an elliptic U for the mandible) whose parameters
are drawn per patient, so size, asymmetry and tongue position vary. Later structures overwrite earlier
ones, which is how contact between tissues is resolved.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum

import numpy as np

from training.synth.geometry import PointSampler


class Tissue(IntEnum):
    """Label values of the phantom (not written as outputs; used for rendering and statistics)."""

    BACKGROUND = 0
    SKIN = 1
    FAT = 2
    MUSCLE = 3
    CORTEX = 4
    MARROW = 5
    TEETH = 6
    TONGUE = 7
    SEPTUM = 8
    FLOOR = 9
    SUBLINGUAL = 10
    AIR = 11
    CSF = 12
    CORD = 13


N_TISSUES = len(Tissue)


@dataclass(frozen=True)
class Anatomy:
    """Per-patient shape parameters in mm (anatomy frame: origin near the oral tongue)."""

    head_y: float
    head_ax: float
    head_ay: float
    skin: float
    subcut: float
    mand_y: float
    mand_ax_left: float
    mand_ax_right: float
    mand_ay: float
    mand_width: float
    mand_z_lo: float
    mand_z_hi: float
    ramus: float
    tongue_center: tuple[float, float, float]
    tongue_ax_left: float
    tongue_ax_right: float
    tongue_ay: float
    tongue_az: float
    floor_z: float
    septum_width: float
    sublingual: tuple[float, float, float, float]
    airway: tuple[float, float, float]
    vertebra: tuple[float, float]

    def to_dict(self) -> dict:
        return asdict(self)

    def tongue_axes(self, side: float) -> np.ndarray:
        """Semi-axes (x, y, z) of the tongue ellipsoid on the given side (+1 left, -1 right)."""
        ax = self.tongue_ax_left if side > 0 else self.tongue_ax_right
        return np.array([ax, self.tongue_ay, self.tongue_az])


CORTEX_MM = 2.2


def draw_anatomy(rng: np.random.Generator) -> Anatomy:
    """Draw one patient's anatomy."""
    u = rng.uniform
    mand_ax = u(43.0, 50.0)
    mand_width = u(8.0, 12.0)
    # The tongue fills most of the oral cavity proper: a few mm short of the inner arch.
    tongue_ax = mand_ax - mand_width - u(2.0, 7.0)
    tongue_ay = u(36.0, 44.0)
    tc = (float(rng.normal(0.0, 1.5)), u(-2.0, 6.0), u(-6.0, 0.0))
    mand_z_lo = u(-34.0, -27.0)
    return Anatomy(
        head_y=u(18.0, 28.0),
        head_ax=u(64.0, 76.0),
        head_ay=u(92.0, 104.0),
        skin=u(1.5, 2.5),
        subcut=u(4.0, 12.0),
        mand_y=u(4.0, 12.0),
        mand_ax_left=mand_ax + u(-2.0, 2.0),
        mand_ax_right=mand_ax + u(-2.0, 2.0),
        mand_ay=u(45.0, 54.0),
        mand_width=mand_width,
        mand_z_lo=mand_z_lo,
        mand_z_hi=u(2.0, 8.0),
        ramus=u(18.0, 26.0),
        tongue_center=tc,
        tongue_ax_left=tongue_ax * u(0.93, 1.03),
        tongue_ax_right=tongue_ax * u(0.93, 1.03),
        tongue_ay=tongue_ay,
        tongue_az=u(15.0, 21.0),
        floor_z=mand_z_lo + u(9.0, 13.0),
        septum_width=u(1.2, 2.6),
        sublingual=(u(9.0, 13.0), u(5.0, 8.0), u(10.0, 16.0), u(3.0, 6.0)),
        airway=(tc[1] + tongue_ay + u(3.0, 9.0), u(9.0, 15.0), u(5.0, 9.0)),
        vertebra=(tc[1] + tongue_ay + u(22.0, 28.0), u(13.0, 16.0)),
    )


def tongue_inside(anat: Anatomy, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Inside the full tongue ellipsoid (no floor cut): the mucosal reference surface for DOI."""
    cx, cy, cz = anat.tongue_center
    ax = np.where(x > cx, anat.tongue_ax_left, anat.tongue_ax_right)
    return ((x - cx) / ax) ** 2 + ((y - cy) / anat.tongue_ay) ** 2 + ((z - cz) / anat.tongue_az) ** 2 < 1.0


def label_points(anat: Anatomy, smp: PointSampler) -> np.ndarray:
    """Tissue label of every supersampled point of a series."""
    lab = np.zeros(smp.shape, dtype=np.uint8)
    _paint_head(anat, smp, lab)
    _paint_spine_and_airway(anat, smp, lab)
    _paint_mandible(anat, smp, lab)
    _paint_tongue(anat, smp, lab)
    return lab


def _paint_head(anat: Anatomy, smp: PointSampler, lab: np.ndarray) -> None:
    # The neck narrows inferiorly; a linear taper in z is enough at this coverage.
    ax = anat.head_ax * np.clip(1.0 + 0.0025 * smp.Z, 0.75, 1.1)
    r = np.sqrt((smp.X / ax) ** 2 + ((smp.Y - anat.head_y) / anat.head_ay) ** 2)
    depth = (1.0 - r) * (0.5 * (anat.head_ax + anat.head_ay))
    lab[depth > 0] = Tissue.SKIN
    lab[depth > anat.skin] = Tissue.FAT
    lab[depth > anat.skin + anat.subcut] = Tissue.MUSCLE


def _paint_spine_and_airway(anat: Anatomy, smp: PointSampler, lab: np.ndarray) -> None:
    yv, rv = anat.vertebra
    sl = smp.box(np.array([-rv - 2, yv - rv - 2, -400.0]), np.array([rv + 2, yv + rv + 30, 400.0]))
    if sl is not None:
        x, y, _ = smp.at(sl)
        view = lab[sl]
        d_body = np.hypot(x, y - yv)
        view[d_body < rv] = Tissue.CORTEX
        view[d_body < rv - 1.5] = Tissue.MARROW
        d_canal = np.hypot(x, y - (yv + rv + 9.0))
        view[d_canal < 8.0] = Tissue.CSF
        view[d_canal < 5.0] = Tissue.CORD
    ya, rx, ry = anat.airway
    # Parapharyngeal fat pads flank the airway.
    for side in (-1.0, 1.0):
        sl = smp.box(np.array([side * 22 - 8, ya - 12, -400.0]), np.array([side * 22 + 8, ya + 12, 400.0]))
        if sl is not None:
            x, y, _ = smp.at(sl)
            lab[sl][((x - side * 22) / 6.0) ** 2 + ((y - ya) / 11.0) ** 2 < 1.0] = Tissue.FAT
    sl = smp.box(np.array([-rx, ya - ry, -400.0]), np.array([rx, ya + ry, anat.mand_z_hi + 30]))
    if sl is not None:
        x, y, z = smp.at(sl)
        lab[sl][((x / rx) ** 2 + ((y - ya) / ry) ** 2 < 1.0) & (z < anat.mand_z_hi + 30)] = Tissue.AIR


def _arch_depth(anat: Anatomy, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Approximate inward distance (mm) from the outer surface of the U-shaped mandibular arch."""
    ax = np.where(x > 0, anat.mand_ax_left, anat.mand_ax_right)
    # Posterior to the arch center the U continues as straight rami.
    yr = np.minimum(y - anat.mand_y, 0.0) / anat.mand_ay
    r = np.sqrt((x / ax) ** 2 + yr**2)
    return (1.0 - r) * (0.5 * (anat.mand_ax_left + anat.mand_ay))


def _paint_mandible(anat: Anatomy, smp: PointSampler, lab: np.ndarray) -> None:
    top = anat.mand_z_hi + 24.0
    lo = np.array([-anat.mand_ax_right - 3, anat.mand_y - anat.mand_ay - 3, anat.mand_z_lo])
    sl = smp.box(lo, np.array([anat.mand_ax_left + 3, anat.mand_y + anat.ramus, top]))
    if sl is None:
        return
    x, y, z = smp.at(sl)
    view = lab[sl]
    d = _arch_depth(anat, x, y)
    w, zl, zh = anat.mand_width, anat.mand_z_lo, anat.mand_z_hi
    in_y = y < anat.mand_y + anat.ramus
    bone = (d > 0) & (d < w) & (z < zh) & in_y
    edge = np.minimum(np.minimum(d, w - d), np.minimum(z - zl, zh - z))
    view[bone] = Tissue.CORTEX
    view[bone & (edge > CORTEX_MM)] = Tissue.MARROW
    interior = (d >= w) & in_y
    view[interior & (z < anat.floor_z)] = Tissue.FLOOR
    # Teeth sit on the alveolar crest: lower and upper rows with an occlusal gap and interdental gaps.
    arc = np.arctan2(y - anat.mand_y, x) * (0.5 * (anat.mand_ax_left + anat.mand_ay))
    zt = z - zh
    teeth = (d > 0.1 * w) & (d < 0.9 * w) & (zt >= 0) & (zt < 17) & (np.abs(zt - 8.5) > 0.8)
    teeth &= (np.mod(arc, 8.0) > 1.0) & (y < anat.mand_y + anat.ramus - 6)
    view[teeth] = Tissue.TEETH
    # Oral cavity proper: air above the floor up to the hard palate; the tongue is painted over it.
    view[interior & (z >= anat.floor_z) & (zt < 17)] = Tissue.AIR
    palate = (d > 0) & in_y & (zt >= 17) & (zt < 23)
    view[palate] = Tissue.CORTEX
    view[palate & (zt > 18.5) & (zt < 21.5) & (d > 3)] = Tissue.MARROW
    view[(d > w) & in_y & (zt >= 23) & (np.abs(x) < 11)] = Tissue.AIR


def _paint_tongue(anat: Anatomy, smp: PointSampler, lab: np.ndarray) -> None:
    cx, cy, cz = anat.tongue_center
    s_off, s_ax, s_ay, s_az = anat.sublingual
    axl, axr = anat.tongue_ax_left, anat.tongue_ax_right
    lo = np.array([cx - axr, cy - anat.tongue_ay, min(cz - anat.tongue_az, anat.floor_z - s_az)])
    sl = smp.box(lo, np.array([cx + axl, cy + anat.tongue_ay, cz + anat.tongue_az]))
    if sl is None:
        return
    x, y, z = smp.at(sl)
    view = lab[sl]
    for side in (-1.0, 1.0):
        q = ((x - side * s_off) / s_ax) ** 2 + ((y - (cy - 0.3 * anat.tongue_ay)) / s_ay) ** 2
        view[(q + ((z - anat.floor_z) / s_az) ** 2 < 1.0) & (view != Tissue.CORTEX)] = Tissue.SUBLINGUAL
    inside = tongue_inside(anat, x, y, z) & (z > anat.floor_z)
    view[inside] = Tissue.TONGUE
    septum = np.abs(x - cx) < 0.5 * anat.septum_width
    septum &= inside & (y < cy + 0.7 * anat.tongue_ay) & (z > anat.floor_z + 2.0)
    view[septum] = Tissue.SEPTUM
