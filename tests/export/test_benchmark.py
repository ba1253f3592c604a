"""otscc benchmark: one real (short) run on the shipped model, table/JSON/chart, and --compare merging."""

from __future__ import annotations

import copy
import json
import re

import pytest

from export.benchmark import candidates, compare_table, device_facts, format_table, load_results, log_scale
from inference.cli import main
from inference.errors import InputError
from inference.formats import FORMATS


def test_candidates_iterate_the_formats_table():
    pairs = candidates()
    assert [(f.name, r) for f, r in pairs] == [(f.name, r) for f in FORMATS for r in f.runtimes]
    assert {f.name for f, _ in candidates(["onnx"])} == {"onnx"}


def test_device_facts_have_no_identifiers():
    facts = device_facts()
    assert facts["logical_cores"] >= 1 and isinstance(facts["isa"], list)
    assert "numpy" in facts["libraries"]
    assert not {"hostname", "user", "node"} & set(facts)


def test_isa_flags_come_from_numpy_where_the_kernel_does_not_list_them(monkeypatch):
    """Windows and macOS have no /proc/cpuinfo: the facts then name what numpy's CPU dispatch found."""
    from inference.cpu import CpuInfo

    info = CpuInfo(model="x", flags=frozenset(), dispatch=frozenset({"SSE42", "AVX2", "FMA3", "AVX512VNNI"}))
    monkeypatch.setattr("export.benchmark.cpu_info", lambda: info)
    assert device_facts()["isa"] == ["sse4_2", "avx2", "fma", "avx512_vnni"]


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "this.json"
    code = main(["benchmark", "--formats", "tflite-fp32,tflite-int8,tensorrt-fp16", "--runs", "3", "--warmup", "1",
                 "--pipeline-runs", "1", "--threads", "2", "--json", str(out)])
    assert code == 0
    return json.loads(out.read_text()), out


def test_short_run_measures_and_skips_with_reasons(short_run):
    result, out = short_run
    rows = {(r["format"], r["runtime"]): r for r in result["rows"]}
    assert result["reference"] == {"format": "keras", "runtime": "keras"}
    assert rows[("keras", "keras")]["dice_vs_reference"] == 1.0  # the reference always runs
    fp32, int8 = rows[("tflite-fp32", "litert")], rows[("tflite-int8", "litert")]
    for row in (fp32, int8):
        assert row["status"] == "ok" and row["slice_ms_p50"] > 0 and row["slice_ms_p95"] is None  # 3 runs: no p95
        assert {"load", "register", "preprocess", "segment", "radiomics", "nomogram"} <= set(row["pipeline_s"])
        assert 0.9 <= row["dice_vs_reference"] <= 1.0 and row["voxel_agreement"] > 0.99
        assert row["size_mb"] > 0
    assert int8["size_mb"] < fp32["size_mb"]
    trt = rows[("tensorrt-fp16", "tensorrt")]
    assert trt["status"] == "skipped" and trt["reason"]  # no TensorRT here: said, not failed
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = format_table(result)
    assert "tflite-int8" in table and "skipped" in table


def test_compare_merges_devices(short_run, tmp_path, capsys):
    result, out = short_run
    other = copy.deepcopy(result)
    other["device"]["cpu"] = "Laptop i5-1235U"
    other["device"]["gpu"] = ""
    for row in other["rows"]:
        if row["slice_ms_p50"]:
            row["slice_ms_p50"] *= 2
    second = tmp_path / "laptop.json"
    second.write_text(json.dumps(other))
    chart = tmp_path / "cmp.png"
    assert main(["benchmark", "--compare", str(out), str(second), "--chart", str(chart)]) == 0
    text = capsys.readouterr().out
    assert "Laptop i5-1235U" in text and "tflite-int8 / litert" in text
    assert chart.exists()
    merged = compare_table(load_results([out, second]))
    fp32 = next(line for line in merged.splitlines() if line.startswith("tflite-fp32 / litert"))
    a, b = (float(x) for x in fp32.replace("ms", "").split()[3:5])
    assert b == pytest.approx(2 * a, rel=0.02)


def test_chart_switches_to_a_log_axis_only_for_a_wide_spread():
    assert not log_scale([3.4, 6.9, 16.5])
    assert log_scale([3.4, 6.9, 461.5])
    assert not log_scale([]) and not log_scale([0.0, 5.0])


def test_compare_refuses_other_json(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(InputError, match="not an otscc benchmark"):
        load_results([bad])


def _chart_result(cpu: str, ms: dict[str, float]) -> dict:
    return {"kind": "otscc-benchmark", "version": 2, "device": {"cpu": cpu, "gpu": ""},
            "rows": [{"format": f, "runtime": "litert", "status": "ok", "slice_ms_p50": v} for f, v in ms.items()]}


def test_chart_draws_every_device_in_its_colour_and_picks_its_axis(tmp_path):
    """The PNG (export/raster.py, no imaging library) holds one colour per device, bars on a linear axis, and ticks
    that cover the values: decades with 2x/5x on a log axis, 1/2/5 steps from 0 on a linear one."""
    image_module = pytest.importorskip("PIL.Image")

    from export.benchmark import COLORS, _ticks, write_chart

    results = [_chart_result("AMD EPYC", {"tflite-int8": 3.4, "tflite-fp32": 6.9}),
               _chart_result("Laptop i5", {"tflite-int8": 6.8, "tflite-fp32": 13.8})]
    path = write_chart(results, tmp_path / "chart.png")
    image = image_module.open(path).convert("RGB")
    counts = {c: n for n, c in image.getcolors(maxcolors=1 << 20)}
    rgb = [tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in COLORS[:3]]
    legend_swatch = 23 * 13
    assert counts.get(rgb[0], 0) > 3 * legend_swatch and counts.get(rgb[1], 0) > 3 * legend_swatch  # bars drawn
    assert rgb[2] not in counts  # only two devices
    assert _ticks(0, 15.87, log=False) == [0, 2, 4, 6, 8, 10, 12, 14]
    assert _ticks(2.27, 1384.5, log=True) == [5, 10, 20, 50, 100, 200, 500, 1000]
    assert _ticks(0, 0.6, log=False)[-1] == pytest.approx(0.6)  # 0.6 / 0.1 is 5.9999...: the last tick stays


def test_device_labels_tell_apart_machines_with_the_same_cpu_name():
    from export.benchmark import _label

    def device(isa, limit="", gpu=""):
        return {"device": {"cpu": "AMD EPYC", "isa": isa, "onednn_max_cpu_isa": limit, "gpu": gpu}}

    full = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"]
    assert _label(device(full)) == "AMD EPYC (avx512_vnni)"
    assert _label(device(full, "AVX2")) == "AMD EPYC (avx512_vnni) [oneDNN AVX2]"
    assert _label(device(["sse4_2", "avx", "avx2", "fma"])) == "AMD EPYC (avx2)"
    assert _label(device([], gpu="NVIDIA H200")) == "AMD EPYC + NVIDIA H200"
    assert _label({"device": {"cpu": "Intel(R) Core(TM) i5 CPU", "gpu": ""}}) == "Intel Core i5"


# -- mistakes an engineer makes (found by a review, 2026-11-30) ------------------------------------------------
@pytest.mark.parametrize(("runs", "timed"), [(1, 1), (10, 10), (15, 15), (25, 25)])
def test_time_slices_times_exactly_the_runs_asked_for(runs, timed):
    import numpy as np

    from export.benchmark import time_slices

    class Counting:
        calls = 0

        def predict(self, batch):
            Counting.calls += 1
            return batch[..., 0]

    Counting.calls = 0
    out = time_slices({"a": Counting()}, np.zeros((3, 8, 8, 3), np.float32), runs=runs, warmup=2)
    assert out["a"]["runs"] == timed  # was rounded up to blocks of 10: 15 asked, 20 timed, 15 reported
    assert Counting.calls == timed + 2 * -(-runs // 10)  # two warm-up calls per block


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a readable benchmark JSON"),
    ('{"kind": "otscc-benchmark"}'.encode("utf-16"), "not a readable benchmark JSON"),
    (json.dumps({"kind": "otscc-benchmark", "version": 2, "device": {"cpu": "x"}}).encode(),
     r"incomplete .*\(no rows\)"),
    (json.dumps({"kind": "otscc-benchmark", "version": 2, "rows": []}).encode(), r"\(no device.cpu\)"),
    (json.dumps({"kind": "otscc-benchmark", "version": 2, "device": {"cpu": "x"},
                 "rows": [{"format": "onnx", "status": "ok"}]}).encode(), "row 0 lacks format, runtime or status"),
    (json.dumps({"kind": "otscc-benchmark", "version": 2, "device": {"cpu": "x"},
                 "rows": [{"format": "onnx", "runtime": "ort", "status": "ok", "slice_ms_p50": None}]}).encode(),
     "ok but has no numeric slice_ms_p50"),
])
def test_compare_refuses_unreadable_or_incomplete_files_with_one_line(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_results([bad])
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_chart_result("x", {"onnx": 1.0})))
    assert main(["benchmark", "--compare", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("otscc benchmark: error: ") and len(err.strip().splitlines()) == 1


def test_compare_tells_two_runs_on_one_machine_apart(tmp_path):
    from export.benchmark import device_labels

    paths = []
    for name, threads in (("two.json", 2), ("one.json", 1)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps({**_chart_result("AMD EPYC", {"onnx": 1.0}), "threads": threads}))
    # the thread counts differ: said after the "|" (test_benchmark_threads.py), which tells the two apart
    assert device_labels(load_results(paths)) == ["AMD EPYC | threads 2", "AMD EPYC | threads 1"]
    (tmp_path / "again.json").write_text(json.dumps({**_chart_result("AMD EPYC", {"onnx": 1.1}), "threads": 2}))
    assert device_labels(load_results([paths[0], tmp_path / "again.json"])) == ["AMD EPYC [two.json]",
                                                                                  "AMD EPYC [again.json]"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_chart_result("Laptop i5", {"onnx": 2.0})))
    # its thread count not recorded (no --threads, no per-row counts): said too
    assert device_labels(load_results([paths[0], other])) == ["AMD EPYC | threads 2", "Laptop i5 | threads ?"]


@pytest.mark.parametrize("bad_args", [
    ["--runs", "0"], ["--pipeline-runs", "-1"], ["--warmup", "-1"], ["--formats", ""], ["--chart", "x.jpg"],
    ["--model", "/nonexistent/model"], ["--compare", "a.json", "--json", "b.json"],
    ["--json", "same.png"], ["--json", "r.png", "--chart", "R.PNG"], ["--json", "d/r.png", "--chart", "D/./R.png"],
])
def test_usage_mistakes_fail_before_measuring(tmp_path, monkeypatch, capsys, bad_args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    try:
        code = main(["benchmark", *bad_args])
    except SystemExit as stop:
        code = stop.code
    assert code == 2, capsys.readouterr()


def test_a_chart_that_would_replace_the_json_is_refused_before_measuring(tmp_path, monkeypatch, capsys):
    """``--json same.png`` put the default chart (the JSON path with .png) over the JSON and said it wrote both."""
    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    assert main(["benchmark", "--json", str(tmp_path / "same.png")]) == 2
    err = capsys.readouterr().err
    assert "are the same file" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "same.png").exists()


def test_an_unwritable_json_path_fails_before_measuring(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    afile = tmp_path / "a.json"
    afile.write_text("{}")
    assert main(["benchmark", "--json", str(afile / "x.json")]) == 3
    assert main(["benchmark", "--json", str(tmp_path)]) == 3
    assert "is a folder" in capsys.readouterr().err


def test_a_patient_without_clinical_values_fails_before_measuring(tmp_path, monkeypatch, capsys):
    import shutil

    from inference.assets import DEFAULT_SEG_MODEL, SAMPLE_PATIENT

    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    patient = tmp_path / "p"
    shutil.copytree(SAMPLE_PATIENT, patient)
    (patient / "clinical.json").unlink()
    assert main(["benchmark", "--patient", str(patient)]) == 2
    assert "no age, sex, ct_stage, cn_status in its clinical.json" in capsys.readouterr().err
    from export.commands.benchmark import check_inputs

    (patient / "clinical.json").write_text(json.dumps({"age": 60, "sex": "F", "ct_stage": "T1", "cn_status": 0}))
    check_inputs(DEFAULT_SEG_MODEL, patient)  # no DOI: the estimate, as before
    (patient / "clinical.json").write_text(json.dumps({"age": 60, "sex": "F", "ct_stage": "T1", "cn_status": 0,
                                                       "doi_mm": "auto"}))
    check_inputs(DEFAULT_SEG_MODEL, patient)


def test_benchmark_model_checks_say_what_predict_says_and_name_the_folder_of_a_file(tmp_path, monkeypatch, capsys):
    """A missing --model read "--model X: no such model folder" (predict: "X: no such model folder (a folder with
    the model files ...)"), and a variant file "no such model folder" though it exists."""
    from inference.assets import DEFAULT_SEG_MODEL, SAMPLE_PATIENT

    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    assert main(["benchmark", "--model", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert main(["predict", str(SAMPLE_PATIENT), "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert f"{tmp_path / 'nope'}: no such model folder (a folder with the model files" in err
    assert err.replace("otscc benchmark:", "otscc predict:") == capsys.readouterr().err
    assert main(["benchmark", "--model", str(DEFAULT_SEG_MODEL / "model_fp32.tflite")]) == 2
    assert f"a file; the benchmark measures every variant in a model folder, so give the folder ({DEFAULT_SEG_MODEL})" \
        in capsys.readouterr().err


def test_self_test_unknown_backend_is_a_usage_error_listing_each_choice_once(capsys):
    assert main(["self-test", "--backends", "nosuch"]) == 2
    err = capsys.readouterr().err
    choices = err.split("(")[1].split(")")[0].split(", ")
    assert len(choices) == len(set(choices)) and "keras" in choices


# -- --compare inputs (found by a review, 2026-11-30) -------------------------------------------------------------
def _write(path, result):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return path


def test_compare_labels_files_of_one_name_by_their_folders(tmp_path, capsys):
    """Each laptop writes result.json; collected into folders, both columns read "AMD EPYC [result.json]"."""
    from export.benchmark import device_labels

    a = _write(tmp_path / "laptopA" / "result.json", _chart_result("AMD EPYC", {"onnx": 1.0}))
    b = _write(tmp_path / "laptopB" / "result.json", _chart_result("AMD EPYC", {"onnx": 2.0}))
    assert device_labels(load_results([a, b])) == ["AMD EPYC [laptopA/result.json]", "AMD EPYC [laptopB/result.json]"]
    deep = [_write(tmp_path / d / "run" / "result.json", _chart_result("AMD EPYC", {"onnx": 1.0})) for d in "xy"]
    assert device_labels(load_results([*deep, a])) == ["AMD EPYC [x/run/result.json]", "AMD EPYC [y/run/result.json]",
                                                       "AMD EPYC [laptopA/result.json]"]
    assert main(["benchmark", "--compare", str(a), str(b)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "laptopA/result.json" in header and "laptopB/result.json" in header


def test_compare_refuses_the_same_file_given_twice(tmp_path, monkeypatch, capsys):
    a = _write(tmp_path / "a.json", _chart_result("AMD EPYC", {"onnx": 1.0}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="given twice"):
        load_results([a, tmp_path / "." / "a.json"])
    assert main(["benchmark", "--compare", "a.json", str(a)]) == 2
    assert "given twice" in capsys.readouterr().err


def test_compare_reads_version_1_sizes_as_mib_and_says_so(tmp_path, capsys):
    """Version-1 results (docs/benchmarks/epyc_avx2only_2core.json) hold size_mb in MiB; version 2 in decimal MB."""
    old = {**_chart_result("AMD EPYC", {"tflite-fp32": 6.7}), "version": 1}
    old["rows"][0]["size_mb"] = 1.27
    path = _write(tmp_path / "old.json", old)
    new = _write(tmp_path / "new.json", {**_chart_result("Laptop", {"tflite-fp32": 6.7})})
    first, second = load_results([path, new])
    assert first["rows"][0]["size_mb"] == 1.33 and "MiB" in first["_notes"][0] and second["_notes"] == []
    assert main(["benchmark", "--compare", str(path), str(new)]) == 0
    assert "size_mb" not in capsys.readouterr().err  # --compare shows no size: a note about one was noise (review 4)


@pytest.mark.parametrize("version", [None, 3, "2", True, 0])
def test_compare_refuses_unknown_versions(tmp_path, capsys, version):
    result = {**_chart_result("AMD EPYC", {"onnx": 1.0}), "version": version}
    if version is None:
        del result["version"]
    path = _write(tmp_path / "r.json", result)
    with pytest.raises(InputError, match=r"version .*reads versions 1, 2"):
        load_results([path])


@pytest.mark.parametrize("bad", ["NaN", "-5.0", "0", '"fast"', "Infinity"])
def test_compare_refuses_latencies_that_are_not_positive_numbers(tmp_path, capsys, bad):
    """A NaN latency ended in a traceback in export/raster.py; a negative one showed in the table, not the chart."""
    path = tmp_path / "bad.json"
    text = json.dumps(_chart_result("AMD EPYC", {"onnx": 1.5})).replace("1.5", bad)
    path.write_text(text)
    chart = tmp_path / "c.png"
    assert main(["benchmark", "--compare", str(path), "--chart", str(chart)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "slice_ms_p50" in err and len(err.strip().splitlines()) == 1
    assert not chart.exists()


def test_a_result_names_its_version_and_units(short_run):
    from export.benchmark_results import RESULT_VERSION, UNITS

    result, _ = short_run
    assert result["version"] == RESULT_VERSION == 2 and result["units"]["size_mb"] == UNITS["size_mb"]
    assert load_results([short_run[1]])[0]["_notes"] == []
    from inference import __version__
    from inference.assets import DEFAULT_SEG_MODEL
    from inference.backends.manifest import find_manifest, sha256_file

    assert result["otscc_edge"] == __version__  # which build, of the product and of the model, was timed
    assert result["model_manifest_sha256"] == sha256_file(find_manifest(DEFAULT_SEG_MODEL).path)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", result["created"])  # with its UTC offset


def _all_skipped(**kw) -> dict:
    """What run_benchmark returns on a CPU machine for --formats tensorrt-fp16: only the reference ran."""
    from dataclasses import asdict

    from export.benchmark import Row, device_facts

    keras = Row("keras", "keras", "fp32", slice_ms_p50=30.0, slice_ms_p95=31.0, volume_s=0.5, size_mb=1.8,
                dice_vs_reference=1.0, pipeline_s={"segment": 0.5})
    trt = Row("tensorrt-fp16", "tensorrt", "fp16", status="skipped", reason="BackendUnavailableError: no tensorrt")
    rows = [keras, trt] if kw["formats"] else [trt]
    return {"kind": "otscc-benchmark", "version": 2, "device": device_facts(), "patient": "p", "runs": 1,
            "pipeline_runs": 1, "reference": {"format": "keras", "runtime": "keras"}, "rows": [asdict(r) for r in rows]}


@pytest.mark.parametrize("formats", [["--formats", "tensorrt-fp16"], []])
def test_nothing_measured_is_an_error_without_a_chart(tmp_path, monkeypatch, capsys, formats):
    """Every requested row skipped (the reference that always runs does not count) gave rc 0 and an empty chart."""
    monkeypatch.setattr("export.benchmark.run_benchmark", _all_skipped)
    out = tmp_path / "r.json"
    assert main(["benchmark", *formats, "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "nothing was measured" in err and len(err.strip().splitlines()) == 1
    assert json.loads(out.read_text())["rows"][-1]["status"] == "skipped"  # the JSON records the skips
    assert not out.with_suffix(".png").exists()
