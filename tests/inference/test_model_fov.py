"""A model runs on the field of view it was trained and validated on: ``train-seg --fov-mm 120`` is recorded in the
model's config and manifest, and export validated at 120 mm, but predict, eval-seg, benchmark and self-test built
the model grid at 160 mm whatever the model said."""

from __future__ import annotations

import json
import sys
import types

import numpy as np

from inference.backends import base
from inference.backends.base import SegBackend, load_backend
from inference.backends.manifest import DEFAULT_FOV_MM, SCHEMA_VERSION, model_fov_mm
from inference.segment import segment
from inference.volume import Geometry, Volume


def _config(folder, fov):
    folder.mkdir(parents=True, exist_ok=True)
    train = {"model": {"size": 64}, **({"fov_mm": fov} if fov else {})}
    (folder / "config.json").write_text(json.dumps({"train": train}))


def test_the_fov_comes_from_the_manifest_then_the_training_config_then_160(tmp_path):
    model = tmp_path / "m"
    _config(model, None)
    assert model_fov_mm(model) == DEFAULT_FOV_MM == 160.0  # every shipped model so far records none
    _config(model, 120.0)
    assert model_fov_mm(model) == 120.0 and model_fov_mm(model / "model_fp32.tflite") == 120.0
    (model / "manifest.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "variants": {},
                                                     "input": {"grid": {"size": 64, "fov_mm": 140.0}}}))
    assert model_fov_mm(model) == 140.0  # what the variants were exported and validated on
    _config(model, "wide")
    (model / "manifest.json").unlink()
    assert model_fov_mm(model) == 160.0


class _Recorder(SegBackend):
    name, input_size = "recorder", 32

    def __init__(self, model_path, **options):
        self.model_path = model_path

    def predict(self, batch):
        return np.zeros(batch.shape[:3], np.float32)


def test_load_backend_gives_the_backend_the_models_fov_and_segment_uses_it(tmp_path, monkeypatch):
    model = tmp_path / "m"
    _config(model, 120.0)
    module = types.ModuleType("fake_fov_backend")
    module.Recorder = _Recorder
    monkeypatch.setitem(sys.modules, "fake_fov_backend", module)
    monkeypatch.setitem(base.BACKENDS, "recorder", "fake_fov_backend:Recorder")
    backend = load_backend("recorder", model)
    assert backend.fov_mm == 120.0 and backend.describe()["fov_mm"] == 120.0
    grids = []
    import inference.segment

    real = inference.segment.to_model_stack
    monkeypatch.setattr(inference.segment, "to_model_stack", lambda volumes, grid: grids.append(grid) or real(
        volumes, grid))
    geometry = Geometry((40, 40, 4), (0.8, 0.8, 4.0), (0.0, 0.0, 0.0))
    volumes = {r: Volume(np.random.default_rng(0).random((4, 40, 40), dtype=np.float32), geometry)
               for r in ("cet1", "t2", "t1")}
    segment(volumes, backend)
    assert (grids[-1].size, grids[-1].fov_mm) == (32, 120.0)
    segment(volumes, backend, fov_mm=150.0)  # an explicit value still wins
    assert grids[-1].fov_mm == 150.0
