"""What ``otscc benchmark`` says about a row it could not measure: a variant never exported is called so, in the words
of ``otscc predict`` (found by a review, 2026-11-30)."""

from __future__ import annotations

import pytest

from export.benchmark import load_variant
from inference.backends import base
from inference.formats import get_format


@pytest.mark.parametrize(("fmt", "runtime"), [("tflite-fp16", "litert"), ("onnx", "openvino"),
                                              ("openvino-int8", "openvino")])
def test_a_variant_never_exported_is_missing_as_predict_says_with_the_export_command(tmp_path, fmt, runtime):
    """The row read "BackendUnavailableError: DIR/model_fp16.tflite: no such model file or folder" where ``otscc
    predict --backend tflite-fp16`` says the file is missing (not exported) and names the export command."""
    with pytest.raises(base.VariantNotExportedError) as benchmark:
        load_variant(get_format(fmt), runtime, tmp_path, None)
    with pytest.raises(base.VariantNotExportedError) as predict:
        base.select_backend(fmt, tmp_path)
    assert str(benchmark.value) == str(predict.value)
    assert f"is missing from {tmp_path} (not exported)" in str(benchmark.value)
    assert f"otscc export --model {tmp_path} --out {tmp_path} --formats {fmt}" in str(benchmark.value)


def test_a_folder_format_never_exported_is_missing_too(tmp_path):
    """The shipped results' tf-trt row: "BackendUnavailableError: .../tf_trt: no such model file or folder"."""
    with pytest.raises(base.VariantNotExportedError, match=r"^tf-trt: tf_trt is missing from .* \(not exported\); "
                                                           r"export it first \(otscc export .* --formats tf-trt "):
        load_variant(get_format("tf-trt"), "tf-trt", tmp_path, None)


def test_the_table_gives_each_reason_whole_in_a_numbered_note(tmp_path):
    """Reasons were cut at 90 characters in the row: "... missing from DIR (not exported); export it f", without the
    command to run."""
    from dataclasses import asdict

    from export.benchmark import Row, format_table

    with pytest.raises(base.VariantNotExportedError) as error:
        load_variant(get_format("tflite-fp16"), "litert", tmp_path, None)
    missing = f"VariantNotExportedError: {error.value}"
    trt = "BackendUnavailableError: tensorrt is not installed (No module named 'tensorrt')"
    rows = [Row("keras", "keras", "fp32", slice_ms_p50=9.0, slice_ms_p95=9.5, volume_s=0.3, dice_vs_reference=1.0,
                mask_voxels=590, pipeline_s={"segment": 0.3}),
            Row("tflite-fp16", "litert", "fp16", status="skipped", reason=missing),
            Row("tensorrt-fp16", "tensorrt", "fp16", status="skipped", reason=trt),
            Row("tensorrt-int8", "tensorrt", "int8", status="skipped", reason=trt),
            Row("onnx", "openvino", "fp32", status="failed", reason="RuntimeError: first line\nsecond line")]
    table = format_table({"device": {"cpu": "x", "isa": [], "logical_cores": 2}, "patient": "p", "runs": 30,
                          "pipeline_runs": 1, "reference": {"format": "keras", "runtime": "keras"},
                          "input_size": 256, "fov_mm": 160.0, "rows": [asdict(r) for r in rows]})
    lines = table.splitlines()
    assert len(missing) > 200 and f"[1] {missing}" in lines  # whole, the export command included
    assert lines.count(f"[2] {trt}") == 1  # one note for the two rows of one reason
    assert "[3] RuntimeError: first line" in lines and "    second line" in lines
    status = {line.split()[0]: line.split("  ")[-1] for line in lines[3:] if not line.startswith(("[", " ", "keras"))}
    assert status == {"tflite-fp16": "skipped [1]", "tensorrt-fp16": "skipped [2]", "tensorrt-int8": "skipped [2]",
                      "onnx": "failed [3]"}
