"""``otscc benchmark``: what its options do to the files it writes and to ``--compare`` (found by a review of an
engineer benchmarking laptops, 2026-11-30). No measurement runs here: ``run_benchmark`` is replaced."""

from __future__ import annotations

import json

import pytest

from inference.cli import main


def _measured(**kw) -> dict:
    """What run_benchmark returns for ``--formats onnx`` when it measured it (and the reference)."""
    from dataclasses import asdict

    from export.benchmark import Row, device_facts

    rows = [Row("keras", "keras", "fp32", slice_ms_p50=30.0, slice_ms_p95=31.0, volume_s=0.5, size_mb=1.8,
                dice_vs_reference=1.0, pipeline_s={"segment": 0.5}),
            Row("onnx", "onnxruntime", "fp32", slice_ms_p50=9.0, slice_ms_p95=9.5, volume_s=0.2, size_mb=1.8,
                dice_vs_reference=1.0, pipeline_s={"segment": 0.2})]
    return {"kind": "otscc-benchmark", "version": 2, "device": device_facts(), "patient": "p", "runs": 1,
            "pipeline_runs": 1, "reference": {"format": "keras", "runtime": "keras"}, "rows": [asdict(r) for r in rows]}


# -- --json over an existing file ------------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "said"), [
    (json.dumps({"age": 61, "sex": "F"}), "not an otscc benchmark result (no otscc benchmark kind)"),
    (json.dumps({"kind": "otscc-prediction"}), "(kind 'otscc-prediction')"),
    ("[1, 2]", "not an otscc benchmark result"), ("some notes\n", "(not JSON)"), ("", "(not JSON)"),
])
def test_json_does_not_overwrite_a_file_that_is_not_a_benchmark_result(tmp_path, monkeypatch, capsys, content,
                                                                        said):
    """``--json clinical.json`` (a slip of the tab key) replaced the file without a word."""
    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    target = tmp_path / "clinical.json"
    target.write_text(content)
    assert main(["benchmark", "--formats", "onnx", "--json", str(target)]) == 3
    err = capsys.readouterr().err
    assert f"--json {target}: the file exists and is a" in err and said in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert target.read_text() == content and not target.with_suffix(".png").exists()


@pytest.mark.parametrize("earlier", [True, False])
def test_json_replaces_an_earlier_result_and_anything_with_overwrite(tmp_path, monkeypatch, capsys, earlier):
    monkeypatch.setattr("export.benchmark.run_benchmark", _measured)
    target = tmp_path / "laptop.json"
    target.write_text(json.dumps({"kind": "otscc-benchmark", "version": 1, "rows": []}) if earlier else "notes")
    args = ["benchmark", "--formats", "onnx", "--json", str(target), *([] if earlier else ["--overwrite"])]
    assert main(args) == 0, capsys.readouterr().err
    assert json.loads(target.read_text())["rows"][1]["format"] == "onnx"


def test_json_over_a_named_pipe_is_refused_without_reading_it(tmp_path, monkeypatch, capsys):
    """Reading a FIFO at the --json path to see whether it was a benchmark result blocked for ever."""
    import os
    import threading

    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    codes = []
    worker = threading.Thread(target=lambda: codes.append(main(["benchmark", "--formats", "onnx", "--json",
                                                                    str(fifo)])), daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader before failing: the writer's end opened and closed
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("blocked reading the named pipe")
    assert codes == [3]
    assert "the file exists and is not a regular file (a named pipe" in capsys.readouterr().err


def test_json_over_a_link_to_nothing_or_a_huge_file_says_so(tmp_path, monkeypatch, capsys):
    """A dangling link was reported as "not JSON"; any file was read whole to find out."""
    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "gone.json")
    assert main(["benchmark", "--formats", "onnx", "--json", str(link)]) == 3
    err = capsys.readouterr().err
    assert "a link to a missing file that cannot be read (FileNotFoundError: No such file" in err and "not JSON" \
        not in err
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (4 * 2**20 + 1))
    assert main(["benchmark", "--formats", "onnx", "--json", str(big)]) == 3
    assert "a file over 4 MB, not an otscc benchmark result" in capsys.readouterr().err


def test_a_file_that_appears_at_json_while_measuring_is_not_replaced(tmp_path, monkeypatch, capsys):
    """The check ran only before the minutes of measuring."""
    target = tmp_path / "clinical.json"

    def measure(**kw):
        target.write_text('{"age": 61}')
        return _measured()

    monkeypatch.setattr("export.benchmark.run_benchmark", measure)
    assert main(["benchmark", "--formats", "onnx", "--json", str(target)]) == 3
    captured = capsys.readouterr()
    assert "onnx" in captured.out and "the results were not written (the table above has them)" in captured.err
    assert target.read_text() == '{"age": 61}' and not target.with_suffix(".png").exists()


@pytest.mark.parametrize(("earlier", "chart", "overwrite", "replaced"), [
    (False, None, False, False),  # FILE.png beside a new result: someone else's picture
    (True, None, False, True),  # beside an earlier result being replaced: that result's chart
    (True, "other.png", False, False),  # --chart names an existing file
    (False, "other.png", True, True), (False, None, True, True),
])
def test_the_chart_replaces_only_its_own_results_chart_or_with_overwrite(tmp_path, monkeypatch, capsys, earlier,
                                                                          chart, overwrite, replaced):
    """The chart beside --json (or --chart) silently replaced any existing PNG of that name."""
    monkeypatch.setattr("export.benchmark.run_benchmark", _measured)
    target = tmp_path / "laptop.json"
    if earlier:
        target.write_text(json.dumps({"kind": "otscc-benchmark", "version": 2, "rows": []}))
    picture = tmp_path / (chart or "laptop.png")
    picture.write_bytes(b"holiday photo")
    args = ["benchmark", "--formats", "onnx", "--json", str(target), *(["--chart", str(picture)] if chart else []),
            *(["--overwrite"] if overwrite else [])]
    assert main(args) == (0 if replaced else 3)
    assert (picture.read_bytes() != b"holiday photo") == replaced
    if not replaced:
        err = capsys.readouterr().err
        assert "a file exists there and is not the chart of an earlier result" in err and "--overwrite" in err
        assert json.loads(target.read_text())["rows"] == [] if earlier else not target.exists()


def test_overwrite_without_anything_to_write_is_refused(monkeypatch, capsys):
    """``otscc benchmark --overwrite`` (meaning --json, which was forgotten) measured for minutes, wrote nothing."""
    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: pytest.fail("measured anyway"))
    assert main(["benchmark", "--formats", "onnx", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "--overwrite applies to --json FILE" in err and len(err.strip().splitlines()) == 1


# -- --compare and the options of a measurement ----------------------------------------------------------------
def _result(path, cpu: str, ms: dict[str, float], skipped: tuple[str, ...] = ()):
    rows = [{"format": f, "runtime": "litert", "status": "ok", "slice_ms_p50": v} for f, v in ms.items()]
    rows += [{"format": f, "runtime": "litert", "status": "skipped", "reason": "no runtime"} for f in skipped]
    path.write_text(json.dumps({"kind": "otscc-benchmark", "version": 2, "device": {"cpu": cpu, "gpu": ""},
                                "rows": rows}))
    return str(path)


@pytest.fixture
def two_results(tmp_path):
    return [_result(tmp_path / "a.json", "AMD EPYC", {"tflite-int8": 3.4, "tflite-fp32": 6.9, "onnx": 8.0}),
            _result(tmp_path / "b.json", "Laptop i5", {"tflite-int8": 6.8, "tflite-fp32": 13.8})]


def test_compare_shows_only_the_formats_asked_for(two_results, tmp_path, capsys, monkeypatch):
    """``--compare A B --formats tflite-int8`` printed every row (and charted them): --formats was ignored."""
    import export.benchmark

    charted = []
    monkeypatch.setattr(export.benchmark, "write_chart", lambda results, path: charted.append(results) or path)
    assert main(["benchmark", "--compare", *two_results, "--formats", "tflite-int8,onnx",
                 "--chart", str(tmp_path / "c.png")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split(" / ")[0] for line in table[1:-1]] == ["tflite-int8", "onnx"]  # last line: the chart
    assert {r["format"] for res in charted[0] for r in res["rows"]} == {"tflite-int8", "onnx"}


def test_compare_says_which_formats_asked_for_no_result_holds(two_results, capsys):
    """``--compare A B --formats tflite-int8,tensorrt-fp16`` dropped tensorrt-fp16 without a word."""
    assert main(["benchmark", "--compare", *two_results, "--formats", "tflite-int8,tensorrt-fp16,openvino-int8"]) == 0
    captured = capsys.readouterr()
    assert "note: --formats tensorrt-fp16,openvino-int8: no result given holds a row of them; not shown" \
        in captured.err
    assert "tensorrt" not in captured.out


def test_compare_table_says_not_run_for_a_row_a_result_lacks_as_the_chart_does(two_results, capsys):
    """The table showed "-" where the chart and docs/benchmarks.md say "not run"."""
    assert main(["benchmark", "--compare", *two_results]) == 0
    onnx = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("onnx"))
    assert onnx.split()[-2:] == ["not", "run"] and "-" not in onnx.split("/", 1)[1]


def test_compare_refuses_formats_no_result_holds_and_unknown_ones(two_results, capsys):
    assert main(["benchmark", "--compare", *two_results, "--formats", "tensorrt-fp16"]) == 2
    err = capsys.readouterr().err
    assert "--formats tensorrt-fp16: no result given holds a row of it (they hold tflite-int8, tflite-fp32, onnx)" \
        in err
    assert main(["benchmark", "--compare", *two_results, "--formats", "tflite-int4"]) == 2
    assert "unknown format 'tflite-int4'" in capsys.readouterr().err


@pytest.mark.parametrize("options", [["--runs", "5"], ["--warmup", "0"], ["--pipeline-runs", "1"], ["--threads", "1"],
                                     ["--model", "m"], ["--patient", "p"], ["--nomogram", "n.json"],
                                     ["--runs", "5", "--threads", "1"]])
def test_compare_refuses_the_options_of_a_measurement_it_would_ignore(two_results, capsys, options):
    """``--compare A B --runs 5`` ran, printed the merged table and ignored --runs: the user thought it had effect."""
    assert main(["benchmark", "--compare", *two_results, *options]) == 2
    err = capsys.readouterr().err
    named = [o for o in options if o.startswith("--")]
    assert err.startswith(f"otscc benchmark: error: {', '.join(named)}: ") and "--compare does not make" in err
    assert len(err.strip().splitlines()) == 1


def test_a_measurement_still_gets_its_defaults_and_the_options_given(monkeypatch, capsys):
    from inference.assets import DEFAULT_NOMOGRAM, DEFAULT_SEG_MODEL, SAMPLE_PATIENT

    seen = {}
    monkeypatch.setattr("export.benchmark.run_benchmark", lambda **kw: seen.update(kw) or _measured())
    assert main(["benchmark", "--formats", "onnx", "--runs", "7"]) == 0
    assert seen["runs"] == 7 and seen["warmup"] == 5 and seen["pipeline_runs"] == 3 and seen["threads"] is None
    assert (seen["model_dir"], seen["patient"], seen["nomogram"]) == (DEFAULT_SEG_MODEL, SAMPLE_PATIENT,
                                                                      DEFAULT_NOMOGRAM)
    assert seen["formats"] == ["onnx"]


def test_compare_chart_does_not_replace_a_file_without_overwrite(two_results, tmp_path, capsys, monkeypatch):
    """``--compare A B --chart notes.png`` replaced whatever file had that name, and --overwrite was refused."""
    import export.benchmark

    monkeypatch.setattr(export.benchmark, "write_chart", lambda results, path: path.write_bytes(b"chart") or path)
    chart = tmp_path / "notes.png"
    chart.write_bytes(b"someone's figure")
    assert main(["benchmark", "--compare", *two_results, "--chart", str(chart)]) == 3
    err = capsys.readouterr().err
    assert f"--chart {chart}: a file exists there; nothing was merged or written" in err and "--overwrite" in err
    assert chart.read_bytes() == b"someone's figure"
    assert main(["benchmark", "--compare", *two_results, "--chart", str(chart), "--overwrite"]) == 0
    assert chart.read_bytes() == b"chart"
    assert main(["benchmark", "--compare", *two_results, "--overwrite"]) == 2  # nothing it could replace
    assert "without --chart nothing is written" in capsys.readouterr().err


def test_compare_refuses_a_named_pipe_without_blocking(two_results, tmp_path, capsys):
    """``--compare A pipe.json`` read the named pipe whole and blocked for ever."""
    import os
    import threading

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    codes = []
    worker = threading.Thread(target=lambda: codes.append(main(["benchmark", "--compare", two_results[0],
                                                                    str(fifo)])), daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("blocked reading the named pipe")
    assert codes == [2]
    assert f"{fifo}: not a readable benchmark JSON (OSError: not a regular file" in capsys.readouterr().err
