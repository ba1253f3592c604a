"""ONNX (tf2onnx) and OpenVINO int8 (NNCF post-training quantization) converters.

The ONNX file keeps the model's NHWC float32 input ``mri`` of fixed shape (1, S, S, 3), so ONNX Runtime,
OpenVINO and TensorRT are fed exactly what LiteRT is. The OpenVINO variant reads that ONNX file with
``openvino.Core`` (not ``ovc``/``convert_model``, which carry telemetry), quantizes it with NNCF on the same
training-split calibration slices as the TFLite int8 variant, and saves IR (``.xml`` + ``.bin``).
Telemetry is switched off before NNCF is imported (``inference.backends.ov.disable_openvino_telemetry``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path

from export.context import ExportContext
from export.steps import ExportError, FormatSkipped
from inference.atomic import atomic_path
from inference.formats import ModelFormat

log = logging.getLogger(__name__)

OPSET = 17


def export_onnx(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    import tensorflow as tf

    try:
        import onnx
        import tf2onnx
    except ImportError as exc:
        raise FormatSkipped(f"tf2onnx/onnx are not installed (train extra): {exc}") from exc
    spec = (tf.TensorSpec((1, ctx.size, ctx.size, 3), tf.float32, name="mri"),)
    proto, _ = tf2onnx.convert.from_keras(ctx.float_model, input_signature=spec, opset=OPSET)
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"tf2onnx produced an invalid ONNX graph: {exc}") from exc
    with atomic_path(path) as tmp:
        onnx.save(proto, str(tmp))
    ops = Counter(node.op_type for node in proto.graph.node)
    return {"opset": OPSET, "ops": sum(ops.values()), "op_counts": dict(sorted(ops.items())),
            "input": {"name": proto.graph.input[0].name, "shape": [1, ctx.size, ctx.size, 3], "layout": "NHWC"}}


def export_openvino_int8(ctx: ExportContext, fmt: ModelFormat, path: Path) -> dict:
    from inference.backends.ov import disable_openvino_telemetry

    disable_openvino_telemetry()  # before nncf is imported: it reads NNCF_CI at import
    try:
        import nncf
        import openvino as ov
    except ImportError as exc:
        raise FormatSkipped(f"openvino/nncf are not installed (train extra): {exc}") from exc
    source = ctx.out_dir / "model.onnx"
    if not source.is_file():
        raise ExportError(f"{source}: the ONNX file this variant is built from is missing")
    calibration = ctx.calibration  # FormatSkipped without a cohort
    model = ov.Core().read_model(str(source))
    dataset = nncf.Dataset(list(calibration), lambda slice_: slice_[None])
    quantized = nncf.quantize(model, dataset, subset_size=len(calibration),
                              preset=nncf.QuantizationPreset.PERFORMANCE)
    bin_path = path.with_suffix(".bin")
    tmp_xml = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp_bin = tmp_xml.with_suffix(".bin")
    try:
        ov.save_model(quantized, str(tmp_xml), compress_to_fp16=False)
        os.replace(tmp_bin, bin_path)  # weights first: read_model(xml) pairs it with the .bin of its name
        os.replace(tmp_xml, path)
    finally:
        tmp_xml.unlink(missing_ok=True)
        tmp_bin.unlink(missing_ok=True)
    ops = Counter(op.get_type_name() for op in quantized.get_ops())
    return {"fake_quantize_ops": ops.get("FakeQuantize", 0), "ops": sum(ops.values()),
            "calibration": {"slices": int(len(calibration)), "split": "train", "preset": "performance"},
            "nncf": nncf.__version__, "telemetry": "disabled (NNCF_CI, consent declined, sender no-op)"}
