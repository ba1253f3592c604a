"""How ``otscc self-test`` rows name what they test: one scheme (``BACKEND/FORMAT``, the format's name in
``inference.formats``) in the table and in ``--json``, and a ``format`` field on every row."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from inference.cli import main
from inference.commands import self_test as st
from inference.formats import FORMATS

FORMAT_NAMES = {f.name for f in FORMATS}


def test_a_candidate_without_a_format_is_named_by_its_backend_alone(tmp_path):
    """"segment openvino/default on gpu": "default" is no format; the row names the backend until one loads."""
    assert st.SegCandidate("openvino", None, "gpu").label == "openvino on gpu"
    assert st.SegCandidate("litert", "tflite-int8").label == "litert/tflite-int8"
    row = st.check_backend(st.SegCandidate("tensorrt", None, named=True), None, None, tmp_path, None)
    assert (row.name, row.status, row.format) == ("segment tensorrt", "fail", None)
    row = st.check_backend(st.SegCandidate("tensorrt", "tensorrt-int8"), None, None, tmp_path, None)
    assert (row.name, row.status, row.format) == ("segment tensorrt/tensorrt-int8", "skip", "tensorrt-int8")


@pytest.mark.slow
def test_rows_use_one_label_and_carry_the_format(capsys):
    """``--backends litert`` gave the row "segment litert/default" and the detail "... tflite-fp32 on cpu", and the
    auto row "tflite-int8 on litert (...)": three schemes for one thing. JSON rows had no format field."""
    code = main(["self-test", "--json", "--threads", "1", "--backends", "litert", "onnxruntime:onnx"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    rows = {c["name"]: c for c in report["checks"]}
    assert all("format" in c for c in report["checks"])
    assert "segment litert/default" not in rows and not any("default" in name for name in rows)
    litert = rows["segment litert/tflite-fp32"]  # litert's own choice, named by the format it loaded
    assert litert["format"] == "tflite-fp32" and litert["status"] == "pass"
    assert litert["detail"].endswith("model_fp32.tflite on cpu (XNNPACK)"), litert["detail"]
    assert rows["segment onnxruntime/onnx"]["format"] == "onnx"
    auto = rows["auto backend"]
    assert auto["format"] in FORMAT_NAMES and auto["detail"].startswith(f"litert/{auto['format']} on cpu"), auto
    assert rows["reference model"]["format"] == "tflite-fp32"
    assert rows["reference model"]["detail"].startswith("made by litert/tflite-fp32 ")
    assert rows["manifest tflite-int8"]["format"] == "tflite-int8"
    assert rows["registration"]["format"] is rows["radiomics"]["format"] is rows["nomogram"]["format"] is None
    for row in report["checks"]:
        if row["name"].startswith("segment "):
            assert f"/{row['format']}" in row["name"], row  # the row's name and its format field agree
    # the table prints the same names
    table = st.format_table([st.Check(**row) for row in report["checks"]])
    assert "segment litert/tflite-fp32 " in table and "default" not in table
    assert [asdict(st.Check(**row)) for row in report["checks"]] == report["checks"]
