"""Keras (tf-keras) float backend: the reference the exported variants are validated against.

TensorFlow is imported with ``importlib`` inside this backend only; the runtime never needs it otherwise.
The network is rebuilt from ``config.json`` (plain data) and ``best.weights.h5`` (weights only): no pickled
objects, no Lambda layers, nothing executable is read from the model folder.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import numpy as np

from inference.backends.base import BackendUnavailableError, SegBackend


class KerasBackend(SegBackend):
    name = "keras"

    def __init__(self, model_path: Path, *, batch: int = 8, threads: int | None = None) -> None:
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        try:
            model_mod = importlib.import_module("training.seg.model")
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the Keras backend needs the training extra (TensorFlow, tf-keras): {exc}") from exc
        folder = Path(model_path)
        config_file, weights = folder / "config.json", folder / "best.weights.h5"
        if not config_file.is_file() or not weights.is_file():
            raise BackendUnavailableError(f"{folder}: needs config.json and best.weights.h5 for the Keras backend")
        config = model_mod.ModelConfig.from_dict(json.loads(config_file.read_text())["train"]["model"])
        self.model = model_mod.build_model(config)
        self.model.load_weights(str(weights))
        self.input_size, self.max_batch = config.size, batch
        self._tf = importlib.import_module("tensorflow")

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self.model(self._tf.constant(batch, self._tf.float32), training=False).numpy()[..., 0]
