"""Tumor shape: a union of deformed ellipsoids with an infiltrative, partial-volume margin.

Membership is a soft field in [0, 1] of physical position. Margin irregularity comes from a smooth
random displacement of each ellipsoid's level set; its amplitude is a latent variable the outcome model
uses (radiomics can see it as shape/texture irregularity).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from training.synth.anatomy import Anatomy, tongue_inside

VOLUME_MEDIAN_ML = 2.2
VOLUME_LOG_SD = 1.15
VOLUME_RANGE_ML = (0.3, 30.0)
SITES = ("lateral", "ventral", "dorsal")
SITE_WEIGHTS = (0.75, 0.15, 0.10)


@dataclass(frozen=True)
class Tumor:
    """Per-patient tumor parameters (mm, anatomy frame)."""

    site: str
    side: str
    centers: np.ndarray  # (k, 3)
    axes: np.ndarray  # (k, 3) semi-axes
    rotations: np.ndarray  # (k, 3, 3) columns = local axes
    irregularity: float  # margin displacement amplitude, fraction of the radius
    softness_mm: float  # width of the partial-volume margin
    wave_k: np.ndarray  # (m, 3) wave vectors of the margin noise (rad/mm)
    wave_phase: np.ndarray  # (m,)
    heterogeneity: float  # enhancement heterogeneity in [0, 1]
    necrosis_radius: float  # core radius as a fraction of the main ellipsoid, 0 = none
    edema_mm: float

    def scaled(self, factor: float) -> Tumor:
        """Same tumor grown about its main center by ``factor`` in every dimension."""
        c0 = self.centers[0]
        return replace(self, centers=c0 + (self.centers - c0) * factor, axes=self.axes * factor)

    def bounds(self, pad_mm: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        r = self.axes.max(axis=1, keepdims=True) * (1.0 + self.irregularity) + pad_mm + self.edema_mm
        return (self.centers - r).min(axis=0), (self.centers + r).max(axis=0)


def draw_tumor(rng: np.random.Generator, anat: Anatomy, volume_ml: float) -> Tumor:
    """Place a tumor on the tongue surface and shape it for roughly ``volume_ml`` (calibrated later)."""
    site = str(rng.choice(SITES, p=SITE_WEIGHTS))
    side = float(rng.choice([-1.0, 1.0]))
    if site == "lateral":
        u = np.array([side, rng.uniform(-0.5, 0.6), rng.uniform(-0.3, 0.4)])
    elif site == "ventral":
        u = np.array([side * rng.uniform(0.2, 0.8), rng.uniform(-0.8, 0.2), -rng.uniform(0.5, 0.9)])
    else:
        u = np.array([side * rng.uniform(0.1, 0.7), rng.uniform(-0.6, 0.5), 1.0])
    axes_t = anat.tongue_axes(side)
    tc = np.asarray(anat.tongue_center)
    u /= np.linalg.norm(u)
    surface = tc + u / np.sqrt(np.sum((u / axes_t) ** 2))
    normal = u / axes_t**2
    normal /= np.linalg.norm(normal)
    # Tumors grow along the mucosa (AP) more than into depth, with patient-specific infiltration.
    r = (3.0 * volume_ml * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
    depth_ratio = float(np.exp(rng.uniform(np.log(0.5), np.log(1.0))))
    elong = rng.uniform(0.8, 1.2)
    t1 = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 0.0, 1.0])
    t1 /= np.linalg.norm(t1)
    t2 = np.cross(normal, t1)
    main_axes = r * np.array([depth_ratio, elong / np.sqrt(depth_ratio), 1.0 / (elong * np.sqrt(depth_ratio))])
    main_rot = np.stack([normal, t1, t2], axis=1)
    # Negative fractions put the center above the mucosa: a partly exophytic tumor.
    main_center = surface - normal * main_axes[0] * rng.uniform(-0.35, 0.3)
    irregularity = float(rng.uniform(0.04, 0.35))
    n_extra = int(min(3, rng.poisson(0.5 + 4.0 * irregularity)))
    centers, axes, rots = [main_center], [main_axes], [main_rot]
    for _ in range(n_extra):
        offset = main_rot @ (main_axes * rng.uniform(-0.7, 0.7, size=3))
        centers.append(main_center + offset)
        axes.append(main_axes * rng.uniform(0.35, 0.7, size=3))
        rots.append(_random_rotation(rng))
    k = rng.normal(size=(4, 3))
    k *= (2.0 * np.pi / rng.uniform(5.0, 12.0, size=(4, 1))) / np.linalg.norm(k, axis=1, keepdims=True)
    big = volume_ml > 4.0
    necrotic = big and rng.random() < min(0.8, 0.15 + 0.05 * volume_ml)
    return Tumor(
        site=site,
        side="left" if side > 0 else "right",
        centers=np.array(centers),
        axes=np.array(axes),
        rotations=np.array(rots),
        irregularity=irregularity,
        softness_mm=float(rng.uniform(0.5, 1.4)),
        wave_k=k,
        wave_phase=rng.uniform(0.0, 2.0 * np.pi, size=4),
        heterogeneity=float(rng.beta(2.0, 3.0)),
        necrosis_radius=float(rng.uniform(0.3, 0.6)) if necrotic else 0.0,
        edema_mm=float(rng.uniform(1.5, 5.0)),
    )


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def _margin_noise(tumor: Tumor, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Smooth random field in about [-1, 1] (sum of plane waves, cheap and grid-independent)."""
    out = np.zeros(x.shape, dtype=np.float32)
    for k, ph in zip(tumor.wave_k.astype(np.float32), tumor.wave_phase, strict=True):
        out += np.cos(k[0] * x + k[1] * y + k[2] * z + np.float32(ph))
    return out * np.float32(0.5)


def memberships(
    tumor: Tumor, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft (tumor, edema, necrosis) memberships at points; edema and necrosis exclude each other."""
    noise = _margin_noise(tumor, x, y, z)
    tum = np.zeros(x.shape, dtype=np.float32)
    oedema = np.zeros(x.shape, dtype=np.float32)
    necro = np.zeros(x.shape, dtype=np.float32)
    for i, (c, ax, rot) in enumerate(zip(tumor.centers, tumor.axes, tumor.rotations, strict=True)):
        rm = rot.astype(np.float32)
        dx, dy, dz = x - np.float32(c[0]), y - np.float32(c[1]), z - np.float32(c[2])
        q2 = np.zeros(x.shape, dtype=np.float32)
        for j in range(3):
            loc = rm[0, j] * dx + rm[1, j] * dy + rm[2, j] * dz
            q2 += (loc / np.float32(ax[j])) ** 2
        q = np.sqrt(q2)
        scale = np.float32(ax.mean() / tumor.softness_mm)
        level = 1.0 - q + np.float32(tumor.irregularity) * noise
        np.maximum(tum, np.clip(0.5 + level * scale, 0, 1), out=tum)
        edge = np.float32(tumor.edema_mm / ax.mean())
        np.maximum(oedema, np.clip(0.5 + (level + edge) * scale, 0, 1), out=oedema)
        if i == 0 and tumor.necrosis_radius > 0:
            core = np.float32(tumor.necrosis_radius) - q + np.float32(0.15) * noise
            necro = np.clip(0.5 + core * scale, 0, 1)
    oedema = np.clip(oedema - tum, 0, 1)
    return tum, oedema, np.minimum(necro, tum)


@dataclass(frozen=True)
class TumorTruth:
    """Geometry measured on a fine isotropic sampling of the continuous tumor."""

    volume_ml: float
    doi_mm: float
    greatest_dim_mm: float


def measure(
    tumor: Tumor, anat: Anatomy, step_mm: float | None = None, volume_only: bool = False
) -> TumorTruth:
    """Volume (soft), true depth of invasion and greatest dimension of the tumor (mask = membership >= 0.5).

    DOI is the deepest tumor point below the tongue's mucosal surface (the ellipsoid), so exophytic
    growth does not count, as in AJCC 8th edition.
    """
    if step_mm is None:
        # ~12 samples per main radius keeps the cost flat from 0.3 to 30 ml.
        step_mm = float(np.clip(np.cbrt(np.prod(tumor.axes[0])) / 12.0, 0.4, 1.2))
    lo, hi = tumor.bounds(pad_mm=2.0)
    lo = lo - 8.0  # room for the surface distance transform to find the mucosa
    hi = hi + 8.0
    axes = [np.arange(a, b, step_mm, dtype=np.float32) for a, b in zip(lo, hi, strict=True)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    tum, _, _ = memberships(tumor, x, y, z)
    volume = float(tum.sum()) * step_mm**3 / 1000.0
    mask = tum >= 0.5
    if volume_only or not mask.any():
        return TumorTruth(volume, 0.0, 0.0)
    inside = tongue_inside(anat, x, y, z)
    depth = ndimage.distance_transform_edt(inside, sampling=step_mm)
    doi = float(depth[mask].max())
    pts = np.stack([x[mask], y[mask], z[mask]], axis=1)
    try:
        pts = pts[ConvexHull(pts).vertices]
    except QhullError:  # flat or tiny tumor: bound the pairwise search instead
        pts = pts[:: max(1, len(pts) // 2000)]
    diffs = pts[:, None, :] - pts[None, :, :]
    gd = float(np.sqrt((diffs**2).sum(-1)).max()) + step_mm
    return TumorTruth(volume, doi, gd)


def draw_calibrated_tumor(rng: np.random.Generator, anat: Anatomy) -> tuple[Tumor, TumorTruth, float]:
    """Draw a log-normal target volume, a tumor shape, and rescale it so its volume hits the target."""
    while True:
        target = float(np.exp(rng.normal(np.log(VOLUME_MEDIAN_ML), VOLUME_LOG_SD)))
        if VOLUME_RANGE_ML[0] <= target <= VOLUME_RANGE_ML[1]:
            break
    tumor = draw_tumor(rng, anat, target)
    coarse = measure(tumor, anat, step_mm=1.2, volume_only=True)
    if coarse.volume_ml > 0:
        tumor = tumor.scaled((target / coarse.volume_ml) ** (1.0 / 3.0))
    return tumor, measure(tumor, anat), target
