"""Shared fixtures for training tests: a tiny SYNTHETIC cohort written once per session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory):
    from training.synth import write_cohort

    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, 6, seed=5, size_scale=0.5)
    return out


@pytest.fixture(scope="session")
def tiny_stack_cache(tmp_path_factory):
    """One cache of prepared model stacks for the tiny trainings of a session (``train(..., cache_dir=...)``):
    registering and resampling the tiny cohort's patients took about 10 s of each training."""
    return tmp_path_factory.mktemp("stack_cache")
