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
