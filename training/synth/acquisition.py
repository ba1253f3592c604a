"""Render one MR series: labels -> intensities -> partial volume -> bias -> artefacts -> Rician noise.

The phantom is evaluated at the series' own acquisition grid (mapped through the patient's rigid motion
into the anatomy frame), supersampled across the slice thickness, then interpolated to the
reconstruction matrix as scanners do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from training.synth.anatomy import Anatomy, Tissue, label_points
from training.synth.appearance import Contrast
from training.synth.geometry import PointSampler, RigidMotion, SeriesGeometry
from training.synth.tumor import Tumor, memberships

MAX_BIAS = 0.25
BLUR_SHARE = 0.2
GHOST_SHARE = 0.15
_NO_TUMOR = np.array([Tissue.BACKGROUND, Tissue.CORTEX, Tissue.TEETH, Tissue.CSF, Tissue.CORD])
TEXTURE_SPACING_MM = 3.0
TEXTURE_DECIMATION = 4


@dataclass
class RenderedSeries:
    """One series on its reconstruction grid (arrays [z, y, x])."""

    image: np.ndarray  # int16 scanner units
    tumor_fraction: np.ndarray  # float32 partial-volume tumor membership
    labels: np.ndarray | None  # uint8 tissue of voxels whose sub-samples agree, 255 otherwise


def make_texture(rng: np.random.Generator) -> sitk.Image:
    """Smooth unit-variance noise on a coarse anatomy-frame grid, shared by all series of a patient."""
    shape = (80, 90, 80)  # z, y, x
    field = ndimage.gaussian_filter(rng.normal(size=shape).astype(np.float32), sigma=1.2)
    field /= field.std()
    img = sitk.GetImageFromArray(field)
    img.SetSpacing((TEXTURE_SPACING_MM,) * 3)
    img.SetOrigin((-120.0, -110.0, -120.0))
    return img


def _sample_texture(texture: sitk.Image, smp: PointSampler) -> np.ndarray:
    # The field is smooth on a 3 mm scale: sample it on a 4x coarser in-plane grid and interpolate.
    n_c = max(8, smp.shape[1] // TEXTURE_DECIMATION)
    fov = float(smp.xs[1] - smp.xs[0]) * smp.shape[2]
    sp = fov / n_c
    ref = sitk.Image(n_c, n_c, smp.shape[0], sitk.sitkFloat32)
    start = float(smp.xs[0]) - 0.5 * (fov / smp.shape[2]) + 0.5 * sp
    start_y = float(smp.ys[0]) - 0.5 * (fov / smp.shape[1]) + 0.5 * sp
    ref.SetOrigin((start, start_y, float(smp.zs[0])))
    dz = float(smp.zs[1] - smp.zs[0]) if smp.zs.size > 1 else 1.0
    ref.SetSpacing((sp, sp, dz))
    tr = sitk.AffineTransform(3)
    tr.SetMatrix(smp.A.ravel().tolist())
    tr.SetTranslation(smp.b.tolist())
    out = sitk.Resample(texture, ref, tr, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return _upsample(sitk.GetArrayViewFromImage(out), smp.shape[1])


def _intensities(anat: Anatomy, tumor: Tumor, con: Contrast, smp: PointSampler, tex: np.ndarray):
    lab = label_points(anat, smp)
    img = con.lut.astype(np.float32)[lab]
    img *= 1.0 + con.texture.astype(np.float32)[lab] * tex
    tongue = lab == Tissue.TONGUE
    # Intrinsic tongue muscle: alternating transverse/vertical fibre bundles seen as fine striation.
    stria = np.sin(np.float32(2 * np.pi / 3.5) * (smp.X[tongue] + 0.4 * smp.Z[tongue]) + 1.5 * tex[tongue])
    img[tongue] *= 1.0 + np.float32(0.06) * stria
    frac = np.zeros(smp.shape, dtype=np.float32)
    sl = smp.box(*tumor.bounds(pad_mm=2.0))
    if sl is not None:
        allowed = ~np.isin(lab[sl], _NO_TUMOR)
        tm, ed, nc = memberships(tumor, *smp.at(sl))
        tm *= allowed
        ed *= allowed & (lab[sl] != Tissue.AIR)
        nc *= allowed
        t_sig = np.float32(con.tumor) * (1.0 + np.float32(con.heterogeneity) * tex[sl])
        view = img[sl]
        view *= 1.0 - tm - ed
        view += ed * np.float32(con.edema) + (tm - nc) * t_sig + nc * np.float32(con.necrosis)
        frac[sl] = tm
    return img, frac, lab


def _bias(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    """Smooth multiplicative field 1 + f with |f| <= MAX_BIAS (separable cosines plus a tilt term)."""
    amp = rng.uniform(0.05, MAX_BIAS)
    coef = rng.uniform(-1.0, 1.0, size=4)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    axes = [np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape]
    f = (
        coef[0] * np.cos(np.pi * axes[0] / 2 + phase[0])[:, None, None]
        + coef[1] * np.cos(np.pi * axes[1] / 2 + phase[1])[None, :, None]
        + coef[2] * np.cos(np.pi * axes[2] / 2 + phase[2])[None, None, :]
        + coef[3] * (axes[1][:, None] * axes[2][None, :])[None]
    )
    return (1.0 + (amp / np.abs(coef).sum()) * f).astype(np.float32)


def _interp_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) linear-interpolation weights between two grids spanning the same field of view."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = np.zeros((n_out, n_in), dtype=np.float32)
    rows = np.arange(n_out)
    np.add.at(w, (rows, i0), 1.0 - (pos - i0))
    np.add.at(w, (rows, i1), pos - i0)
    return w


def _upsample(a: np.ndarray, n: int) -> np.ndarray:
    """In-plane linear interpolation of [z, y, x] to an n x n matrix (two small matmuls per slice)."""
    if a.shape[1] == n and a.shape[2] == n:
        return a
    wy = _interp_matrix(a.shape[1], n)
    wx_t = np.ascontiguousarray(_interp_matrix(a.shape[2], n).T)
    # One large GEMM along x, then one GEMM per slice along y: dense but BLAS-fast.
    along_x = (np.ascontiguousarray(a, dtype=np.float32).reshape(-1, a.shape[2]) @ wx_t).reshape(
        a.shape[0], a.shape[1], n
    )
    out = np.empty((a.shape[0], n, n), dtype=np.float32)
    for k in range(a.shape[0]):
        np.matmul(wy, along_x[k], out=out[k])
    return out


def _nearest(a: np.ndarray, n: int) -> np.ndarray:
    idx = np.minimum(((np.arange(n) + 0.5) * a.shape[1] / n).astype(np.intp), a.shape[1] - 1)
    return a[:, idx][:, :, idx]


def render_series(
    anat: Anatomy,
    tumor: Tumor,
    con: Contrast,
    series: SeriesGeometry,
    motion: RigidMotion | None,
    texture: sitk.Image,
    rng: np.random.Generator,
    with_labels: bool = False,
    with_fraction: bool = True,
) -> RenderedSeries:
    """Render one series on its reconstruction grid.

    Args:
        anat: Patient anatomy.
        tumor: Patient tumor.
        con: This series' contrast.
        series: This series' grid.
        motion: Patient motion before this series (None for the CE-T1 reference).
        texture: The patient's shared texture field.
        rng: This series' random stream.
        with_labels: Also return tissue labels on the reconstruction grid.
        with_fraction: Return the tumor fraction on the reconstruction grid (else an empty array).
    """
    smp = PointSampler(series, motion, z_sub=2)
    tex = _sample_texture(texture, smp)
    img, frac, lab = _intensities(anat, tumor, con, smp, tex)
    del tex
    n_z, n_y, n_x = series.slices, smp.shape[1], smp.shape[2]
    img = img.reshape(n_z, smp.z_sub, n_y, n_x).mean(axis=1)
    frac = frac.reshape(n_z, smp.z_sub, n_y, n_x).mean(axis=1)
    img *= np.float32(con.scale)
    img *= _bias(rng, img.shape)
    if rng.random() < BLUR_SHARE:
        img = ndimage.gaussian_filter(img, sigma=(0, *(rng.uniform(0.5, 1.0),) * 2))
    if rng.random() < GHOST_SHARE:
        # Motion ghost along the anterior-posterior phase-encoding direction.
        img += np.float32(rng.uniform(0.04, 0.1)) * np.roll(img, n_y // 2, axis=1)
    sigma = np.float32(con.sigma)
    real = img + sigma * rng.standard_normal(img.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(img.shape, dtype=np.float32)
    img = np.sqrt(real * real + imag * imag)
    img = _upsample(img, series.matrix)
    image = np.clip(np.rint(img), 0, 32767).astype(np.int16)
    labels = None
    if with_labels:
        pair = lab.reshape(n_z, smp.z_sub, n_y, n_x)
        pure = np.where((pair == pair[:, :1]).all(axis=1), pair[:, 0], 255).astype(np.uint8)
        labels = _nearest(pure, series.matrix)
    frac = _upsample(frac, series.matrix) if with_fraction else np.zeros((0, 0, 0), np.float32)
    return RenderedSeries(image, frac, labels)
