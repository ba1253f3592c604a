"""LiteRT converters: float32, float16 weights, full-integer int8 (calibrated) and int8 after QAT.

All start from a SavedModel of the float tf-keras model with the batch fixed to 1 (a dynamic batch leaves SHAPE/PACK/
STRIDED_SLICE ops outside XNNPACK). Int8 is *full-integer* post-training quantization with
representative cohort slices: dynamic-range quantization (``Optimize.DEFAULT`` without data) keeps float
activations and measured 25x slower here. Inputs and outputs stay float32 (a QUANTIZE/DEQUANTIZE pair at
the ends, both run by XNNPACK), so every runtime feeds the same tensor.

After conversion each file is opened with LiteRT and the XNNPACK delegation is checked
(``inference.backends.litert.delegation_report``); a file with ops left outside XNNPACK is a failure.
"""

from __future__ import annotations

import logging
from pathlib import Path

from export.context import ExportContext
from export.steps import ExportError
from inference.atomic import atomic_path
from inference.formats import ModelFormat

log = logging.getLogger(__name__)


def convert(source, *, kind: str, representative=None) -> bytes:
    """TFLite flatbuffer from a fixed-shape SavedModel folder (``export.saved_model.save_serving_model``)
    or from a live tf-keras model with a fixed batch (slower to convert).

    Args:
        kind: ``fp32`` | ``fp16`` | ``int8``.
        representative: generator of calibration inputs (required for int8).
    """
    import tensorflow as tf

    if isinstance(source, str | Path):
        converter = tf.lite.TFLiteConverter.from_saved_model(str(source))
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(source)
    if kind == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif kind == "int8":
        if representative is None:
            raise ExportError("int8 conversion needs representative (calibration) data")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif kind != "fp32":
        raise ValueError(f"unknown TFLite kind {kind!r}")
    return converter.convert()


def write_checked(blob: bytes, path: Path, threads: int | None = None) -> dict:
    """Write a flatbuffer atomically after checking it loads and runs fully under XNNPACK.

    Returns:
        The delegation report (op counts, partitions) for the export report.

    Raises:
        ExportError: LiteRT cannot load it, or ops were left outside XNNPACK.
    """
    from inference.backends.base import BackendUnavailableError
    from inference.backends.litert import delegation_report, open_interpreter

    with atomic_path(path) as tmp:
        tmp.write_bytes(blob)
        try:
            report = delegation_report(open_interpreter(tmp, threads or 1))
        except BackendUnavailableError as exc:
            raise ExportError(f"{path.name}: the converted model does not load in LiteRT ({exc})") from exc
        if not report["all_ops_delegated"]:
            raise ExportError(f"{path.name}: not every op runs under XNNPACK ({report['delegate_partitions']} "
                              f"partitions; left over: {', '.join(report['undelegated_ops']) or '?'})")
    return {"xnnpack": report}


def export_fp32(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    # from the Keras model, like training/seg/export_tflite.py: the same weights give a byte-identical file
    # (the SavedModel route names tensors differently), so the hash the model card quotes stays valid
    return write_checked(convert(ctx.float_model, kind="fp32"), path, ctx.settings.threads)


def export_fp16(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    return write_checked(convert(ctx.float_saved_model, kind="fp16"), path, ctx.settings.threads)


def export_int8(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    blob = convert(ctx.float_saved_model, kind="int8", representative=ctx.representative_dataset)
    details = write_checked(blob, path, ctx.settings.threads)
    return {**details, "calibration": {"slices": int(len(ctx.calibration)), "split": "train",
                                       "patients": len(ctx.training_cases)}}


def export_int8_qat(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    from export.qat import quantization_aware_model
    from export.saved_model import save_serving_model

    qat_model, facts = quantization_aware_model(ctx)
    saved = save_serving_model(qat_model, ctx.work_dir / "qat_saved_model", ctx.size)
    blob = convert(saved, kind="int8", representative=ctx.representative_dataset)
    return {**write_checked(blob, path, ctx.settings.threads), "qat": facts}
