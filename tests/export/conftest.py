"""Shared fixtures: a tiny SYNTHETIC cohort, a tiny untrained model folder, and one export of every format.

The export runs once per session (it is the expensive part: TensorFlow conversions, QAT, NNCF) and every
round-trip test reads its output folder.
"""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY_SIZE = 32


@pytest.fixture(scope="session")
def export_cohort(tmp_path_factory):
    from training.synth import write_cohort

    out = tmp_path_factory.mktemp("export_cohort")
    write_cohort(out, 4, seed=11, size_scale=0.5)
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, export_cohort):
    """An untrained tiny U-Net saved like a trained model folder (config.json, weights, split.json)."""
    import tensorflow as tf

    from training.seg.data import list_patients
    from training.seg.model import ModelConfig, build_model

    tf.keras.utils.set_random_seed(7)
    folder = tmp_path_factory.mktemp("tiny_model")
    config = ModelConfig(alpha=0.35, size=TINY_SIZE, decoder="light", decoder_filters=(16, 16, 8, 8))
    model = build_model(config)
    model.save_weights(str(folder / "best.weights.h5"))
    (folder / "config.json").write_text(json.dumps({"train": {"model": config.to_dict(), "fov_mm": 160.0},
                                                    "preprocess_version": "1"}))
    ids = list_patients(export_cohort)
    (folder / "split.json").write_text(json.dumps({"train": ids[:2], "validation": [], "test": ids[2:], "seed": 0}))
    return folder


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory, tiny_model, export_cohort):
    """Every format of the table exported from the tiny model (GPU-only ones skip here), validated."""
    from export.context import ExportSettings
    from export.exporter import export_model
    from inference.formats import FORMATS

    out = tmp_path_factory.mktemp("tiny_export")
    settings = ExportSettings(calibration_patients=2, calibration_slices=16, qat_steps=2, qat_batch=4, threads=1)
    said: list[str] = []  # the progress lines otscc export prints (test_progress_lines_read_in_their_number)
    report = export_model(tiny_model, out, [f.name for f in FORMATS], cohort=export_cohort,
                          validate_patients=1, settings=settings, progress=said.append)
    report.said = said
    return report
