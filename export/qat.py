"""Quantization-aware fine-tuning with tensorflow-model-optimization (tfmot, tf-keras only).

tfmot cannot quantize a model nested inside another (our encoder is a nested ``keras.Model``) nor the
``Rescaling`` input layer. So the float model is first *flattened* (its functional config rewritten with
the encoder's layers inlined, weights copied by layer name; outputs are identical), every layer except
``Rescaling`` is annotated, and a short fine-tune on training-split slices lets the weights adapt to the
fake-quantized activations. BatchNorm layers are frozen (inference statistics): a handful of batches of 8
would only add noise to the moving averages. The fine-tune is bounded by ``ExportSettings.qat_steps``.

tfmot starts every activation range at [-6, 6] and moves it by an exponential moving average with decay
0.999, i.e. it needs thousands of steps to find the real ranges; a short fine-tune would then train
against badly clipped activations (measured: worse than post-training quantization). So the ranges are
first set from the float model's activations on calibration slices (``initialize_ranges``).
"""

from __future__ import annotations

import copy
import logging
import time

import numpy as np

from export.context import ExportContext

log = logging.getLogger(__name__)


def _inline(ref: list, mapping: dict) -> list:
    """Rewrite one inbound-node reference ``[layer, node, tensor, kwargs]`` through ``mapping``."""
    target = mapping.get(ref[0])
    if target is None:
        return ref
    if isinstance(target, list) and target and isinstance(target[0], list):  # nested model outputs
        target = target[ref[2]]
    kwargs = ref[3] if len(ref) > 3 else {}
    return [target[0], target[1], target[2], kwargs]


def flatten_config(model) -> dict:
    """Functional config of ``model`` with nested functional models inlined (one level, as in our U-Net)."""
    config = model.get_config()
    layers, mapping = [], {}
    for layer in config["layers"]:
        if layer["class_name"] in ("Functional", "Model"):
            inner = layer["config"]
            inbound = layer["inbound_nodes"][0]
            inputs = {ref[0]: inbound[k] for k, ref in enumerate(inner["input_layers"])}
            for inner_layer in inner["layers"]:
                if inner_layer["class_name"] == "InputLayer":
                    continue
                inner_layer = copy.deepcopy(inner_layer)
                inner_layer["inbound_nodes"] = [[_inline(ref, inputs) for ref in node]
                                                for node in inner_layer["inbound_nodes"]]
                layers.append(inner_layer)
            mapping[layer["name"]] = inner["output_layers"]
            continue
        layer = copy.deepcopy(layer)
        layer["inbound_nodes"] = [[_inline(ref, mapping) for ref in node] for node in layer["inbound_nodes"]]
        layers.append(layer)
    config["layers"] = layers
    config["output_layers"] = [_inline(ref, mapping) for ref in config["output_layers"]]
    return config


def flatten_model(model):
    """A flat copy of ``model`` (same weights, same outputs) that tfmot can annotate."""
    import tf_keras as keras

    from training.seg.model import leaf_layers

    flat = keras.Model.from_config(flatten_config(model))
    source = {layer.name: layer for layer in leaf_layers(model)}
    for layer in flat.layers:
        if layer.weights:
            layer.set_weights(source[layer.name].get_weights())
    return flat


def annotate(flat):
    """Clone with quantization annotations on every layer tfmot supports (all but Rescaling), BN frozen."""
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    def clone(layer):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
        if isinstance(layer, keras.layers.Rescaling | keras.layers.InputLayer):
            return layer.__class__.from_config(layer.get_config())
        return tfmot.quantization.keras.quantize_annotate_layer(layer.__class__.from_config(layer.get_config()))

    annotated = keras.models.clone_model(flat, clone_function=clone)
    annotated.set_weights(flat.get_weights())
    return annotated


def _activation_ranges(flat, samples: np.ndarray, batch: int = 8) -> tuple[dict, list]:
    """Running (min, max) of every layer output of the float model, and of the depthwise half of each
    SeparableConv2D (tfmot splits those into DepthwiseConv2D + Conv2D with a quantizer in between)."""
    import tensorflow as tf
    import tf_keras as keras

    layers = [layer for layer in flat.layers if not isinstance(layer, keras.layers.InputLayer)]
    separables = [layer for layer in layers if isinstance(layer, keras.layers.SeparableConv2D)]
    probe = keras.Model(flat.inputs, [layer.output for layer in layers] + [s.input for s in separables])
    ranges: dict[str, list[float]] = {}
    split: list[list[float]] = [[0.0, 0.0] for _ in separables]
    for start in range(0, len(samples), batch):
        outs = probe(samples[start:start + batch], training=False)
        for layer, out in zip(layers, outs[:len(layers)], strict=True):
            lo, hi = ranges.setdefault(layer.name, [0.0, 0.0])
            ranges[layer.name] = [min(lo, float(tf.reduce_min(out))), max(hi, float(tf.reduce_max(out)))]
        for i, (sep, x) in enumerate(zip(separables, outs[len(layers):], strict=True)):
            dw = tf.nn.depthwise_conv2d(x, sep.depthwise_kernel, [1, *sep.strides, 1], sep.padding.upper(),
                                        dilations=sep.dilation_rate)
            split[i] = [min(split[i][0], float(tf.reduce_min(dw))), max(split[i][1], float(tf.reduce_max(dw)))]
    return ranges, split


def initialize_ranges(qat, flat, samples: np.ndarray) -> int:
    """Set the activation quantizers' min/max variables from float activations.

    Returns:
        How many quantizers were set (the others keep tfmot's initial range).
    """
    import tf_keras as keras

    ranges, split = _activation_ranges(flat, samples)
    split_wrappers = [layer for layer in qat.layers if getattr(layer, "layer", None) is not None
                      and isinstance(layer.layer, keras.layers.DepthwiseConv2D) and layer.layer.name not in ranges]
    if len(split_wrappers) == len(split):  # created in model order, one per SeparableConv2D
        ranges.update({w.layer.name: r for w, r in zip(split_wrappers, split, strict=True)})
    done = 0
    for layer in qat.layers:
        inner = getattr(layer, "layer", None)
        if inner is None or inner.name not in ranges:
            continue
        lo, hi = ranges[inner.name]
        for var in layer.weights:
            short = var.name.split("/")[-1].split(":")[0]
            if short in ("output_min", "post_activation_min"):
                var.assign(lo)
                done += 1
            elif short in ("output_max", "post_activation_max"):
                var.assign(hi)
    return done


#: at most this many fine-tuning steps run eagerly (``quantization_aware_model``)
EAGER_QAT_STEPS = 5


def quantization_aware_model(ctx: ExportContext):
    """Fine-tuned quantization-aware model (batch dimension free) and facts for the report."""
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    from training.seg import data
    from training.seg.train import dice_bce_loss

    settings = ctx.settings
    cases = ctx.training_cases  # raises FormatSkipped without a cohort
    start = time.perf_counter()
    flat = flatten_model(ctx.build_float(None))
    with tfmot.quantization.keras.quantize_scope():
        model = tfmot.quantization.keras.quantize_apply(annotate(flat))
    initialized = initialize_ranges(model, flat, ctx.calibration)
    # A few steps (a smoke run, the test suite's 2) run eagerly: tracing the quantized graph took longer than the
    # steps themselves (9.5 s against 2.0 s for 2 steps of a 32x32 model; 43 s of tracing on a slow 2-core machine).
    eager = settings.qat_steps <= EAGER_QAT_STEPS
    model.compile(optimizer=keras.optimizers.Adam(settings.qat_learning_rate), loss=dice_bce_loss, run_eagerly=eager)
    losses = []
    for x, y in data.batches(cases, settings.qat_batch, settings.qat_steps, settings.seed, aug=None):
        losses.append(float(model.train_on_batch(x, y)))
    facts = {"steps": settings.qat_steps, "batch": settings.qat_batch, "learning_rate": settings.qat_learning_rate,
             "loss_first": round(losses[0], 4) if losses else None,
             "loss_last_5_mean": round(float(np.mean(losses[-5:])), 4) if losses else None,
             "frozen_batchnorm": True, "ranges_initialized": initialized, "eager": eager,
             "seconds": round(time.perf_counter() - start, 1)}
    log.info("QAT fine-tune: %s", facts)
    return model, facts
