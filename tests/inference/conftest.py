"""Fixtures of the inference tests: the sample patient predicted once per module on LiteRT (modules that need
another pipeline define their own ``pipeline``, which takes precedence)."""

from __future__ import annotations

import pytest

from inference.assets import SAMPLE_PATIENT
from inference.pipeline import Pipeline

#: the clinical values ``prediction`` scores the sample with (the modules using it import them)
CLINICAL = {"age": 62, "sex": "M", "ct_stage": "T2", "cn_status": 0, "doi_mm": 7.5}


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(backend="litert", threads=2)


@pytest.fixture(scope="module")
def prediction(pipeline):
    return pipeline.predict(pipeline.prepare(SAMPLE_PATIENT, register="never"), dict(CLINICAL))
