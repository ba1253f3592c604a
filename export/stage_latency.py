"""Where LiteRT spends its time in the light-decoder U-Net: fp32 and int8 per network stage.

``python -m export.stage_latency [--model assets/models/seg] [--threads 2] [--rounds 12] [--json FILE]``

Converts the float model cut after the encoder and after each decoder stage, plus the whole model, to TFLite
fp32 and full-integer int8 (calibrated on the sample patient's model-grid slices), and times ``invoke()`` in
rotating blocks in one process. Differences between consecutive cuts are the stages' costs; their fp32/int8
ratios show which stages int8 speeds up (``docs/export.md``, "What limits int8 over fp32").

It also builds ``phase-head``: the same network with its last two layers (bilinear x2 upsampling, then a 3x3
convolution to one channel at 256x256) rewritten as a 3x3 convolution to four channels at 128x128 followed by
depth-to-space. Both are linear, so inside the image this is the same function (checked and reported: the
largest difference of the probabilities and the number of mask voxels that change); only the outermost two
rows and columns differ (bilinear resizing clamps at the border where the rewrite sees zero padding). This module
measures; the shipped model is unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from inference.assets import DEFAULT_SEG_MODEL
from inference.tf_env import prepare_tensorflow_env

prepare_tensorflow_env()  # tf-keras mode and TensorFlow's log level, before TensorFlow loads

CUTS = ("encoder", "dec0_fuse_relu", "dec1_fuse_relu", "dec2_fuse_relu", "dec3_fuse_relu")


def bilinear_conv_as_phases(kernel: np.ndarray) -> np.ndarray:
    """(3, 3, C, 1) kernel applied after bilinear x2 upsampling (half-pixel centres) -> (3, 3, C, 4) kernel at
    the low resolution whose channel ``2 * a + b`` is output phase (row 2i+a, column 2j+b), for depth-to-space."""
    taps = np.zeros((2, 3, 3))  # [phase, tap dy + 1, low-res offset + 1]
    for phase in range(2):
        for dy in (-1, 0, 1):
            k, odd = divmod(phase + dy, 2)  # high-res position 2i + phase + dy = 2k + odd
            near, far = (k, k - 1) if not odd else (k, k + 1)
            taps[phase, dy + 1, near + 1] += 0.75
            taps[phase, dy + 1, far + 1] += 0.25
    out = np.zeros((3, 3, kernel.shape[2], 4), np.float32)
    for a in range(2):
        for b in range(2):
            out[..., 2 * a + b] = np.einsum("yxc,yo,xq->oqc", kernel[..., 0], taps[a], taps[b])
    return out


def _networks(model_dir: Path):
    import tensorflow as tf
    import tf_keras as keras

    from training.seg.model import load_trained

    full, train = load_trained(model_dir, batch_size=1)
    if train["model"]["decoder"] != "light" or train["model"].get("head_skip"):
        raise SystemExit("stage_latency: expects the light decoder without --head-skip")
    nets = {}
    for cut in CUTS:
        if cut == "encoder":  # every encoder output the decoder uses
            outs = [full.get_layer("dec0_up").input] + [full.get_layer(f"dec{i}_cat").input[1] for i in range(4)]
        else:
            outs = full.get_layer(cut).output
        nets[cut] = keras.Model(full.input, outs)
    nets["whole model"] = full
    kernel, bias = full.get_layer("head").get_weights()
    conv = keras.layers.Conv2D(4, 3, padding="same", name="head_phases")
    probs = keras.layers.Activation("sigmoid")(conv(full.get_layer("head_up").input))
    out = keras.layers.Lambda(lambda t: tf.nn.depth_to_space(t, 2), name="depth_to_space")(probs)
    phase = keras.Model(full.input, out)
    conv.set_weights([bilinear_conv_as_phases(kernel), np.repeat(bias, 4)])
    nets["phase-head"] = phase
    return nets


def measure(model_dir: Path, threads: int, rounds: int) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    from export.latency import _sample_slices
    from export.tflite import convert

    stack, _ = _sample_slices(256)
    stack = stack.astype(np.float32)
    calibration = [stack[i:i + 1] for i in range(len(stack))]
    nets = _networks(model_dir)
    whole, phase = nets["whole model"].predict(stack, verbose=0), nets["phase-head"].predict(stack, verbose=0)
    interpreters = {}
    for name, net in nets.items():
        for kind in ("fp32", "int8"):
            blob = convert(net, kind=kind, representative=(lambda: ([x] for x in calibration)))
            it = Interpreter(model_content=blob, num_threads=threads)
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], calibration[len(calibration) // 2])
            interpreters[name, kind] = it
    times = {key: [] for key in interpreters}
    for _ in range(rounds):  # rotating blocks: 3 untimed + 10 timed calls each
        for key, it in interpreters.items():
            for _ in range(3):
                it.invoke()
            for _ in range(10):
                t0 = time.perf_counter()
                it.invoke()
                times[key].append(time.perf_counter() - t0)
    med = {key: 1000 * float(np.median(v)) for key, v in times.items()}
    rows = [{"network": name, "fp32_ms": round(med[name, "fp32"], 3), "int8_ms": round(med[name, "int8"], 3),
             "fp32_over_int8": round(med[name, "fp32"] / med[name, "int8"], 2)} for name in nets]
    return {"model": os.path.relpath(model_dir), "threads": threads, "timed_calls": 10 * rounds, "rows": rows,
            "phase_head_check": {"max_abs_prob_diff": float(np.abs(whole - phase).max()),
                                 "max_abs_prob_diff_inside": float(np.abs(whole - phase)[:, 2:-2, 2:-2].max()),
                                 "mask_voxels_changed": int(((whole > 0.5) != (phase > 0.5)).sum()),
                                 "mask_voxels": int((whole > 0.5).sum())}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=2, help="LiteRT threads (default: 2)")
    parser.add_argument("--rounds", type=int, default=12, help="rounds of 10 timed calls per network (default: 12)")
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args(argv)
    result = measure(Path(args.model) if args.model else DEFAULT_SEG_MODEL, args.threads, args.rounds)
    previous = None
    for row in result["rows"]:
        stage = ""
        if row["network"] in CUTS[1:] + ("whole model",) and previous:
            d32, d8 = row["fp32_ms"] - previous["fp32_ms"], row["int8_ms"] - previous["int8_ms"]
            stage = f"   stage +{d32:.2f} / +{d8:.2f} ms ({d32 / d8:.2f}x)" if d8 > 0 else ""
        sys.stdout.write(f"{row['network']:16s} fp32 {row['fp32_ms']:6.2f} ms  int8 {row['int8_ms']:6.2f} ms  "
                         f"{row['fp32_over_int8']:.2f}x{stage}\n")
        previous = row if row["network"] != "phase-head" else previous
    sys.stdout.write("phase-head vs whole model: " + json.dumps(result["phase_head_check"]) + "\n")
    if args.json:
        from inference.atomic import write_json

        write_json(Path(args.json), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
