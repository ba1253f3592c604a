"""The formats table drives export, validation and backend lookup: check it is complete and consistent."""

from __future__ import annotations

import pytest

from export.exporter import CONVERTERS, DEFAULT_FORMATS, check_output_folder, plan_formats
from export.validate import THRESHOLDS
from inference.backends.base import BACKENDS
from inference.errors import OutputError
from inference.formats import FORMATS, format_of_file, formats_for, get_format


def test_every_row_has_a_converter_thresholds_and_registered_runtimes():
    assert set(CONVERTERS) == {f.name for f in FORMATS}
    for fmt in FORMATS:
        assert fmt.precision in THRESHOLDS, fmt.name
        assert fmt.runtimes and set(fmt.runtimes) <= set(BACKENDS), fmt.name
        assert fmt.built_from is None or get_format(fmt.built_from), fmt.name
        assert format_of_file(fmt.file) is fmt
    files = [name for f in FORMATS for name in f.files]
    assert len(files) == len(set(files)), "two rows share a file name"


def test_shipped_rows_run_without_a_gpu():
    assert DEFAULT_FORMATS and all(not get_format(n).needs_gpu for n in DEFAULT_FORMATS)
    assert {f.name for f in formats_for("litert")} >= {"tflite-fp32", "tflite-int8"}


def test_dependencies_are_added_in_table_order():
    assert [f.name for f in plan_formats(["openvino-int8"])] == ["onnx", "openvino-int8"]
    assert [f.name for f in plan_formats(["tf-trt", "tflite-int8"])] == ["keras", "tflite-int8", "tf-trt"]
    with pytest.raises(KeyError, match="choose from"):
        plan_formats(["tflite-int4"])


def test_output_inside_the_model_folder_is_refused(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    with pytest.raises(OutputError, match="inside the input model folder"):
        check_output_folder(model, model / "variants")
    check_output_folder(model, model)  # the folder itself is allowed (shipping the variants there)
    check_output_folder(model, tmp_path / "elsewhere")
