"""The float model as a TensorFlow SavedModel (the ``keras`` row; TF-TRT and every TFLite variant start
from such a SavedModel).

The SavedModel holds only the variables and one ``serving_default`` function with a fixed
``(1, S, S, 3)`` float32 input ``mri`` and output ``prob`` (a ``tf.Module``, not the Keras object graph):
it saves in seconds instead of tens of seconds, and the TFLite converter reads it about 6x faster than
it converts a live Keras model (measured on the tiny test model: 4 s vs 28 s).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from export.context import ExportContext
from export.steps import atomic_dir
from inference.formats import ModelFormat


def save_serving_model(model, path: Path, size: int) -> Path:
    """Write ``model`` as a SavedModel with one fixed-shape serving signature."""
    import tensorflow as tf

    spec = tf.TensorSpec((1, size, size, 3), tf.float32, name="mri")
    module = tf.Module()
    module.variables_ = model.variables
    module.serve = tf.function(lambda mri: {"prob": model(mri, training=False)}, input_signature=[spec])
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return Path(path)


def export_saved_model(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    with atomic_dir(path) as tmp:
        shutil.copytree(ctx.float_saved_model, tmp)
    return {"signature": {"input": "mri", "shape": [1, ctx.size, ctx.size, 3], "output": "prob"}}
