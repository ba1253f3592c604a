"""``otscc benchmark``: what a result says was measured, and what ``--compare`` makes of results that differ in it
(found by review 4 of an engineer benchmarking laptops, 2026-11-30: a 64 px model's result read "256x256", merged with
the shipped model's as a 3.7x faster device; a model that finds no tumour scored Dice 1.0000 everywhere).

The measurement here runs on stand-in backends (no model files; the sample patient prepared once)."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from export.benchmark import Row, format_table, run_benchmark
from inference.assets import DEFAULT_NOMOGRAM, SAMPLE_PATIENT
from inference.backends.base import SegBackend
from inference.cli import main


class _Blank(SegBackend):
    """A small model that finds nothing: every probability 0."""

    device = "cpu"
    input_size, fov_mm = 32, 150.0

    def __init__(self, name: str, threads: int | None) -> None:
        self.name, self.threads = name, threads

    def predict(self, batch):
        return np.zeros(batch.shape[:3], np.float32)


@pytest.fixture(scope="module")
def blank_run(tmp_path_factory):
    """run_benchmark on a 32 px model that finds no tumour: the reference (keras, TensorFlow's own threads) and
    tflite-fp32 on 3 threads."""
    import inference.intake

    prepared = inference.intake.prepare_patient(SAMPLE_PATIENT)
    patch = pytest.MonkeyPatch()
    patch.setattr(inference.intake, "prepare_patient", lambda patient: prepared)
    patch.setattr("export.benchmark.load_variant",
                  lambda row, runtime, model_dir, threads: _Blank(runtime, None if runtime == "keras" else 3))
    patch.setattr("export.benchmark._available", lambda module: True)  # the Keras reference, without TensorFlow
    try:
        yield run_benchmark(model_dir=tmp_path_factory.mktemp("model"), patient=SAMPLE_PATIENT,
                            nomogram=DEFAULT_NOMOGRAM, formats=["tflite-fp32"], runs=2, warmup=0, pipeline_runs=1)
    finally:
        patch.undo()


# -- 1. the input size, recorded and said ---------------------------------------------------------------------
def test_a_result_records_the_models_input_size_and_field_of_view(blank_run):
    assert (blank_run["input_size"], blank_run["fov_mm"]) == (32, 150.0)
    assert [(r["input_size"], r["fov_mm"]) for r in blank_run["rows"]] == [(32, 150.0), (32, 150.0)]
    assert blank_run["units"]["fov_mm"] == "mm"
    assert "slice = one 32x32 input (150 mm across)" in format_table(blank_run)
    assert "256" not in format_table(blank_run).splitlines()[1]


def test_the_chart_names_the_slice_size_measured(tmp_path, drawn):
    from export.benchmark import write_chart

    write_chart([_result("AMD EPYC", input_size=64)], tmp_path / "c.png")
    assert "median ms per 64x64 slice; lower is better" in drawn
    write_chart([_result("AMD EPYC", input_size=64), _result("Laptop", input_size=256)], tmp_path / "c.png")
    assert any("input sizes differ" in t for t in drawn) and not any("256x256 slice" in t for t in drawn)


def _result(cpu: str, ms: float = 3.0, **top) -> dict:
    return {"kind": "otscc-benchmark", "version": 2, "device": {"cpu": cpu, "gpu": "", "isa": ["avx2"]}, **top,
            "rows": [{"format": "tflite-int8", "runtime": "litert", "status": "ok", "slice_ms_p50": ms}]}


def _write(path, result) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return str(path)


@pytest.fixture
def drawn(monkeypatch):
    """Every text write_chart draws."""
    from export.raster import Canvas

    texts, text = [], Canvas.text
    monkeypatch.setattr(Canvas, "text", lambda self, x, y, value, *a, **kw: texts.append(value) or text(
        self, x, y, value, *a, **kw))
    return texts


SHIPPED, SMALL = "8afabecc" + "0" * 56, "62ef2783" + "1" * 56


def test_compare_warns_of_a_mix_of_models_in_the_table_the_chart_and_on_stderr(tmp_path, capsys, drawn):
    """The 64 px model's result merged with the shipped model's, rc 0, no note: it read as a 3.7x faster device."""
    shipped = _write(tmp_path / "laptopA" / "result.json", _result("AMD EPYC", 10.8, model_manifest_sha256=SHIPPED,
                                                                    input_size=256, runs=30))
    small = _write(tmp_path / "b64" / "result.json", _result("AMD EPYC", 2.9, model_manifest_sha256=SMALL,
                                                             input_size=64, runs=30))
    assert main(["benchmark", "--compare", shipped, small, "--chart", str(tmp_path / "mix.png")]) == 0
    out, err = capsys.readouterr()
    table = out.splitlines()
    assert table[0].startswith("WARNING: these results timed different models (their model_manifest_sha256, "
                               "input_size differ")
    assert "AMD EPYC (avx2) | model 8afabecc, 256x256" in table[1] and "AMD EPYC (avx2) | model 62ef2783, 64x64" \
        in table[1]
    assert ("note: the results differ in the model timed (model_manifest_sha256): model 8afabecc in "
            "laptopA/result.json; model 62ef2783 in b64/result.json") in err
    assert "note: the results differ in the model's input size: 256x256 in laptopA/result.json; 64x64 in " \
           "b64/result.json" in err
    assert "runs" not in err  # the same runs: nothing said
    assert any(t.startswith("different models timed") for t in drawn)
    assert "AMD EPYC (avx2) | model 62ef2783, 64x64" in drawn  # the legend


@pytest.mark.parametrize(("field", "values", "label"), [
    ("runs", (30, 3), "runs 3"), ("warmup", (5, 1), "warmup 1"), ("pipeline_runs", (3, 1), "pipeline runs 1"),
    ("patient", ("sample_patient", "p7"), "patient p7"), ("input_size", (256, None), "size ?"),
    ("model_manifest_sha256", (SHIPPED, None), "model ?"),
])
def test_compare_notes_and_labels_other_settings_without_refusing(tmp_path, capsys, field, values, label):
    """Different settings are merged (not refused), but said: a note per field on stderr, the value in the label.
    A value an older result did not record is "not recorded", not a different model: no WARNING."""
    a = _write(tmp_path / "a.json", _result("AMD EPYC", **{field: values[0]}))
    b = _write(tmp_path / "b.json", _result("Laptop", **{field: values[1]}))
    assert main(["benchmark", "--compare", a, b]) == 0
    out, err = capsys.readouterr()
    assert not out.startswith("WARNING") and f"Laptop (avx2) | {label}" in out.splitlines()[0]
    notes = err.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("note: the results differ in ") and "b.json" in notes[0]
    assert values[1] is not None or "not recorded in b.json" in notes[0]


# -- 2. a model that finds no tumour ----------------------------------------------------------------------------
def test_empty_masks_give_no_dice_and_a_partial_pipeline_total(blank_run):
    """Both masks empty: Dice was 1.0000 ("identical"); radiomics and the nomogram were silently left out of the
    pipeline total."""
    from export.benchmark import _dice

    assert _dice(np.zeros((2, 4, 4)), np.zeros((2, 4, 4))) is None
    assert _dice(np.ones((2, 4, 4)), np.zeros((2, 4, 4))) == 0.0  # one empty mask: a real disagreement
    for row in blank_run["rows"]:
        assert row["status"] == "ok" and row["mask_voxels"] == 0 and row["dice_vs_reference"] is None
        assert row["pipeline_missing"] == ["radiomics", "nomogram"]
    table = format_table(blank_run)
    fp32 = next(line for line in table.splitlines() if line.startswith("tflite-fp32"))
    assert " n/a " in fp32 and "1.0000" not in fp32 and "*" in fp32
    assert "note: Dice n/a for keras/keras, tflite-fp32/litert: the masks are empty" in table
    assert "note: * pipeline s is partial for keras/keras, tflite-fp32/litert: without radiomics, nomogram" in table


def test_a_found_tumour_keeps_its_dice_and_whole_total():
    rows = [Row("keras", "keras", "fp32", slice_ms_p50=9.0, slice_ms_p95=9.5, volume_s=0.3, dice_vs_reference=1.0,
                mask_voxels=590, pipeline_s={"segment": 0.3, "radiomics": 0.6, "nomogram": 0.0})]
    table = format_table({"device": {"cpu": "x", "isa": [], "logical_cores": 2}, "patient": "p", "runs": 3,
                          "pipeline_runs": 1, "reference": {"format": "keras", "runtime": "keras"},
                          "input_size": 256, "fov_mm": 160.0, "rows": [asdict(r) for r in rows]})
    assert "1.0000" in table and "*" not in table and "note:" not in table


# -- 12a. the threads each row used ---------------------------------------------------------------------------
def test_each_row_records_the_threads_its_runtime_used(blank_run):
    """Without --threads the result said "threads": null, while every runtime used a definite count."""
    import os

    rows = {r["runtime"]: r for r in blank_run["rows"]}
    assert blank_run["threads"] is None  # --threads as given
    assert rows["litert"]["threads"] == 3
    import tensorflow as tf

    # TensorFlow's pool: its setting (an earlier Keras backend of this process may have made one), else its variable
    # (make test sets it per worker), else the CPUs it may run on; which one depends on the tests run before
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    expected = int(os.environ.get("TF_NUM_INTRAOP_THREADS") or expected)
    expected = tf.config.threading.get_intra_op_parallelism_threads() or expected
    assert rows["keras"]["threads"] == expected
    assert " 3  ok" in next(line for line in format_table(blank_run).splitlines() if line.startswith("tflite-fp32"))


def test_threads_used_asks_tensorflow_and_leaves_a_gpu_without(monkeypatch):
    import sys
    import types

    from export.benchmark import threads_used

    fake_tf = types.SimpleNamespace(config=types.SimpleNamespace(threading=types.SimpleNamespace(
        get_intra_op_parallelism_threads=lambda: 5)))
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tf)
    assert threads_used(_Blank("keras", None)) == 5
    gpu = _Blank("tensorrt", None)
    gpu.device = "gpu"
    assert threads_used(gpu) is None
