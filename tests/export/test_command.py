"""``otscc export`` command line: formats, output-folder rules, report, and the input folder left untouched."""

from __future__ import annotations

import json

import pytest

from inference.cli import main


def _listing(folder):
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size) for p in folder.rglob("*"))


def test_export_command_writes_variants_and_manifest_elsewhere(tiny_model, tmp_path, capsys):
    before = _listing(tiny_model)
    out = tmp_path / "variants"
    assert main(["export", "--model", str(tiny_model), "--out", str(out), "--formats", "onnx,tensorrt-fp16",
                 "--validate-patients", "0"]) == 0
    printed = capsys.readouterr().out
    assert "onnx" in printed and "skipped" in printed and "manifest:" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["variants"]["onnx"]["status"] == "ok"
    assert manifest["variants"]["onnx"]["shipped"] is False  # not validated: not shipped
    assert manifest["variants"]["tensorrt-fp16"]["status"] == "skipped"
    assert (out / "model.onnx").stat().st_size > 0 and (out / "best.weights.h5").is_file()
    assert _listing(tiny_model) == before, "the input model folder was modified"


def test_export_command_rejects_bad_formats_and_outputs(tiny_model, capsys):
    assert main(["export", "--model", str(tiny_model), "--out", str(tiny_model / "sub"), "--formats", "onnx"]) == 3
    assert "inside the input model folder" in capsys.readouterr().err
    assert main(["export", "--model", str(tiny_model), "--out", str(tiny_model), "--formats", "tflite-int4"]) == 2
    assert "unknown format" in capsys.readouterr().err
    assert main(["export", "--model", str(tiny_model), "--out", str(tiny_model), "--formats", "all,onnx"]) == 2
    assert "'all' stands alone" in capsys.readouterr().err
    assert main(["export", "--model", str(tiny_model), "--out", str(tiny_model), "--formats", "  "]) == 2
    assert "unknown format(s) (none given)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # argparse: a count below its range is a usage error
        main(["export", "--model", str(tiny_model), "--out", str(tiny_model), "--validate-patients", "-3"])
    assert exit_.value.code == 2


@pytest.mark.parametrize("cohort", [False, True])
def test_empty_formats_are_refused_not_taken_for_the_default_set(cohort, tmp_path, monkeypatch, capsys):
    """``--formats ""`` (an empty shell variable) ran the whole default export with --cohort, and without it was
    refused naming int8 formats the user never gave: "" was read as "not given"."""
    monkeypatch.setattr("export.exporter.export_model", lambda *a, **kw: pytest.fail("exported anyway"))
    assert main(["export", "--model", str(tmp_path), "--out", str(tmp_path / "out"), "--formats", "",
                 *(["--cohort", str(tmp_path)] if cohort else [])]) == 2
    err = capsys.readouterr().err
    assert "unknown format(s) (none given)" in err and "int8" not in err.split(";")[0]


def test_format_names_ignore_case_and_repeats():
    from export.commands.export import parse_formats

    assert parse_formats("TFLITE-FP32, onnx,tflite-fp32") == ["tflite-fp32", "onnx"]


def test_rows_that_cannot_be_built_here_skip_without_building_their_sources(tiny_model, tmp_path):
    from export.exporter import PRECHECKS, export_model

    unavailable = [name for name, check in PRECHECKS.items() if check()]
    if not unavailable:
        import pytest

        pytest.skip("every GPU row can be built on this machine")
    report = export_model(tiny_model, tmp_path / "gpu", unavailable, validate_patients=0)
    assert set(report.results) == set(unavailable)
    assert all(r.status == "skipped" and r.reason for r in report.results.values())
    assert not (tmp_path / "gpu" / "saved_model").exists() and not (tmp_path / "gpu" / "model.onnx").exists()


def test_a_failed_export_leaves_the_folders_variants_and_manifest_as_they_were(tiny_model, export_cohort, tmp_path,
                                                                             monkeypatch):
    """A failure after the build (here: in validation) used to leave the new file under the old manifest's hash,
    so the model folder no longer loaded; and a cohort without the split's test patients failed after the build."""
    import hashlib

    from export import exporter
    from inference.errors import InputError

    def converter(content: bytes):  # stands in for the TensorFlow conversion (a minute): the files are the point
        return lambda ctx, fmt, path: path.write_bytes(content) and None

    out = tmp_path / "model"
    monkeypatch.setitem(exporter.CONVERTERS, "tflite-fp32", converter(b"\0\0\0\0TFL3 the variant in use"))
    exporter.export_model(tiny_model, out, ["tflite-fp32"], validate_patients=0)
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir() if p.is_file()}
    assert "model_fp32.tflite" in digest and "manifest.json" in digest

    def broken(*args, **kwargs):
        raise RuntimeError("validation crashed")

    monkeypatch.setattr(exporter, "_validate", broken)
    monkeypatch.setitem(exporter.CONVERTERS, "tflite-fp32", converter(b"\0\0\0\0TFL3 a new build"))
    with pytest.raises(RuntimeError, match="validation crashed"):
        exporter.export_model(tiny_model, out, ["tflite-fp32"], cohort=export_cohort, validate_patients=1)
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir() if p.is_file()} == digest
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging folder left
    built: list[str] = []
    monkeypatch.setitem(exporter.CONVERTERS, "tflite-fp32", lambda ctx, fmt, path: built.append(fmt.name))
    with pytest.raises(InputError, match="nothing was built"):
        exporter.export_model(tiny_model, out, ["tflite-fp32"], cohort=tmp_path, validate_patients=1)
    assert built == []


def test_not_a_model_folder_fails_before_anything_is_written(tmp_path):
    from export.exporter import export_model
    from inference.errors import InputError

    folder = tmp_path / "not_a_model"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="not a model folder"):
        export_model(folder, folder, ["tflite-fp32"], validate_patients=0)
    with pytest.raises(InputError, match="not a model folder"):
        export_model(folder, tmp_path / "new_out", ["tflite-fp32"], validate_patients=0)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]  # no staging folder left in the input
    assert not (tmp_path / "new_out").exists()


#: the rows built from training-cohort slices (int8 calibration, QAT)
CALIBRATED = ("tflite-int8", "tflite-int8-qat", "openvino-int8", "tensorrt-int8")


def test_the_formats_table_says_which_rows_need_calibration_data():
    from inference.formats import FORMATS

    assert tuple(f.name for f in FORMATS if f.needs_calibration) == CALIBRATED


@pytest.mark.parametrize("formats", [*CALIBRATED, "onnx,openvino-int8", "TFLITE-INT8,tflite-int8-qat"])
def test_formats_that_need_calibration_are_refused_without_a_cohort_before_any_work(formats, tmp_path, monkeypatch,
                                                                                    capsys):
    """``otscc export --formats openvino-int8`` without --cohort built nothing asked for and exited 0 ("skipped")."""
    monkeypatch.setattr("export.exporter.export_model", lambda *a, **kw: pytest.fail("exported anyway"))
    out = tmp_path / "out"
    assert main(["export", "--model", str(tmp_path), "--out", str(out), "--formats", formats]) == 2
    err = capsys.readouterr().err
    named = [n for n in formats.lower().split(",") if n in CALIBRATED]
    assert f"--formats {', '.join(named)}: need" in err and "--cohort DIR" in err and "nothing was built" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("formats", [None, "all"])
def test_the_default_formats_and_all_skip_int8_without_a_cohort_with_the_reason(formats, tiny_model, tmp_path,
                                                                                 monkeypatch, capsys):
    """Not named one by one, the int8 rows are not refused: they are skipped with the reason "needs --cohort", as
    documented, and the rest is built (exit 0). The converters are stand-ins (a file each, seconds instead of
    minutes); the int8 ones read the calibration slices first, as the real ones do, where the reason comes from."""
    import export.exporter
    from inference.formats import FORMATS

    def stand_in(ctx, fmt, path):
        if fmt.needs_calibration:
            ctx.calibration  # noqa: B018 (raises FormatSkipped without a cohort)
        if not path.suffix:  # a SavedModel folder (keras, tf-trt)
            path.mkdir()
            (path / "saved_model.pb").write_bytes(b"variant")
        for name in fmt.files if path.suffix else ():
            (path.parent / name).write_bytes(b"variant")

    monkeypatch.setattr(export.exporter, "CONVERTERS", {f.name: stand_in for f in FORMATS})
    out = tmp_path / "out"
    assert main(["export", "--model", str(tiny_model), "--out", str(out),
                 *(["--formats", formats] if formats else [])]) == 0, capsys.readouterr().err
    variants = json.loads((out / "manifest.json").read_text())["variants"]
    for name in CALIBRATED[:3]:  # tensorrt-int8 skips earlier here: no GPU / TensorRT
        assert variants[name]["status"] == "skipped" and "needs --cohort" in variants[name]["reason"], name
    assert variants["tflite-fp32"]["status"] == "ok" and variants["onnx"]["status"] == "ok"
    assert ("tensorrt-int8" in variants) == (formats == "all")


def test_every_documented_export_of_an_int8_format_gives_a_cohort():
    """``otscc export --formats tensorrt-fp16,tensorrt-int8`` (the TensorRT backend's docstring) is refused since
    int8 formats named without --cohort are: an example that fails teaches nothing."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [root / "README.md", *(p for top in ("docs", "export", "inference", "training", "desktop")
                                   for p in (root / top).rglob("*") if p.suffix in (".py", ".md"))]
    wrong = [f"{path.relative_to(root)}: {command}" for path in files
             for command in re.findall(r"otscc export [^`\n]*", path.read_text(encoding="utf-8"))
             if any(name in command for name in CALIBRATED) and "--formats" in command and "--cohort" not in command]
    assert wrong == []


@pytest.mark.parametrize("as_json", [False, True])
def test_a_float_model_with_a_low_dice_is_exported_with_a_warning(as_json, tmp_path, monkeypatch, capsys, caplog):
    """B3: every variant "ok, agree 100%" against a float reference of mean Dice 0.0000, and no word about it."""
    import logging

    from export.exporter import ExportReport
    from export.validate import reference_warning

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"variants": {}}))
    reference = {"patients": 1, "dice_mean": 0.0, "runtime": "keras", "warning": reference_warning(0.0, 1)}
    from export.steps import FormatResult

    monkeypatch.setattr("export.exporter.export_model", lambda *a, **kw: ExportReport(
        tmp_path, manifest, {"onnx": FormatResult("onnx", "ok")}, reference_validation=reference))
    with caplog.at_level(logging.WARNING):
        assert main(["export", "--model", str(tmp_path), "--out", str(tmp_path), "--formats", "onnx",
                     *(["--json"] if as_json else [])]) == 0  # a warning, not a refusal
    out = capsys.readouterr().out
    said = caplog.text if as_json else out
    assert "the float model itself scores mean Dice 0.0000" in said and "below 0.5" in said
    if as_json:
        assert json.loads(out) == {}  # stdout stays JSON


def test_the_export_table_columns_line_up_for_100_percent_agreement_and_small_values():
    """``agree`` was ``{:.4%}`` in an 8-wide column: "100.0000%" (9 characters) shifted every validated row's
    maskDice, shipped and note one place right of the header's."""
    from export.commands.export import format_table
    from export.exporter import ExportReport
    from export.steps import FormatResult

    def validated(agreement: float) -> dict:
        return {"dice_change": -0.0001, "agreement_min": agreement, "mask_dice_mean": 0.9987}

    results = {"tflite-fp32": FormatResult("tflite-fp32", "ok", None, 41.4, ["m"], 1_330_000,
                                           {"xnnpack": {"ops": 90, "all_ops_delegated": True}}, validated(1.0), True),
               "tflite-int8": FormatResult("tflite-int8", "ok", None, 3.2, ["m"], 420_000, {}, validated(0.0001), True),
               "tensorrt-fp16": FormatResult("tensorrt-fp16", "skipped", "tensorrt is not installed")}
    lines = format_table(ExportReport(None, None, results)).splitlines()
    header = lines[0]
    for title in ("agree", "maskDice"):  # right-aligned: every cell ends where the title ends
        end = header.index(title) + len(title)
        assert all(line[end] == " " and line[end - 1] != " " for line in lines), (title, lines)
    agree_end = header.index("agree") + len("agree")
    assert [line[agree_end - 1] for line in lines[1:]] == ["%", "%", "-"]
    start = header.index("shipped")
    assert [line[start:start + 3] for line in lines[1:]] == ["yes", "yes", "no "]
    assert "100.0000%" in lines[1] and "0.0100%" in lines[2]


@pytest.mark.parametrize("as_json", [False, True])
def test_an_export_that_built_nothing_asked_for_exits_1_and_leaves_no_new_folder(as_json, tiny_model, tmp_path,
                                                                                 monkeypatch, capsys):
    """``otscc export --formats tensorrt-fp16,tf-trt`` on a machine without them exited 0 and left a new folder with a
    manifest, the float weights and the split: a script could not tell that nothing was built."""
    from export import exporter

    for name in ("tensorrt-fp16", "tf-trt"):
        monkeypatch.setitem(exporter.PRECHECKS, name, lambda: "not on this test machine")
    out = tmp_path / "exp2"
    args = ["export", "--model", str(tiny_model), "--out", str(out), "--formats", "tensorrt-fp16,tf-trt",
            "--validate-patients", "0", *(["--json"] if as_json else [])]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        f"otscc export: error: nothing was built: tensorrt-fp16, tf-trt were skipped or failed here (the table says "
        f"why); {out} was not created"]
    assert not out.exists()
    if as_json:
        assert json.loads(captured.out)["tf-trt"] == {"format": "tf-trt", "status": "skipped",
                                                      "reason": "not on this test machine", "shipped": False}
    else:
        assert "tensorrt-fp16" in captured.out and "not on this test machine" in captured.out
        assert "manifest:" not in captured.out
    existing = tmp_path / "model"  # an existing folder: its manifest records the skips, as documented
    existing.mkdir()
    assert main([*args[:4], str(existing), *args[5:]]) == 1
    assert "its manifest records why" in capsys.readouterr().err
    variants = json.loads((existing / "manifest.json").read_text())["variants"]
    assert variants["tf-trt"]["status"] == "skipped"


def test_calibration_with_fewer_patients_or_slices_than_asked_gets_a_note(tmp_path):
    """The manifest recorded ``"calibration": {"slices": 143, "patients": 5}`` against the defaults of 160 and 8, and
    the table said nothing about it."""
    import numpy as np

    from export.context import ExportContext, ExportSettings

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "best.weights.h5").write_bytes(b"")

    def context(patients: int, slices: int) -> ExportContext:
        ctx = ExportContext(tmp_path, tmp_path / "out", tmp_path, ExportSettings())
        ctx.__dict__.update(training_cases=[object()] * patients, calibration=np.zeros((slices, 2, 2, 3)))
        return ctx

    assert ExportContext(tmp_path, tmp_path / "out").calibration_shortfall() is None  # no int8 format built
    assert context(8, 160).calibration_shortfall() is None
    assert context(5, 143).calibration_shortfall() == (
        "int8 calibration/QAT used 143 slices, 5 training-split patients, fewer than asked (--calibration-slices 160, "
        "--calibration-patients 8): the training split has 5 patients")
    assert "at most 20 slices are sampled per patient" in context(8, 150).calibration_shortfall()


def test_the_calibration_note_is_printed(tiny_model, tmp_path, monkeypatch, capsys):
    from export import exporter

    monkeypatch.setitem(exporter.CONVERTERS, "tflite-fp32", lambda ctx, fmt, path: path.write_bytes(b"TFL3") and None)
    monkeypatch.setattr(exporter.ExportContext, "calibration_shortfall", lambda self: "int8 calibration/QAT used less")
    assert main(["export", "--model", str(tiny_model), "--out", str(tmp_path / "out"), "--formats", "tflite-fp32",
                 "--validate-patients", "0"]) == 0
    assert "note: int8 calibration/QAT used less" in capsys.readouterr().out.splitlines()
