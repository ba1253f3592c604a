"""Float32 LiteRT model for the runtime (the export issue adds fp16/int8/QAT and the others).

The batch dimension is fixed to 1: a dynamic batch adds SHAPE/STRIDED_SLICE/PACK ops before the
decoder's resize/transposed convolutions, which stops XNNPACK delegation and doubles fp32 latency.
"""

from __future__ import annotations

from pathlib import Path

from inference.atomic import atomic_path
from training.seg.model import load_trained


def export_fp32(model_dir: Path, out: Path | None = None) -> Path:
    """Write ``model_fp32.tflite`` next to the weights (atomically) and return its path."""
    import tensorflow as tf

    model_dir = Path(model_dir)
    model, _ = load_trained(model_dir, batch_size=1)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    blob = converter.convert()
    out = Path(out or model_dir / "model_fp32.tflite")
    with atomic_path(out) as tmp:
        tmp.write_bytes(blob)
    return out
