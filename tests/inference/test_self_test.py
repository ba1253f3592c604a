"""``otscc self-test`` passes on the shipped reference, without TensorFlow, and fails when the reference or a
model file is tampered with (a test that cannot fail proves nothing)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from inference.assets import DEFAULT_SEG_MODEL
from inference.backends.manifest import sha256_file
from inference.cli import main
from inference.commands import self_test as st
from inference.errors import OtsccError

ROOT = Path(__file__).resolve().parents[2]
#: one CPU backend keeps the end-to-end runs fast; the bundle test runs every backend
FAST = ["--backends", "tflite-fp32"]

CHILD = r"""
import json, sys
from inference.cli import main
code = main(sys.argv[1:])
print("RESULT " + json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules,
                              "keras": "keras" in sys.modules, "sklearn": "sklearn" in sys.modules}))
"""


def _run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["self-test", "--json", *FAST, *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _rows(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


@pytest.mark.slow
def test_self_test_passes_without_tensorflow():
    proc = subprocess.run([sys.executable, "-c", CHILD, "self-test", *FAST], cwd=ROOT, capture_output=True,
                          text=True, timeout=240)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, f"no result (rc {proc.returncode}): {proc.stderr[-2000:]}"
    result = json.loads(line.removeprefix("RESULT "))
    assert result["code"] == 0, proc.stdout
    assert not (result["tensorflow"] or result["keras"] or result["sklearn"]), result
    assert "self-test PASSED" in proc.stdout
    for name in ("registration", "segment litert/tflite-fp32", "radiomics", "nomogram"):
        assert any(line.startswith(name) and " PASS " in line for line in proc.stdout.splitlines()), name


def _copy_reference(tmp_path: Path) -> Path:
    ref = tmp_path / "selftest"
    shutil.copytree(st.SELFTEST_DIR, ref)
    return ref


@pytest.mark.slow
def test_self_test_fails_on_tampered_reference_values(tmp_path, capsys):
    ref = _copy_reference(tmp_path)
    features = json.loads((ref / st.FEATURES_NAME).read_text())
    name = "cet1_original_firstorder_Mean"
    features[name] *= 1.001  # 0.1 %: ten times the tolerance
    (ref / st.FEATURES_NAME).write_text(json.dumps(features))
    data = json.loads((ref / st.REFERENCE_NAME).read_text())
    data["nomogram"]["probability"] += 0.001
    data["registration"]["t2"]["translation_mm"][0] += 0.5
    (ref / st.REFERENCE_NAME).write_text(json.dumps(data))

    code, report = _run_json(capsys, "--reference", str(ref))
    rows = _rows(report)
    assert code == 1 and report["passed"] is False
    assert rows["radiomics"]["status"] == "fail"
    assert rows["radiomics"]["detail"].startswith("1 of ") and name in rows["radiomics"]["detail"]
    assert rows["nomogram"]["status"] == "fail"
    assert rows["registration"]["status"] == "fail"
    # only what was tampered with fails
    assert rows["segment litert/tflite-fp32"]["status"] == rows["sample patient"]["status"] == "pass"


@pytest.mark.slow
def test_self_test_fails_on_a_tampered_reference_mask(tmp_path, capsys):
    ref = _copy_reference(tmp_path)
    image = sitk.ReadImage(str(ref / st.MASK_NAME))
    mask = sitk.GetArrayFromImage(image)
    zs, ys, xs = np.nonzero(mask)
    n = max(5, len(zs) // 30)  # ~3 % of the tumor's voxels: Dice falls to ~0.985, below 0.99
    mask[zs[:n], ys[:n], xs[:n]] = 0
    out = sitk.GetImageFromArray(mask)
    out.CopyInformation(image)
    sitk.WriteImage(out, str(ref / st.MASK_NAME), True)

    code, report = _run_json(capsys, "--reference", str(ref))
    rows = _rows(report)
    assert code == 1
    assert rows["segment litert/tflite-fp32"]["status"] == "fail"
    assert rows["segment litert/tflite-fp32"]["value"] < st.MIN_DICE
    assert rows["radiomics"]["status"] == "fail"  # features are taken inside the stored mask


@pytest.mark.slow
def test_a_cpu_with_other_int8_arithmetic_adds_its_masks_to_the_reference(tmp_path, capsys, monkeypatch):
    """``python -m export.packaging.reference --add-compute-paths``: a mask that differs from every stored one of
    its variant (int8 on another instruction set) is added; the rest of the reference stays byte for byte."""
    from export.packaging import reference as made

    ref = _copy_reference(tmp_path)
    before = {p.name: p.read_bytes() for p in (ref / st.MASK_NAME, ref / st.FEATURES_NAME)}
    real = made._variant_mask

    def other_cpu(candidate, model_dir, prepared, options):
        if (candidate.backend, candidate.variant) != ("litert", "tflite-int8"):
            return None  # this test's "CPU" runs one variant
        mask, info = real(candidate, model_dir, prepared, options)
        array = mask.array.copy()
        zs, ys, xs = np.nonzero(array)
        array[zs[:6], ys[:6], xs[:6]] = 0  # six voxels fewer: Dice 0.995 with the stored mask
        return mask.with_array(array), info

    monkeypatch.setattr(made, "_variant_mask", other_cpu)
    added = made.add_compute_paths(out=ref)
    assert [a["key"] for a in added] == ["litert/tflite-int8"] and added[0]["cpu"]
    assert made.add_compute_paths(out=ref) == []  # stored now: nothing to add
    assert {p.name: p.read_bytes() for p in (ref / st.MASK_NAME, ref / st.FEATURES_NAME)} == before
    entries = json.loads((ref / st.REFERENCE_NAME).read_text())["masks"]["litert/tflite-int8"]
    assert len(entries) == 2 and entries[1]["voxels"] == entries[0]["voxels"] - 6
    code, report = _run_json(capsys, "--reference", str(ref), "--backends", "tflite-int8")
    row = _rows(report)["segment litert/tflite-int8"]
    assert code == 0 and row["status"] == "pass" and row["value"] == 1.0  # this CPU matches the first mask


def test_missing_reference_is_an_error_with_a_remedy(tmp_path, capsys):
    code = main(["self-test", *FAST, "--reference", str(tmp_path)])
    assert code == 1
    assert "export.packaging.reference" in capsys.readouterr().err


def test_stale_reference_names_the_model_file(tmp_path):
    data = {"made_by": {"model_file": "model_fp32.tflite", "model_sha256": "0" * 64, "backend": "litert"},
            "sample": {"files": st.sample_hashes(st.SAMPLE_PATIENT)}}
    rows = {r.name: r for r in st.check_reference(data, DEFAULT_SEG_MODEL, st.SAMPLE_PATIENT, st.DEFAULT_NOMOGRAM)}
    assert rows["reference model"].status == "fail" and "model_fp32.tflite" in rows["reference model"].detail
    assert rows["sample patient"].status == "pass"
    assert rows["reference inputs"].status == "fail"  # no hashes recorded for radiomics.yaml / nomogram


def _model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "seg"
    folder.mkdir()
    shutil.copy(DEFAULT_SEG_MODEL / "model_fp32.tflite", folder)
    record = {"path": "model_fp32.tflite", "sha256": sha256_file(folder / "model_fp32.tflite"), "bytes": 1}
    manifest = {"schema_version": 1, "model_dir": "seg", "reference": {"files": []},
                "variants": {"tflite-fp32": {"format": "tflite-fp32", "shipped": True, "files": [record]}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_manifest_check_passes_then_fails_on_a_changed_file(tmp_path):
    folder = _model_folder(tmp_path)
    assert [(r.name, r.status) for r in st.check_manifest(folder)] == [("manifest tflite-fp32", "pass")]
    with open(folder / "model_fp32.tflite", "r+b") as fh:  # flip one byte
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    rows = st.check_manifest(folder)
    assert rows[0].status == "fail" and "SHA-256" in rows[0].detail


def test_changed_model_fails_the_backend_row_not_the_run(tmp_path):
    folder = _model_folder(tmp_path)
    (folder / "model_fp32.tflite").write_bytes(b"not a model")
    row = st.check_backend(st.SegCandidate("litert", "tflite-fp32"), prepared=None, reference=None, model_dir=folder,
                           threads=1)
    assert row.status == "fail" and "SHA-256" in row.detail


def test_no_manifest_is_a_skip_not_a_pass(tmp_path):
    rows = st.check_manifest(tmp_path)
    assert [r.status for r in rows] == ["skip"]


def test_feature_deviation_tolerance_nan_and_missing():
    ref = {"a": 100.0, "b": 0.0, "c": 1.0}
    assert st.feature_deviations({"a": 100.0 * (1 + st.FEATURE_RTOL / 2), "b": 0.0, "c": 1.0}, ref)[0] == []
    assert st.feature_deviations({"a": 100.0 * (1 + 2 * st.FEATURE_RTOL), "b": 0.0, "c": 1.0}, ref)[0] == ["a"]
    assert st.feature_deviations({"a": 100.0, "b": math.nan, "c": 1.0}, ref)[0] == ["b"]
    assert st.feature_deviations({"a": 100.0, "b": 0.0}, ref)[0] == ["c"]


def test_backend_selection_arguments():
    named = st.seg_candidates(DEFAULT_SEG_MODEL, ["litert", "tflite-fp32", "openvino:onnx"])
    assert [(c.backend, c.variant, c.named) for c in named] == [
        ("litert", None, True), ("litert", "tflite-fp32", True), ("openvino", "onnx", True)]
    default = st.seg_candidates(DEFAULT_SEG_MODEL, None)
    assert ("litert", "tflite-fp32") in {(c.backend, c.variant) for c in default}
    assert not {c.backend for c in default} & set(st.TENSORFLOW_BACKENDS)
    with pytest.raises(OtsccError, match="unknown"):
        st.seg_candidates(DEFAULT_SEG_MODEL, ["no-such-backend"])


def test_named_backend_that_cannot_run_fails(tmp_path):
    row = st.check_backend(st.SegCandidate("tensorrt", None, named=True), None, None, tmp_path, None)
    assert row.status == "fail"
    row = st.check_backend(st.SegCandidate("tensorrt", None), None, None, tmp_path, None)
    assert row.status == "skip"


def test_a_broken_runtime_fails_its_row_even_when_not_named(tmp_path, monkeypatch):
    """An installed runtime that cannot load (or is too old) is a broken install of a product dependency: skipping
    it would let the self-test pass on a laptop whose default backend cannot run."""
    import types

    from inference.backends import versions

    real = versions._import
    monkeypatch.setattr(versions, "_import", lambda name: types.SimpleNamespace(__version__="0.1")
                        if name == "onnxruntime" else real(name))
    row = st.check_backend(st.SegCandidate("onnxruntime", "onnx"), None, None, DEFAULT_SEG_MODEL, None)
    assert row.status == "fail" and "onnxruntime 0.1 is older than" in row.detail, row


def test_table_shows_verdict():
    checks = [st.Check("a", "pass", "ok"), st.Check("b", "fail", "bad"), st.Check("c", "skip", "n/a")]
    table = st.format_table(checks)
    assert "FAILED: 1 passed, 1 failed, 1 skipped" in table


@pytest.mark.slow
def test_stored_transforms_rebuild_the_pipelines_registered_inputs_bit_for_bit():
    from inference.pipeline import Pipeline

    pipeline = Pipeline(backend="tflite-fp32")
    registered = pipeline.prepare(st.SAMPLE_PATIENT, register="auto")
    stored = json.loads(json.dumps(st.registration_summary(registered)))  # through JSON, as reference.json
    rebuilt = st.prepare_registered(st.SAMPLE_PATIENT, stored)
    assert sorted(rebuilt.volumes) == sorted(registered.volumes)
    for role, volume in registered.volumes.items():
        assert np.array_equal(rebuilt.volumes[role].array, volume.array), role
        assert rebuilt.volumes[role].geometry == volume.geometry


def test_reference_transforms_are_data_not_code():
    stored = {"t2": {"transform": {"type": "DisplacementFieldTransform", "parameters": [], "fixed_parameters": []}}}
    with pytest.raises(OtsccError, match="not one of"):
        st.prepare_registered(st.SAMPLE_PATIENT, stored)


def test_no_reference_is_written_on_a_cpu_that_refuses_a_shipped_variant(tmp_path, monkeypatch):
    """A reference made where OpenVINO int8 is refused (no VNNI) would lack its mask, and the self-test on VNNI
    CPUs would compare that variant with the float mask: refused before anything is written."""
    pytest.importorskip("openvino")
    from export.packaging import reference as made
    from inference.assets import DEFAULT_SEG_MODEL
    from inference.errors import OtsccError

    if not (DEFAULT_SEG_MODEL / "openvino_int8.xml").is_file():
        pytest.skip("no OpenVINO int8 IR shipped")
    monkeypatch.setattr("inference.backends.ov.int8_dot_product", lambda: None)
    out = tmp_path / "ref"
    with pytest.raises(OtsccError, match="openvino/openvino-int8: .*validated only on CPUs with VNNI"):
        made.make_reference(out=out)
    assert not out.exists()
    assert made.main(["--out", str(out)]) == 1 and not out.exists()


def test_no_reference_is_written_where_a_cpu_runtime_is_missing(tmp_path, monkeypatch):
    """A development environment without, say, ONNX Runtime would write a reference without its masks."""
    from export.packaging import reference as made
    from inference.backends import base
    from inference.errors import OtsccError

    real = base.load_backend

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise base.BackendUnavailableError("onnxruntime is not installed (test)")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(base, "load_backend", no_onnxruntime)
    monkeypatch.setattr("inference.backends.ov.int8_dot_product", lambda: "any (test)")
    out = tmp_path / "ref"
    with pytest.raises(OtsccError, match=r"onnxruntime/onnx: onnxruntime is not installed \(test\)") as err:
        made.make_reference(out=out)
    assert "litert-gpu" not in str(err.value)  # GPU-only backends are never part of the reference
    assert not out.exists()


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_a_save_features_path_that_cannot_take_the_file_fails_before_any_check(tmp_path, monkeypatch, capsys, where):
    """--save-features FOLDER ended in an IsADirectoryError traceback after the whole run, its table never printed."""
    monkeypatch.setattr(st, "run_self_test", lambda **kw: pytest.fail("ran the checks anyway"))
    (tmp_path / "a_file").write_text("x")
    target = tmp_path if where == "folder" else tmp_path / "a_file" / "features.json"
    assert main(["self-test", "--save-features", str(target)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("otscc self-test: error: ") and len(err.strip().splitlines()) == 1
    assert ("is a folder; give a file name" if where == "folder" else "is a file, not a folder") in err
