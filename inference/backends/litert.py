"""LiteRT (TFLite) CPU backend with XNNPACK, via ai-edge-litert (never tf.lite, which is deprecated)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from inference.backends.base import BackendUnavailableError, SegBackend


class LiteRTBackend(SegBackend):
    name = "litert"

    def __init__(self, model_path: Path, *, threads: int | None = None) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise BackendUnavailableError(f"ai-edge-litert is not installed ({exc})") from exc
        model_path = Path(model_path)
        if model_path.is_dir():
            model_path = model_path / "model_fp32.tflite"
        if not model_path.is_file():
            raise BackendUnavailableError(f"{model_path}: no .tflite model file")
        self.threads = threads or min(4, os.cpu_count() or 1)
        try:
            self._interp = Interpreter(model_path=str(model_path), num_threads=self.threads)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailableError(f"{model_path.name}: LiteRT cannot load the model ({exc})") from exc
        inp = self._interp.get_input_details()[0]
        self._in, self._out = inp, self._interp.get_output_details()[0]
        shape = inp["shape"]
        self.max_batch, self.input_size = int(shape[0]), int(shape[1])
        self.model_file = model_path.name

    def _quantize(self, batch: np.ndarray) -> np.ndarray:
        dtype = self._in["dtype"]
        if dtype == np.float32:
            return batch.astype(np.float32)
        scale, zero = self._in["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(batch / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, out: np.ndarray) -> np.ndarray:
        if self._out["dtype"] == np.float32:
            return out.astype(np.float32)
        scale, zero = self._out["quantization"]
        return (out.astype(np.float32) - zero) * scale

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self.max_batch:
            return np.concatenate([self.predict(batch[i:i + 1]) for i in range(batch.shape[0])])
        self._interp.set_tensor(self._in["index"], self._quantize(batch))
        self._interp.invoke()
        return self._dequantize(self._interp.get_tensor(self._out["index"]))[..., 0]

    def describe(self) -> dict:
        return {**super().describe(), "threads": self.threads, "model_file": self.model_file}
