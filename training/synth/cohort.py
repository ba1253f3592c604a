"""Patient-level API: generate one SYNTHETIC patient, or write a whole cohort to disk."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.volume import Geometry, Volume
from training.synth.acquisition import make_texture, render_series
from training.synth.anatomy import Anatomy, draw_anatomy
from training.synth.appearance import FAT_SAT_SHARE, SEQUENCES, draw_contrast
from training.synth.clinical import Clinical, draw_clinical, latent_terms
from training.synth.geometry import RigidMotion, SeriesGeometry, draw_motion, draw_series_geometry
from training.synth.tumor import Tumor, TumorTruth, draw_calibrated_tumor

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class SyntheticPatient:
    """One generated patient. ``volumes`` hold int16 scanner units; ``mask`` lives on the CE-T1 grid."""

    patient_id: str
    volumes: dict[str, Volume]
    mask: Volume | None
    clinical: Clinical
    truth: dict
    labels: dict[str, np.ndarray] | None = None
    tumor_fraction: dict[str, np.ndarray] = field(default_factory=dict)


def _series_meta(sequence: str, fat_sat: bool, rng: np.random.Generator) -> dict:
    """Acquisition metadata a scanner would put in the DICOM header."""
    if sequence == "t2":
        return {"description": "T2 TSE AX", "protocol": "OTSCC T2 TSE AX", "tr_ms": round(rng.uniform(3500, 4500)),
                "te_ms": round(rng.uniform(85, 100)), "fat_sat": False, "contrast": None}
    post = sequence == "cet1"
    desc = "T1 TSE AX" + (" +C" if post else "") + (" FS" if fat_sat and post else "")
    return {
        "description": desc,
        "protocol": "OTSCC " + desc,
        "tr_ms": round(rng.uniform(450, 650)),
        "te_ms": round(rng.uniform(8, 14)),
        "fat_sat": bool(fat_sat and post),
        "contrast": "Gadoterate" if post else None,
    }


def _rngs(patient_id: str, seed: int) -> list[np.random.Generator]:
    # crc32 (not hash()) so the stream does not depend on PYTHONHASHSEED.
    root = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(patient_id.encode())])
    return [np.random.default_rng(s) for s in root.spawn(8)]


def _draw_geometry(rng: np.random.Generator, size_scale: float, fixed_grid: tuple[int, int] | None):
    center = np.array([rng.uniform(-8, 8), rng.uniform(0, 14), rng.uniform(-12, 2)])
    series = {"cet1": draw_series_geometry(rng, center, size_scale, fixed_grid)}
    motions: dict[str, RigidMotion | None] = {"cet1": None}
    for seq in ("t2", "t1"):
        series[seq] = draw_series_geometry(
            rng, center + rng.uniform(-8, 8, size=3), size_scale, fixed_grid
        )
        motions[seq] = draw_motion(rng, np.asarray(series["cet1"].center_mm))
    return series, motions


def generate_patient(
    patient_id: str,
    seed: int,
    *,
    size_scale: float = 1.0,
    fixed_grid: tuple[int, int] | None = None,
    with_labels: bool = False,
) -> SyntheticPatient:
    """Generate one SYNTHETIC patient deterministically from ``(patient_id, seed)``.

    Args:
        patient_id: Identifier written into outputs; also part of the random stream.
        seed: Cohort seed.
        size_scale: Below 1 shrinks matrices and slice counts for fast tests (geometry ranges then
            no longer hold); anatomy, tumor and clinical values are unchanged.
        fixed_grid: ``(matrix, slices)`` forced on every series (small committed samples).
        with_labels: Also return per-series tissue label maps (for statistics).

    Returns:
        The patient's three series, CE-T1 mask, clinical record and latent truth.
    """
    r_anat, r_tumor, r_clin, r_geo, r_tex, *r_seq = _rngs(patient_id, seed)
    anat: Anatomy = draw_anatomy(r_anat)
    tumor, ttruth = draw_calibrated_tumor(r_tumor, anat)[:2]
    clinical = draw_clinical(r_clin, patient_id, tumor, ttruth)
    series, motions = _draw_geometry(r_geo, size_scale, fixed_grid)
    texture = make_texture(r_tex)
    fat_sat = bool(r_geo.random() < FAT_SAT_SHARE)
    volumes, labels, fractions, contrasts = {}, {}, {}, {}
    for seq, rng in zip(SEQUENCES, r_seq, strict=False):
        con = draw_contrast(rng, seq, tumor.heterogeneity, fat_sat and seq == "cet1")
        out = render_series(
            anat, tumor, con, series[seq], motions[seq], texture, rng, with_labels,
            with_fraction=with_labels or seq == "cet1",
        )
        geo: Geometry = series[seq].grid()
        meta = {"sequence": seq, "synthetic": True, **_series_meta(seq, fat_sat, rng)}
        volumes[seq] = Volume(out.image, geo, meta)
        labels[seq], fractions[seq] = out.labels, out.tumor_fraction
        contrasts[seq] = {"cnr": round(con.cnr, 4), "snr": round(con.snr, 4), "scale": round(con.scale, 3)}
    mask = volumes["cet1"].with_array((fractions["cet1"] >= 0.5).astype(np.uint8), kind="mask")
    truth = _truth(patient_id, seed, anat, tumor, ttruth, clinical, series, motions, contrasts, fat_sat)
    log.debug("generated %s (%.2f ml)", patient_id, ttruth.volume_ml)
    return SyntheticPatient(
        patient_id, volumes, mask, clinical, truth, labels if with_labels else None, fractions
    )


def _truth(
    patient_id: str,
    seed: int,
    anat: Anatomy,
    tumor: Tumor,
    tt: TumorTruth,
    clinical: Clinical,
    series: dict[str, SeriesGeometry],
    motions: dict[str, RigidMotion | None],
    contrasts: dict,
    fat_sat: bool,
) -> dict:
    return {
        "synthetic": True,
        "patient_id": patient_id,
        "seed": int(seed),
        "volume_ml": round(tt.volume_ml, 4),
        "doi_true_mm": round(tt.doi_mm, 3),
        "greatest_dim_true_mm": round(tt.greatest_dim_mm, 3),
        "size_measured_mm": clinical.size_mm,
        "site": tumor.site,
        "side": tumor.side,
        "heterogeneity": round(tumor.heterogeneity, 4),
        "necrosis": tumor.necrosis_radius > 0,
        "irregularity": round(tumor.irregularity, 4),
        "fat_sat_cet1": fat_sat,
        "risk_logit": clinical.risk_logit,
        "latent_terms": {k: round(v, 4) for k, v in latent_terms(tumor, tt).items()},
        "contrast": contrasts,
        "series": {k: {"matrix": s.matrix, "acq_matrix": s.acq_matrix, "fov_mm": round(s.fov_mm, 4),
                       "slices": s.slices, "thickness_mm": s.thickness_mm} for k, s in series.items()},
        "misalignment": {k: m.to_dict() for k, m in motions.items() if m is not None},
        "anatomy": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in anat.to_dict().items()},
    }


def write_cohort(
    out_dir: str | Path,
    n_patients: int,
    seed: int,
    fmt: str = "nifti",
    preview: bool = False,
    progress: ProgressCallback | None = None,
    *,
    size_scale: float = 1.0,
) -> list[SyntheticPatient]:
    """Generate and write ``n_patients`` SYNTHETIC patients plus clinical.csv and truth.csv.

    Args:
        out_dir: Output folder (created if missing).
        n_patients: Number of patients (>= 1).
        seed: Cohort seed; the same seed writes the same bytes.
        fmt: "nifti" or "dicom".
        preview: Also write ``<patient_id>/preview.png``.
        progress: Called as ``progress(index, n_patients, patient_id)`` after each patient is written.
        size_scale: Shrinks the volumes (tests only).

    Returns:
        The generated patients, with image arrays and masks dropped to save memory.

    Raises:
        ValueError: If ``fmt`` or ``n_patients`` is invalid.
        FileExistsError: A patient's folder exists already (it is never replaced; nothing of it is touched).
    """
    from training.synth.writers import write_patient, write_tables

    if fmt not in ("nifti", "dicom"):
        raise ValueError(f"fmt must be 'nifti' or 'dicom', got {fmt!r}")
    if n_patients < 1:
        raise ValueError(f"n_patients must be at least 1, got {n_patients}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for i in range(n_patients):
        pid = f"SYN{i + 1:04d}"
        patient = generate_patient(pid, seed, size_scale=size_scale)
        write_patient(patient, out / pid, fmt=fmt, preview=preview)
        patient.volumes, patient.tumor_fraction, patient.mask = {}, {}, None
        done.append(patient)
        if progress is not None:
            progress(i + 1, n_patients, pid)
    write_tables(done, out)
    return done
