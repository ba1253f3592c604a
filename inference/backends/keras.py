"""Keras (tf-keras) float backend: the reference the exported variants are validated against.

TensorFlow is imported with ``importlib`` inside this backend only; the runtime never needs it otherwise.
By default the network is rebuilt from ``config.json`` (plain data) and ``best.weights.h5`` (weights
only): no pickled objects, no Lambda layers, nothing executable is read from the model folder. With
``variant="keras"`` the exported SavedModel (a TensorFlow graph, no Python code) is loaded instead.
Inference runs in a ``tf.function`` (graph mode), the fair float peer of the other runtimes.
"""

from __future__ import annotations

import importlib
import json
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
from inference.backends.manifest import verify_reference
from inference.formats import REFERENCE_FILES
from inference.tf_env import prepare_tensorflow_env


def import_tensorflow(threads: int | None = None):
    """TensorFlow (legacy tf-keras mode) with its C++ logging quiet (``inference.tf_env.TF_LOG_LEVEL``), CPU threads
    set when the runtime is still unconfigured."""
    prepare_tensorflow_env()  # read when TensorFlow's libraries load
    try:
        tf = importlib.import_module("tensorflow")
    except ImportError as exc:
        raise BackendUnavailableError(f"TensorFlow is not installed (the train extra): {exc}") from exc
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialized in this process: keep its settings
            pass
    return tf


class KerasBackend(SegBackend):
    name = "keras"

    def __init__(self, model_path: Path, *, variant: str | None = None, device: str = "cpu",
                 threads: int | None = None, verify: bool = True, batch: int = 8) -> None:
        check_device(self.name, device, ("cpu",))
        folder = Path(model_path)
        if variant is None:  # the files are checked before TensorFlow is imported (seconds): refused fast
            self._check_reference(folder, verify)
            resolved = None
        else:
            resolved = resolve_for(self.name, folder, variant, verify=verify)
        self._tf = import_tensorflow(threads)
        self.threads, self.max_batch, self.format_name = threads, batch, variant
        self.runtime = f"{package_version('tensorflow')} ({package_version('tf-keras')})"
        if resolved is None:
            self._from_weights(folder)
        else:
            self._from_saved_model(resolved)

    def _check_reference(self, folder: Path, verify: bool) -> None:
        missing = [name for name in REFERENCE_FILES if not (folder / name).is_file()]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise BackendUnavailableError(
                f"{folder}: {' and '.join(missing)} {verb} missing: the Keras backend runs the float model, "
                "config.json + best.weights.h5 as otscc train-seg writes them into its --out folder (the app's bundle "
                "ships no weights and no TensorFlow); point --model at that folder, or choose an exported variant "
                "(--backend auto)")
        self.integrity = verify_reference(folder, verify=verify)

    def _from_weights(self, folder: Path) -> None:
        try:
            model_mod = importlib.import_module("training.seg.model")
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the Keras backend needs the training extra (TensorFlow, tf-keras): {exc}") from exc
        config_file, weights = folder / "config.json", folder / "best.weights.h5"
        try:
            config = model_mod.ModelConfig.from_dict(json.loads(config_file.read_text())["train"]["model"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackendUnavailableError(f"{config_file}: not a model configuration this version can read "
                                          f"({type(exc).__name__}: {exc})") from exc
        self.model = model_mod.build_model(config)
        try:
            self.model.load_weights(str(weights))
        except (OSError, ValueError, RuntimeError) as exc:  # h5py on a truncated or foreign file, a shape mismatch
            raise BackendUnavailableError(f"{weights}: the weights cannot be loaded ({runtime_message(exc)}); "
                                          "the file is damaged or belongs to another configuration") from exc
        self.input_size, self.model_file, self.format_name = config.size, weights.name, "keras-weights"
        tf = self._tf
        self._run = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)

    def _from_saved_model(self, resolved) -> None:
        try:
            loaded = self._tf.saved_model.load(str(resolved.path))
        except (OSError, ValueError, RuntimeError) as exc:
            raise BackendUnavailableError(f"{resolved.path.name}: TensorFlow cannot load the SavedModel "
                                          f"({runtime_message(exc)})") from exc
        self._loaded = loaded  # keep the trackable alive: the signature refers to it
        signature = loaded.signatures["serving_default"]
        spec = next(iter(signature.structured_input_signature[1].values()))
        self.input_size = int(spec.shape[1])
        self.model_file, self.integrity = resolved.path.name, resolved.integrity
        self.precision = resolved.format.precision

        def run(x):
            return next(iter(signature(x).values()))

        self._run = run
        if spec.shape[0] is not None:
            self.max_batch, self._fixed_batch = int(spec.shape[0]), True

    _fixed_batch = False

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self._fixed_batch and batch.shape[0] != self.max_batch:
            step = self.max_batch
            return np.concatenate([self.predict(batch[i:i + step]) for i in range(0, batch.shape[0], step)])
        out = self._run(self._tf.constant(batch, self._tf.float32))
        return np.asarray(out.numpy(), np.float32)[..., 0]

    def predict_stack(self, stack: np.ndarray, progress=None, cancelled=None) -> np.ndarray:
        if self.max_batch == 1 or stack.shape[0] % self.max_batch == 0:
            return super().predict_stack(stack, progress, cancelled)
        # pad the last batch so tf.function sees one input shape (no retracing per patient)
        n, step = stack.shape[0], self.max_batch
        padded = np.concatenate([stack, np.zeros((-n % step, *stack.shape[1:]), stack.dtype)])
        return super().predict_stack(padded, progress, cancelled)[:n]
