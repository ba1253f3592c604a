"""What ``--backend NAME`` says when the model folder has none of the backend's variants, and what every path says
about a ``--model`` that is no model folder at all (an empty or wrong folder)."""

from __future__ import annotations

import json

import pytest

from inference.assets import DEFAULT_SEG_MODEL, SAMPLE_PATIENT
from inference.backends import base
from inference.errors import InputError
from inference.formats import get_format

NOT_A_MODEL = "not a model folder (no manifest.json, config.json or model file in it)"


@pytest.fixture
def trained(tmp_path):
    """A model folder (``config.json`` as train-seg writes it) with no exported variant."""
    (tmp_path / "config.json").write_text("{}")
    return tmp_path


def test_litert_named_names_the_backend_and_the_folder_once_and_exports_what_it_tries_first(trained):
    """It read "tflite-fp32: model_fp32.tflite is missing from DIR (not exported); model_int8.tflite is missing from
    DIR (not exported); ...": a format the user did not name, and the folder four times."""
    from inference.backends.litert import PREFERENCE

    with pytest.raises(base.VariantNotExportedError) as error:
        base.select_backend("litert", trained)
    files = ", ".join(get_format(name).file for name in PREFERENCE)
    assert str(error.value) == (
        f"litert: no variant it runs is in {trained} (looked for {files}: not exported); export one first (otscc "
        f"export --model {trained} --out {trained} --formats {PREFERENCE[0]} --cohort DIR)")
    assert error.value.formats == PREFERENCE


def test_openvino_named_is_labelled_openvino_and_exports_the_variant_it_prefers(trained):
    """It read "onnx: openvino_int8.xml is missing from DIR ...; model.onnx is missing from DIR ...; export it first
    (... --formats onnx ...)": labelled with a format, and the export not of the variant OpenVINO tries first."""
    pytest.importorskip("openvino")
    from inference.backends.ov import int8_dot_product

    with pytest.raises(base.VariantNotExportedError) as error:
        base.select_backend("openvino", trained)
    text = str(error.value)
    assert text.startswith("openvino: ") and text.count(str(trained)) == 3, text  # the folder, --model, --out
    if int8_dot_product() is None:  # without VNNI the backend does not look for the int8 IR
        assert text.startswith(f"openvino: model.onnx is missing from {trained} (not exported); export it first")
        assert "--formats onnx " in text
    else:
        assert text.startswith(f"openvino: no variant it runs is in {trained} (looked for openvino_int8.xml, "
                               "model.onnx: not exported); export one first")
        assert "--formats openvino-int8 " in text


def test_a_backend_with_one_variant_is_named_not_its_format(trained):
    """``--backend onnxruntime`` was answered "onnx: model.onnx is missing ..."."""
    pytest.importorskip("onnxruntime")
    with pytest.raises(base.VariantNotExportedError) as error:
        base.select_backend("onnxruntime", trained)
    assert str(error.value) == (f"onnxruntime: model.onnx is missing from {trained} (not exported); export it first "
                                f"(otscc export --model {trained} --out {trained} --formats onnx --cohort DIR)")


def test_a_named_format_keeps_its_wording(trained):
    with pytest.raises(base.VariantNotExportedError) as error:
        base.select_backend("tflite-int8", trained)
    assert str(error.value) == (f"tflite-int8: model_int8.tflite is missing from {trained} (not exported); export it "
                                f"first (otscc export --model {trained} --out {trained} --formats tflite-int8 "
                                "--cohort DIR)")


@pytest.mark.parametrize("backend", ["auto", "litert", "openvino", "onnxruntime", "tflite-int8", "tf-trt"])
def test_a_folder_that_is_no_model_folder_is_said_so_in_one_line(tmp_path, capsys, backend):
    """An empty folder under ``--backend litert`` got four "missing from" clauses and an ``otscc export --model`` of
    that empty folder (which cannot work there); under ``auto`` one clause per candidate."""
    from inference.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(out), "--model", str(empty), "--backend", backend]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"{empty}: {NOT_A_MODEL}: choose a folder that otscc export or otscc train-seg wrote "
                        "(--model; the shipped one is the default)"), err
    assert err.count(str(empty)) == 1 and len(err.splitlines()) == 1 and "missing from" not in err
    assert not out.exists()


def test_keras_keeps_its_own_message_on_a_folder_that_is_no_model_folder(tmp_path):
    from inference.backends.manifest import check_model_folder

    check_model_folder(tmp_path, "keras")  # its own message names the two files it needs: not replaced
    with pytest.raises(base.BackendUnavailableError, match=r"config\.json and best\.weights\.h5 are missing: the "
                                                           r"Keras backend runs the float model"):
        base.select_backend("keras", tmp_path)


def test_what_counts_as_a_model_folder(tmp_path):
    """A development folder with only an exported file loads unverified, so it is one; so is a folder its parent's
    manifest names (a copy of ``assets/models``) and a model file or folder-format folder given as --model."""
    from inference.backends.manifest import check_model_folder, is_model_folder

    assert not is_model_folder(tmp_path)
    for name in ("manifest.json", "config.json", "best.weights.h5", "model_fp32.tflite", "openvino_int8.bin"):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / name).write_bytes(b"x")
        assert is_model_folder(folder), name
    models = tmp_path / "models"
    (models / "seg").mkdir(parents=True)
    (models / "manifest.json").write_text(json.dumps({"schema_version": 1, "model_dir": "seg"}))
    assert is_model_folder(models / "seg")
    (models / "other").mkdir()
    assert not is_model_folder(models / "other")  # the parent's manifest names another folder
    (models / "tf_trt").mkdir()
    assert is_model_folder(models / "tf_trt")
    assert is_model_folder(DEFAULT_SEG_MODEL) and is_model_folder(DEFAULT_SEG_MODEL / "model_fp32.tflite")
    assert not is_model_folder(tmp_path / "none")
    with pytest.raises(InputError, match=r"no such model folder"):
        check_model_folder(tmp_path / "none")


def test_auto_on_a_folder_with_only_a_config_says_so_once(trained, capsys):
    """``--backend auto`` on a folder holding config.json alone gave one clause per backend (1,486 characters)."""
    from inference.cli import main

    assert main(["predict", str(SAMPLE_PATIENT), "--out", str(trained / "out"), "--model", str(trained)]) == 2
    err = capsys.readouterr().err
    assert f"{trained}: no model file in it, only config.json (no exported variant and no best.weights.h5" in err
    assert len(err) - len(str(trained)) < 350 and "missing from" not in err  # was 1,486 characters
    (trained / "best.weights.h5").write_bytes(b"")  # with weights (or any variant) the backends say what they need
    from inference.backends.manifest import check_model_folder

    check_model_folder(trained)


def test_benchmark_refuses_a_folder_that_is_no_model_folder_before_measuring(tmp_path, monkeypatch, capsys):
    """Every row failed with its own "missing from" reason, and the command exited 0."""
    from inference.cli import main

    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    assert main(["benchmark", "--model", str(tmp_path), "--patient", str(SAMPLE_PATIENT)]) == 2
    assert f"{tmp_path}: {NOT_A_MODEL}" in capsys.readouterr().err


def test_the_desktop_refuses_it_before_the_model_probe(tmp_path, monkeypatch):
    """The GUI checks the folder before it starts a child process that tries every backend on it."""
    from desktop import engine

    monkeypatch.setattr(engine, "probe_backend", lambda *a, **kw: pytest.fail("probed anyway"))
    with pytest.raises(InputError, match=NOT_A_MODEL.replace("(", r"\(").replace(")", r"\)")) as error:
        engine.default_factory(engine.EngineSettings(model_dir=tmp_path, isolate=True))
    assert "--model" not in error.value.problem  # the GUI shows the problem without the command-line hint
    from desktop.errors import advice_for
    from inference.errors import ModelFolderError

    # its own type, so the GUI's advice fits: it said "Check the clinical values and the patient folder"
    assert isinstance(error.value, ModelFolderError)
    assert advice_for(error.value).startswith("The app's model folder is missing or holds no model: reinstall")
    with pytest.raises(ModelFolderError, match="no such model folder") as missing:
        engine.default_factory(engine.EngineSettings(model_dir=tmp_path / "gone", isolate=True))
    assert "reinstall otscc-edge" in advice_for(missing.value)
