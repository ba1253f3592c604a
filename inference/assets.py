"""Where the shipped assets live (models, parameter files, sample patients)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEFAULT_SEG_MODEL = ASSETS / "models" / "seg"
SAMPLE_PATIENT = ASSETS / "sample_patient"
DEFAULT_NOMOGRAM = ASSETS / "nomogram.json"
MODELS = ASSETS / "models"
#: parameter files in ``assets/`` that ``assets/manifest.json`` covers (and the bundle ships with it)
PARAMETER_FILES = ("nomogram.json", "nomogram.clinical.json", "radiomics.yaml")
