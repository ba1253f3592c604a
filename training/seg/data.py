"""Training data from a cohort folder: patient-level split, cached model-grid stacks, sampling, augmentation.

All image preparation goes through ``inference.intake`` and ``inference.preprocess`` (the runtime's own
code), so training sees exactly what the product feeds the model. Nothing is written into the cohort:
the split and the cache live in the model/output folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from inference.atomic import atomic_path, write_json
from inference.errors import InputError
from inference.intake import prepare_patient
from inference.preprocess import PREPROCESS_VERSION, ModelGrid, mask_to_model, to_model_stack

log = logging.getLogger(__name__)


@dataclass
class Case:
    """One patient on the model grid."""

    patient_id: str
    images: np.ndarray  # (z, size, size, 3) float16 in [0, 1]
    mask: np.ndarray  # (z, size, size) uint8

    @property
    def tumor_slices(self) -> np.ndarray:
        return np.flatnonzero(self.mask.reshape(self.mask.shape[0], -1).any(axis=1))


def list_patients(cohort: Path) -> list[str]:
    """Patient folders of a cohort (sorted, those with a mask file; not hidden ones such as a patient that
    ``otscc synth`` was still writing when it was killed)."""
    cohort = Path(cohort)
    if not cohort.is_dir():
        raise InputError(f"{cohort}: cohort folder not found.")
    ids = sorted(p.name for p in cohort.iterdir()
                 if p.is_dir() and not p.name.startswith(".") and any(p.glob("mask.*")))
    if not ids:
        raise InputError(f"{cohort}: no patient folders with a mask (expected <id>/cet1,t2,t1,mask .nii.gz).")
    return ids


def make_split(patient_ids: list[str], seed: int, fractions=(0.6, 0.1, 0.3)) -> dict[str, list[str]]:
    """Patient-level train/validation/test split (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    ids = list(patient_ids)
    rng.shuffle(ids)
    n_test = max(1, int(round(fractions[2] * len(ids))))
    n_val = max(1, int(round(fractions[1] * len(ids))))
    return {"test": sorted(ids[:n_test]), "validation": sorted(ids[n_test:n_test + n_val]),
            "train": sorted(ids[n_test + n_val:])}


def load_or_make_split(path: Path, patient_ids: list[str], seed: int, create: bool = True) -> dict[str, list[str]]:
    """Reuse ``path`` when present (and consistent with the cohort), else write a new split there
    (``create=False``: a missing file is an error), recording what it was drawn from: the seed and the number of
    patients (``drawn_from_patients``; train-seg's ``--max-patients`` takes the first N)."""
    path = Path(path)
    if not create and not path.is_file():
        raise InputError(f"{path}: split file not found (expected a split.json with train/validation/test).")
    if path.exists():
        split = json.loads(path.read_text())
        missing = {p for key in ("train", "validation", "test") for p in split[key]} - set(patient_ids)
        if missing:
            raise InputError(f"{path}: split names patients not in the cohort: {sorted(missing)[:5]}")
        return {k: split[k] for k in ("train", "validation", "test")}
    split = make_split(patient_ids, seed)
    write_json_atomic(path, {**split, "seed": seed, "drawn_from_patients": len(patient_ids)})
    return split


def write_json_atomic(path: Path, data: dict) -> None:
    write_json(path, data)


def _cache_key(folder: Path, grid: ModelGrid) -> str:
    parts = [PREPROCESS_VERSION, str(grid.size), str(grid.fov_mm)]
    for f in sorted(folder.iterdir()):
        if f.is_file():
            st = f.stat()
            parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def prepare_case(folder: Path, grid: ModelGrid, cache_dir: Path | None = None) -> Case:
    """Load, register and preprocess one cohort patient (cached as .npz in ``cache_dir``)."""
    folder = Path(folder)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"{folder.name}-{_cache_key(folder, grid)}.npz"
        if cache.exists():
            with np.load(cache) as data:
                return Case(folder.name, data["images"], data["mask"])
    prepared = prepare_patient(folder)
    if prepared.patient.mask is None:
        raise InputError(f"{folder}: no mask file; training needs ground truth.")
    stack, plan, _ = to_model_stack(prepared.volumes, grid)
    mask = (mask_to_model(prepared.patient.mask.array, plan) >= 0.5).astype(np.uint8)
    case = Case(folder.name, stack.astype(np.float16), mask)
    if cache is not None:
        with atomic_path(cache) as tmp:
            np.savez(tmp, images=case.images, mask=case.mask)
    return case


def load_cases(cohort: Path, ids: list[str], grid: ModelGrid, cache_dir: Path | None,
               progress: Callable[[int, int, str], None] | None = None) -> list[Case]:
    """Prepare the patients ``ids`` of a cohort, in order (``progress(i, n, id)`` after each).

    Raises:
        InputError: naming the cohort patient and what to do in a cohort (the per-patient options a
            single-patient command suggests, such as --t1 PATH, do not exist for training).
    """
    cases = []
    for i, pid in enumerate(ids):
        try:
            cases.append(prepare_case(Path(cohort) / pid, grid, cache_dir))
        except InputError as exc:
            hint = ("Fix that patient folder (files named cet1, t2, t1 and mask, e.g. 'cet1.nii.gz'), or move it out "
                    "of the cohort.")
            problem = exc.problem or str(exc)
            named = problem if problem.startswith(pid) else f"{pid}: {problem}"
            raise InputError(f"cohort patient {named}", cli_hint=hint) from exc
        if progress:
            progress(i + 1, len(ids), pid)
    return cases


@dataclass(frozen=True)
class AugmentConfig:
    flip_lr: bool = True  # tumors occur on either side of the tongue
    #: also mirror top-bottom (nnU-Net mirrors along every axis): with left-right flips and rotations up to 180
    #: degrees the tumor's position in the slice says nothing, so the model has to read its appearance
    flip_ud: bool = False
    max_rotation_deg: float = 10.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    gamma_range: tuple[float, float] = (0.8, 1.25)  # per channel: contrast changes between scanners
    intensity_jitter: float = 0.1  # per-channel gain/offset
    bias_field: float = 0.2  # multiplicative, smooth, up to +/-20%
    noise_sd: float = 0.02
    #: probability of lowering the tumor's contrast on CE-T1 or T2 (one of them), so the model learns to read
    #: the other sequence: the shipped model failed on tumors faint on CE-T1 but bright on T2
    tumor_contrast_p: float = 0.0
    tumor_contrast_kept: tuple[float, float] = (0.0, 0.6)  # fraction of the tumor-to-surroundings contrast kept


def augment(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
            cfg: AugmentConfig = AugmentConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Random geometric and intensity augmentation of one (H, W, 3) slice and its (H, W) mask."""
    image = image.astype(np.float32)
    if cfg.flip_lr and rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    if cfg.flip_ud and rng.random() < 0.5:
        image, mask = image[::-1], mask[::-1]
    angle = np.radians(rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg))
    scale = rng.uniform(*cfg.scale_range)
    if abs(angle) > 1e-3 or abs(scale - 1) > 1e-3:
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) / scale
        center = (np.array(mask.shape) - 1) / 2.0
        offset = center - rot @ center
        image = np.stack([ndimage.affine_transform(image[..., c], rot, offset, order=1, mode="constant")
                          for c in range(image.shape[-1])], axis=-1)
        mask = ndimage.affine_transform(mask.astype(np.float32), rot, offset, order=1, mode="constant")
    if cfg.tumor_contrast_p > 0 and rng.random() < cfg.tumor_contrast_p:
        image = lower_tumor_contrast(image, mask >= 0.5, int(rng.integers(2)), rng.uniform(*cfg.tumor_contrast_kept))
    h, w = mask.shape
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    for c in range(image.shape[-1]):
        coeffs = rng.uniform(-1, 1, 3) * cfg.bias_field / 2
        field = 1.0 + coeffs[0] * xx + coeffs[1] * yy + coeffs[2] * xx * yy
        gain = 1.0 + rng.uniform(-cfg.intensity_jitter, cfg.intensity_jitter)
        shift = rng.uniform(-cfg.intensity_jitter, cfg.intensity_jitter) / 2
        gamma = rng.uniform(*cfg.gamma_range)
        image[..., c] = np.clip(image[..., c], 0, 1) ** gamma * field * gain + shift
    image += rng.normal(0, cfg.noise_sd, image.shape)
    return np.clip(image, 0, 1).astype(np.float32), (mask >= 0.5).astype(np.float32)


def lower_tumor_contrast(image: np.ndarray, tumor: np.ndarray, channel: int, kept: float) -> np.ndarray:
    """Pull the tumor's intensities on ``channel`` toward its surroundings (a 2-6 px ring's median), keeping
    ``kept`` of the contrast, with a soft edge; other channels and slices without tumor are unchanged."""
    if not tumor.any():
        return image
    ring = ndimage.binary_dilation(tumor, iterations=6) & ~ndimage.binary_dilation(tumor, iterations=2)
    if not ring.any():
        return image
    background = float(np.median(image[..., channel][ring]))
    weight = ndimage.gaussian_filter(tumor.astype(np.float32), 1.0)
    out = image.copy()
    out[..., channel] -= (1.0 - kept) * weight * (out[..., channel] - background)
    return out


def site_weights(cohort: Path, ids: list[str], exponent: float) -> np.ndarray | None:
    """Patient sampling probabilities that even out tumor sites (``<patient>/truth.json`` "site").

    Each patient's weight is ``n_site ** -exponent``: 0 = every patient equally often (None is returned),
    1 = every site equally often (a site with 12 patients as often as one with 57), in between a compromise.
    """
    if exponent == 0:
        return None
    sites = []
    for pid in ids:
        path = Path(cohort) / pid / "truth.json"
        try:
            sites.append(str(json.loads(path.read_text())["site"]))
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: no tumor site to balance by ({exc}); site balancing needs a "
                             '"site" in each patient\'s truth.json (otscc synth writes it).') from exc
    count = Counter(sites)
    w = np.array([float(count[s]) ** -exponent for s in sites])
    return w / w.sum()


def sample_slices(cases: list[Case], n: int, rng: np.random.Generator, tumor_fraction: float = 0.6,
                  crop: int | None = None, case_p: np.ndarray | None = None,
                  ) -> Iterator[tuple[int, int, tuple[int, int] | None]]:
    """(case index, slice index, crop corner) with tumor slices oversampled to ``tumor_fraction``.

    ``case_p``: probability of each case (default: uniform), e.g. from :func:`site_weights`.
    """
    for _ in range(n):
        ci = int(rng.integers(len(cases))) if case_p is None else int(rng.choice(len(cases), p=case_p))
        case = cases[ci]
        tumor = case.tumor_slices
        if len(tumor) and rng.random() < tumor_fraction:
            zi = int(rng.choice(tumor))
        else:
            zi = int(rng.integers(case.mask.shape[0]))
        corner = None
        if crop:
            corner = _crop_corner(case.mask[zi], crop, rng, center_on_tumor=rng.random() < 0.7)
        yield ci, zi, corner


def _crop_corner(mask: np.ndarray, crop: int, rng: np.random.Generator, center_on_tumor: bool):
    size = mask.shape[0]
    if center_on_tumor and mask.any():
        ys, xs = np.nonzero(mask)
        k = int(rng.integers(len(ys)))
        cy, cx = ys[k] + rng.integers(-crop // 4, crop // 4 + 1), xs[k] + rng.integers(-crop // 4, crop // 4 + 1)
    else:
        cy, cx = rng.integers(crop // 2, size - crop // 2 + 1, 2)
    y0 = int(np.clip(cy - crop // 2, 0, size - crop))
    x0 = int(np.clip(cx - crop // 2, 0, size - crop))
    return y0, x0


def batches(cases: list[Case], batch_size: int, steps: int, seed: int, aug: AugmentConfig | None,
            crop: int | None = None, tumor_fraction: float = 0.6,
            case_p: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Deterministic batches for one epoch (same seed, same batches)."""
    rng = np.random.default_rng(seed)
    picks = list(sample_slices(cases, steps * batch_size, rng, tumor_fraction, crop, case_p))
    for b in range(steps):
        xs, ys = [], []
        for ci, zi, corner in picks[b * batch_size:(b + 1) * batch_size]:
            img, msk = cases[ci].images[zi], cases[ci].mask[zi]
            if corner is not None:
                y0, x0 = corner
                img, msk = img[y0:y0 + crop, x0:x0 + crop], msk[y0:y0 + crop, x0:x0 + crop]
            if aug is not None:
                img, msk = augment(img, msk, rng, aug)
            xs.append(np.asarray(img, np.float32))
            ys.append(np.asarray(msk, np.float32)[..., None])
        yield np.stack(xs), np.stack(ys)
