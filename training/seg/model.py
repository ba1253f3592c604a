"""MobileNetV2 U-Net for CE-T1/T2/T1 input, built with tf-keras so tfmot can quantize-aware-train it.

Encoder: ``tf_keras.applications.MobileNetV2`` (width ``alpha``), never with downloaded weights (the
product is offline; ``init_weights`` loads a user-supplied file). Skip connections are taken from the
expansion activations at 1/2, 1/4, 1/8 and 1/16 resolution (as in the TensorFlow segmentation tutorial).

Decoders:
* ``pix2pix``: the tutorial's transposed convolutions (512/256/128/64 filters + BN + ReLU). Carries ~85% of
  the multiply-accumulates at alpha 1.0.
* ``light`` (edge default, see docs/segmentation.md): bilinear upsampling + depthwise-separable 3x3
  convolutions with few filters. Bilinear RESIZE and separable convolutions run under XNNPACK and
  quantize cleanly to int8.

Model input: ``(size, size, 3)`` float32 in [0, 1] from ``inference.preprocess``; output: one sigmoid
probability map. The [0,1] -> [-1,1] shift MobileNetV2 expects is a layer inside the model, so every
runtime feeds the same tensor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import numpy as np

from inference.tf_env import prepare_tensorflow_env

prepare_tensorflow_env()  # legacy tf-keras, C++ log level 3 (no cuInit error without a GPU), unless the user chose

import tf_keras as keras  # noqa: E402  (after TF_USE_LEGACY_KERAS)

SKIP_LAYERS = ("block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu")
BOTTLENECK_LAYER = "block_16_project"
PIX2PIX_FILTERS = (512, 256, 128, 64)
LIGHT_FILTERS = (96, 64, 48, 32)
BN_MOMENTUM = 0.99


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network (stored beside the weights)."""

    alpha: float = 1.0
    size: int = 256
    decoder: str = "light"
    decoder_filters: tuple[int, ...] | None = None
    head_skip: bool = False  # light decoder: the output convolution also sees the 256x256 input itself

    def filters(self) -> tuple[int, ...]:
        if self.decoder_filters:
            return tuple(self.decoder_filters)
        return PIX2PIX_FILTERS if self.decoder == "pix2pix" else LIGHT_FILTERS

    def to_dict(self) -> dict:
        return {**asdict(self), "decoder_filters": list(self.filters())}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {k: data[k] for k in ("alpha", "size", "decoder", "head_skip") if k in data}
        filters = data.get("decoder_filters")
        return cls(**known, decoder_filters=tuple(filters) if filters else None)


def _upsample_pix2pix(x, filters: int, name: str):
    x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same", use_bias=False, name=f"{name}_tconv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _upsample_light(x, filters: int, name: str):
    x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(x)
    x = keras.layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu")(x)


def _fuse_light(x, filters: int, name: str):
    x = keras.layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_fuse")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_fuse_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_fuse_relu")(x)


def build_model(config: ModelConfig = ModelConfig(), *, batch_size: int | None = None,
                init_weights: str | None = None) -> keras.Model:
    """Build the U-Net.

    Args:
        config: width, input size and decoder.
        batch_size: fix the batch dimension (1 for export: a dynamic batch adds shape ops that stop
            XNNPACK delegation); None for training.
        init_weights: optional user-supplied weights file (same architecture) to start from.

    Returns:
        An uncompiled tf-keras Model ``(B, size, size, 3) -> (B, size, size, 1)``.
    """
    if config.head_skip and config.decoder != "light":
        raise ValueError("head_skip needs the light decoder")
    inputs = keras.Input((config.size, config.size, 3), batch_size=batch_size, name="mri")
    scaled = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inputs)
    encoder = keras.applications.MobileNetV2(input_shape=(config.size, config.size, 3), alpha=config.alpha,
                                             include_top=False, weights=None)
    outputs = [encoder.get_layer(n).output for n in (*SKIP_LAYERS, BOTTLENECK_LAYER)]
    down = keras.Model(encoder.input, outputs, name="encoder")
    *skips, x = down(scaled)
    for i, (filters, skip) in enumerate(zip(config.filters(), reversed(skips), strict=True)):
        name = f"dec{i}"
        if config.decoder == "pix2pix":
            x = _upsample_pix2pix(x, filters, name)
            x = keras.layers.Concatenate(name=f"{name}_cat")([x, skip])
        else:
            x = _upsample_light(x, filters, name)
            x = keras.layers.Concatenate(name=f"{name}_cat")([x, skip])
            x = _fuse_light(x, filters, name)
    if config.decoder == "pix2pix":
        logits = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", name="head")(x)
    else:
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name="head_up")(x)
        if config.head_skip:
            x = keras.layers.Concatenate(name="head_cat")([x, scaled])
        logits = keras.layers.Conv2D(1, 3, padding="same", name="head")(x)
    probs = keras.layers.Activation("sigmoid", dtype="float32", name="prob")(logits)
    model = keras.Model(inputs, probs, name=f"mnv2_unet_{config.decoder}_a{config.alpha:g}")
    # keras' MobileNetV2 uses BatchNorm momentum 0.999 (tuned for ImageNet-length runs): the moving
    # statistics then lag the weights for thousands of steps and inference-mode output is useless early on.
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    if init_weights:
        load_init_weights(model, init_weights, config)
    return model


def load_trained(model_dir, batch_size: int | None = None) -> tuple[keras.Model, dict]:
    """The network of a trained model folder (``config.json`` + ``best.weights.h5``) and its training config."""
    from pathlib import Path

    model_dir = Path(model_dir)
    train = json.loads((model_dir / "config.json").read_text())["train"]
    model = build_model(ModelConfig.from_dict(train["model"]), batch_size=batch_size)
    model.load_weights(str(model_dir / "best.weights.h5"))
    return model, train


def load_init_weights(model: keras.Model, path: str, config: ModelConfig) -> None:
    """Load a weights file of the same architecture; or of the same network without ``head_skip``.

    In the second case the output convolution's new input channels (the 256x256 input) start at zero, so
    the model starts out computing exactly what the loaded one did.
    """
    try:
        model.load_weights(path)
        return
    except ValueError as exc:
        if not config.head_skip:
            raise _weights_mismatch(path, config, exc) from exc
    source = build_model(replace(config, head_skip=False), init_weights=path)
    for layer in model.layers:
        if layer.name in ("head", "head_cat") or not layer.weights:
            continue
        layer.set_weights(source.get_layer(layer.name).get_weights())
    kernel, bias = source.get_layer("head").get_weights()
    new_kernel = np.zeros(model.get_layer("head").get_weights()[0].shape, kernel.dtype)
    new_kernel[:, :, : kernel.shape[2], :] = kernel
    model.get_layer("head").set_weights([new_kernel, bias])


def _weights_mismatch(path: str, config: ModelConfig, exc: Exception) -> Exception:
    """A clear error for a weights file of another architecture, naming the one it came from when known."""
    from pathlib import Path

    from inference.errors import InputError

    stored = Path(path).with_name("config.json")
    hint = ""
    if stored.is_file():
        try:
            m = json.loads(stored.read_text())["train"]["model"]
            hint = f" Its folder's config.json says alpha {m['alpha']}, decoder {m['decoder']}, size {m['size']}."
        except (ValueError, KeyError, TypeError):
            pass
    return InputError(f"{path}: these weights do not fit the network being built (alpha {config.alpha}, decoder "
                      f"{config.decoder}, size {config.size}).{hint} Pass the --alpha/--decoder/--size they were "
                      f"trained with. ({exc})")


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates for one input (convolutions and dense layers; BN/activations ignored)."""
    total = 0
    for layer in leaf_layers(model):
        total += _layer_macs(layer)
    return int(total)


def leaf_layers(model):
    """Every non-model layer of ``model``, descending into nested models (the encoder)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer


def _layer_macs(layer) -> int:
    if not hasattr(layer, "kernel_size"):
        return 0
    out_shape = layer.output_shape
    h, w, c_out = out_shape[1], out_shape[2], out_shape[3]
    kh, kw = layer.kernel_size
    c_in = layer.input_shape[3]
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return h * w * c_in * kh * kw
    if isinstance(layer, keras.layers.SeparableConv2D):
        return h * w * c_in * kh * kw + h * w * c_in * c_out
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return layer.input_shape[1] * layer.input_shape[2] * c_in * kh * kw * c_out
    return h * w * c_in * kh * kw * c_out
