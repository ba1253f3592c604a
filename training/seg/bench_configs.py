"""Compare U-Net configurations: MACs, parameters, inference latency (Keras, LiteRT fp32) and training step time.

    python -m training.seg.bench_configs --runs 20 --out docs/segmentation_configs.json

Untrained weights (latency does not depend on them). Dice for each configuration comes from training
runs, see docs/segmentation.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

CONFIGS = (
    ("pix2pix-a1.0", {"alpha": 1.0, "decoder": "pix2pix"}),
    ("light-a1.0", {"alpha": 1.0, "decoder": "light"}),
    ("light-a0.5", {"alpha": 0.5, "decoder": "light"}),
    ("light-a0.35", {"alpha": 0.35, "decoder": "light"}),
)


def _median_ms(fn, runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def bench_one(name: str, kw: dict, runs: int, threads: int, train_batch: int, crop: int) -> dict:
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from training.seg.model import ModelConfig, build_model, count_macs
    from training.seg.train import dice_bce_loss

    cfg = ModelConfig(size=256, **kw)
    model = build_model(cfg, batch_size=1)
    x = np.random.default_rng(0).random((1, 256, 256, 3), dtype=np.float32)
    graph_call = tf.function(lambda t: model(t, training=False))  # no eager per-call overhead
    keras_ms = _median_ms(lambda: graph_call(tf.constant(x)).numpy(), runs)
    blob = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tflite"
        path.write_bytes(blob)
        interp = Interpreter(model_path=str(path), num_threads=threads)
        interp.allocate_tensors()
        inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]

        def run_lite():
            interp.set_tensor(inp, x)
            interp.invoke()
            interp.get_tensor(out)

        lite_ms = _median_ms(run_lite, runs)
    train_model = build_model(ModelConfig(size=crop, **kw))
    train_model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss=dice_bce_loss)
    xb = np.random.default_rng(1).random((train_batch, crop, crop, 3), dtype=np.float32)
    yb = (xb[..., :1] > 0.7).astype(np.float32)
    step_ms = _median_ms(lambda: train_model.train_on_batch(xb, yb), max(5, runs // 4), warmup=2)
    return {"config": name, **cfg.to_dict(), "params": int(model.count_params()), "gmacs_256": count_macs(model) / 1e9,
            "encoder_gmacs": count_macs(model.get_layer("encoder")) / 1e9, "keras_fp32_ms": keras_ms,
            "litert_fp32_ms": lite_ms, "tflite_mb": len(blob) / 1e6,
            f"train_step_ms_b{train_batch}_{crop}px": step_ms}


def main(argv=None) -> int:
    from inference.tf_env import prepare_tensorflow_env

    prepare_tensorflow_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per measurement (default: 20)")
    parser.add_argument("--threads", type=int, default=2, help="LiteRT threads (default: 2)")
    parser.add_argument("--train-batch", type=int, default=8, help="training batch (default: 8)")
    parser.add_argument("--crop", type=int, default=128, help="training crop size (default: 128)")
    parser.add_argument("--out", default=None, help="write results as JSON here (default: print only)")
    args = parser.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    rows = [bench_one(n, kw, args.runs, args.threads, args.train_batch, args.crop) for n, kw in CONFIGS]
    text = json.dumps(rows, indent=2)
    print(text)  # noqa: T201
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
