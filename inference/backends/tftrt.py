"""TF-TRT backend: a TensorRT-optimized SavedModel (``tf_trt/``) run by TensorFlow on an NVIDIA GPU.

Only where TensorFlow is built with TensorRT (the pip wheels are not) and sees a GPU; otherwise the
backend says which of the two is missing. Not exercised on the development machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.backends.base import (
    BackendUnavailableError,
    SegBackend,
    check_device,
    package_version,
    resolve_for,
    runtime_message,
)
from inference.backends.keras import import_tensorflow


def tftrt_unavailable_reason(tf) -> str | None:
    """Why TF-TRT cannot run here (None when it can)."""
    if not tf.sysconfig.get_build_info().get("is_tensorrt_build", False):
        return f"TensorFlow {tf.__version__} is built without TensorRT"
    if not tf.config.list_physical_devices("GPU"):
        return "TensorFlow sees no GPU"
    return None


class TFTRTBackend(SegBackend):
    name = "tf-trt"

    def __init__(self, model_path: Path, *, variant: str | None = None, device: str = "gpu",
                 threads: int | None = None, verify: bool = True) -> None:
        check_device(self.name, device, ("gpu",))
        resolved = resolve_for(self.name, Path(model_path), variant, verify=verify)  # before importing TF
        tf = import_tensorflow()
        reason = tftrt_unavailable_reason(tf)
        if reason:
            raise BackendUnavailableError(reason)
        try:
            self._loaded = tf.saved_model.load(str(resolved.path))
        except (OSError, ValueError, RuntimeError) as exc:
            raise BackendUnavailableError(
                f"{resolved.path.name}: cannot load the TF-TRT SavedModel ({runtime_message(exc)})") from exc
        self._signature = self._loaded.signatures["serving_default"]
        spec = next(iter(self._signature.structured_input_signature[1].values()))
        self.max_batch, self.input_size = int(spec.shape[0] or 1), int(spec.shape[1])
        self._tf = tf
        self.model_file, self.integrity = resolved.path.name, resolved.integrity
        self.format_name, self.precision = resolved.format.name, resolved.format.precision
        self.runtime, self.device = package_version("tensorflow"), "gpu (TF-TRT)"

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self.max_batch:
            return np.concatenate([self.predict(batch[i:i + 1]) for i in range(batch.shape[0])])
        out = next(iter(self._signature(self._tf.constant(batch, self._tf.float32)).values()))
        return np.asarray(out.numpy(), np.float32)[..., 0]
