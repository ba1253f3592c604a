"""Clinical variables, AJCC 8th edition T staging and the latent nodal-metastasis model.

The outcome is drawn from a logistic latent model (coefficients below, documented in docs/cohort.md):
depth of invasion and tumor size carry most of the risk; enhancement heterogeneity, necrosis and margin
irregularity (properties radiomics can see) add to it; a random patient effect keeps any model imperfect.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from training.synth.tumor import VOLUME_LOG_SD, VOLUME_MEDIAN_ML, Tumor, TumorTruth

MALE_SHARE = 0.74
AGE_MEAN, AGE_SD, AGE_RANGE = 50.0, 12.0, (20, 88)
MRI_NODE_SENSITIVITY = 0.72
MRI_NODE_SPECIFICITY = 0.85
DOI_BIAS_MM, DOI_SD_MM, DOI_REL_SD = 0.5, 1.0, 0.12
SIZE_REL_SD = 0.08

# Latent logistic model: logit P(LNM) = INTERCEPT + sum(coef * standardized term) + N(0, NOISE_SD).
# Calibrated on latent draws (intercept lowered after the 100-patient check): prevalence ~0.38,
# AUC(measured DOI) ~0.7-0.8, AUC(oracle logit) ~0.85.
INTERCEPT = -1.25
COEF = {
    "doi": 0.80,  # (true DOI mm - 6) / 4
    "size": 0.40,  # (ln volume ml - ln 2.2) / 1.15
    "heterogeneity": 0.70,  # (enhancement heterogeneity - 0.4) / 0.2
    "necrosis": 0.60,  # 1 if a necrotic core exists
    "irregularity": 0.60,  # (margin irregularity - 0.195) / 0.09
}
NOISE_SD = 1.0


def stage_t(greatest_dim_mm: float, doi_mm: float) -> str:
    """Clinical T stage of an oral-cavity tumor from greatest dimension and DOI (AJCC 8th, T4a not modelled).

    Args:
        greatest_dim_mm: Greatest tumor dimension in mm.
        doi_mm: Depth of invasion in mm.

    Returns:
        "T1", "T2" or "T3".

    Raises:
        ValueError: If a measurement is negative or not finite.
    """
    for name, value in (("greatest_dim_mm", greatest_dim_mm), ("doi_mm", doi_mm)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite non-negative number of mm, got {value!r}")
    if greatest_dim_mm > 40.0 or doi_mm > 10.0:
        return "T3"
    if greatest_dim_mm > 20.0 or doi_mm > 5.0:
        return "T2"
    return "T1"


def latent_terms(tumor: Tumor, truth: TumorTruth) -> dict[str, float]:
    """Standardized predictors of the latent outcome model."""
    return {
        "doi": (truth.doi_mm - 6.0) / 4.0,
        "size": (math.log(max(truth.volume_ml, 1e-3)) - math.log(VOLUME_MEDIAN_ML)) / VOLUME_LOG_SD,
        "heterogeneity": (tumor.heterogeneity - 0.4) / 0.2,
        "necrosis": 1.0 if tumor.necrosis_radius > 0 else 0.0,
        "irregularity": (tumor.irregularity - 0.195) / 0.09,
    }


@dataclass(frozen=True)
class Clinical:
    """One row of clinical.csv plus the latent risk (truth.csv)."""

    patient_id: str
    age: int
    sex: str
    ct_stage: str
    cn_status: int  # MRI-reported node status: 1 = node-positive (cN+), 0 = cN0
    doi_mm: float
    lnm: int
    size_mm: float
    risk_logit: float

    def csv_row(self) -> dict:
        keys = ("patient_id", "age", "sex", "ct_stage", "cn_status", "doi_mm", "lnm")
        return {k: asdict(self)[k] for k in keys}


def draw_clinical(rng: np.random.Generator, patient_id: str, tumor: Tumor, truth: TumorTruth) -> Clinical:
    """Demographics, radiologist measurements, T stage, MRI node report and the true outcome."""
    age = int(np.clip(round(rng.normal(AGE_MEAN, AGE_SD)), *AGE_RANGE))
    sex = "M" if rng.random() < MALE_SHARE else "F"
    doi = truth.doi_mm * (1.0 + rng.normal(0.0, DOI_REL_SD)) + rng.normal(DOI_BIAS_MM, DOI_SD_MM)
    doi = round(max(0.5, doi), 1)
    size = round(max(3.0, truth.greatest_dim_mm * (1.0 + rng.normal(0.0, SIZE_REL_SD))), 1)
    terms = latent_terms(tumor, truth)
    logit = INTERCEPT + sum(COEF[k] * v for k, v in terms.items()) + rng.normal(0.0, NOISE_SD)
    lnm = int(rng.random() < 1.0 / (1.0 + math.exp(-logit)))
    positive = rng.random() < (MRI_NODE_SENSITIVITY if lnm else 1.0 - MRI_NODE_SPECIFICITY)
    return Clinical(
        patient_id=patient_id,
        age=age,
        sex=sex,
        ct_stage=stage_t(size, doi),
        cn_status=int(positive),
        doi_mm=doi,
        lnm=lnm,
        size_mm=size,
        risk_logit=round(float(logit), 4),
    )
