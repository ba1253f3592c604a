"""``otscc self-test`` against a reference made for another model says so, naming both models and the command that
writes a reference for the one tested; it said "none of the backends tested ... segmented the sample"."""

from __future__ import annotations

import json
import shutil

import pytest

from inference.assets import DEFAULT_SEG_MODEL
from inference.backends.manifest import sha256_file
from inference.cli import main
from inference.commands import self_test as st
from inference.commands import self_test_model as sm


def _shipped_reference() -> dict:
    return json.loads((st.SELFTEST_DIR / st.REFERENCE_NAME).read_text())


@pytest.mark.slow
def test_another_model_is_named_with_both_hashes_and_the_command_not_as_no_backend_segmenting(tmp_path, capsys):
    model = tmp_path / "other_model"
    model.mkdir()  # another model under the reference's file name: the fp16 variant as "model_fp32.tflite"
    shutil.copy(DEFAULT_SEG_MODEL / "model_fp16.tflite", model / "model_fp32.tflite")
    shutil.copy(DEFAULT_SEG_MODEL / "config.json", model)
    code = main(["self-test", "--json", "--threads", "1", "--backends", "tflite-fp32", "--model", str(model)])
    report = json.loads(capsys.readouterr().out)
    rows = {c["name"]: c for c in report["checks"]}
    assert code == 1 and report["passed"] is False  # docs/packaging.md: any failed row is exit code 1
    ours = sha256_file(model / "model_fp32.tflite")[:12]
    theirs = sha256_file(DEFAULT_SEG_MODEL / "model_fp32.tflite")[:12]
    summary = rows["segment (any backend)"]
    assert summary["status"] == "fail" and "none of the backends" not in summary["detail"], summary
    assert summary["detail"].startswith("no mask could be compared: the stored reference is for another model")
    for row in (summary, rows["reference model"], rows["segment litert/tflite-fp32"]):
        assert row["status"] == "fail" and theirs in row["detail"] and ours in row["detail"], row
        assert f"python -m export.packaging.reference --model {model} --out FOLDER" in row["detail"], row
        assert f"otscc self-test --model {model} --reference FOLDER" in row["detail"], row


def test_the_shipped_reference_is_the_shipped_models():
    """So a run where no backend passes on the shipped install still blames the backends, not the reference."""
    assert sm.other_model(_shipped_reference(), DEFAULT_SEG_MODEL) is None
    assert sm.nothing_compared(_shipped_reference(), DEFAULT_SEG_MODEL, st.SELFTEST_DIR) is None


def test_a_stored_mask_of_another_model_is_named_too(tmp_path):
    """The float model unchanged, one variant's mask made from another file (an int8 re-export)."""
    data = _shipped_reference()
    data["masks"]["litert/tflite-int8"][0]["model_sha256"] = "f" * 64
    why = sm.other_model(data, DEFAULT_SEG_MODEL)
    assert why.startswith("the stored mask of litert/tflite-int8 is for another model (made with model_int8.tflite "
                          "ffffffffffff, "), why
    data["made_by"]["model_file"] = "gone.tflite"
    assert sm.other_model(data, DEFAULT_SEG_MODEL).endswith(f"{DEFAULT_SEG_MODEL} has no gone.tflite)")


def test_the_rewrite_command_never_overwrites_the_shipped_reference_with_another_model(tmp_path):
    assert sm.rewrite_hint(DEFAULT_SEG_MODEL, st.SELFTEST_DIR) == \
        "rewrite it with `python -m export.packaging.reference` (development checkout)"
    assert f"reference --out {tmp_path}` " in sm.rewrite_hint(DEFAULT_SEG_MODEL, tmp_path)
    for reference in (st.SELFTEST_DIR, tmp_path):
        hint = sm.rewrite_hint(tmp_path / "m", reference)
        assert f"--model {tmp_path / 'm'} --out FOLDER" in hint and "--reference FOLDER" in hint
