"""`otscc` command line: output, errors as one line, nothing written into the patient folder."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from inference.cli import main
from tests.inference.test_io_files import write_volume

REPO = Path(__file__).resolve().parents[2]


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def patient(tmp_path) -> Path:
    folder = tmp_path / "case007"
    folder.mkdir()
    for i, name in enumerate(("T1C", "t2w", "t1")):
        write_volume(folder / f"{name}.nii.gz", value=100 + 80 * i, seed=i)
    return folder


def test_inspect_text(patient, capsys):
    before = tree_digest(patient)
    assert main(["inspect", str(patient)]) == 0
    out = capsys.readouterr().out
    assert "Patient case007" in out
    assert "T1C.nii.gz" in out and "file name" in out
    assert "skipped: already share a physical space" in out
    assert "Timings:" in out
    assert tree_digest(patient) == before


def test_inspect_json(patient, capsys):
    assert main(["inspect", str(patient), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["roles"]) == {"cet1", "t2", "t1"}
    assert report["roles"]["t2"]["size_xyz"] == [40, 36, 6]
    assert report["registration"]["t2"]["skipped"] is True
    assert {"load", "register"} <= set(report["timings_s"])


def test_inspect_json_gives_dicom_series_numbers_as_numbers(capsys):
    assert main(["inspect", str(REPO / "assets" / "sample_patient_dicom"), "--json", "--register", "never"]) == 0
    found = json.loads(capsys.readouterr().out)["series_found"]
    assert [s["series_number"] for s in found] == [2, 3, 5]


def test_predict_error_starts_on_a_clean_line_after_the_progress(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # progress is drawn on a terminal only
    write_volume(tmp_path / "cet1.nii.gz")
    write_volume(tmp_path / "t1.nii.gz")
    assert main(["predict", str(tmp_path), "--out", str(tmp_path.parent / "out")]) == 2
    err = capsys.readouterr().err
    assert "load" in err  # the progress line was drawn ...
    shown = err.split("\r")[-1]  # ... and wiped: what the terminal shows after the last carriage return
    assert shown.startswith("otscc predict: error:") and "no T2 file" in shown


def test_no_progress_redraws_when_stderr_is_a_file_or_pipe(tmp_path, capsys):
    write_volume(tmp_path / "cet1.nii.gz")
    write_volume(tmp_path / "t1.nii.gz")
    assert main(["predict", str(tmp_path), "--out", str(tmp_path.parent / "out")]) == 2
    err = capsys.readouterr().err
    assert "\r" not in err and err.startswith("otscc predict: error:") and "no T2 file" in err


def test_error_is_one_line_without_traceback(tmp_path, capsys):
    (tmp_path / "cet1.nii.gz").write_bytes(b"")
    code = main(["inspect", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    errors = [line for line in err.splitlines() if not line.startswith("... ")]  # progress lines aside
    assert len(errors) == 1 and errors[0].startswith("otscc inspect: error:")
    assert "Traceback" not in err


def test_debug_shows_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "inference.cli", "--debug", "inspect", str(tmp_path / "x")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode != 0 and "Traceback" in result.stderr and "PatientNotFoundError" in result.stderr


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from inference.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('tensorflow', 'radiomics', 'PySide6', 'training.synth', 'SimpleITK') "
            "if m in sys.modules]\nprint(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", ["predict", "self-test", "benchmark"])
def test_more_threads_than_cpus_is_accepted_with_one_warning(monkeypatch, capsys, command):
    """--threads 99 on 2 cores ran 40x slower without a word; it is still accepted (oversubscribing on purpose)."""
    from inference.cli import _build_parser

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    extra = ["x", "--out", "y"] if command == "predict" else []
    args = _build_parser(command).parse_args([command, *extra, "--threads", "99"])
    assert args.threads == 99
    err = capsys.readouterr().err
    assert err.count("warning: --threads 99 is more than the 2 CPU threads") == 1 and "slower" in err
    assert _build_parser(command).parse_args([command, *extra, "--threads", "2"]).threads == 2
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit):
        _build_parser(command).parse_args([command, "--help"])
    assert "is allowed but much slower" in " ".join(capsys.readouterr().out.split())  # the help says so too


@pytest.mark.parametrize("args", [["benchmark", "--compare", "docs/benchmarks/epyc_2core.json"],
                                  ["inspect", "--json", "assets/sample_patient"]])
def test_output_into_a_closed_pipe_ends_quietly_with_141(args):
    """`otscc benchmark --compare ... | head -1` ended in a BrokenPipeError traceback, exit code 1."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line: every write to stdout fails with EPIPE
    try:
        result = subprocess.run([sys.executable, "-m", "inference.cli", *args], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    assert result.returncode == 141


# -- exit codes of user-input errors (found by a review, 2026-11-30) ---------------------------------------------
@pytest.mark.parametrize("command", ["predict", "benchmark"])
@pytest.mark.parametrize("content", [None, "{}"])  # no such file; not a nomogram
def test_a_bad_nomogram_is_an_input_error_like_a_bad_model(command, content, tmp_path, capsys):
    """``benchmark --nomogram BAD`` exited 1 and ``--model BAD`` 2: a script could not tell a wrong argument from a
    failed run. Every named input that cannot be used exits 2 (``InputError.exit_code``)."""
    from inference.assets import SAMPLE_PATIENT
    from inference.errors import InputError

    nomogram = tmp_path / "nomo.json"
    if content is not None:
        nomogram.write_text(content)
    args = {"predict": ["predict", str(SAMPLE_PATIENT), "--out", str(tmp_path / "out"), "--backend", "litert"],
            "benchmark": ["benchmark", "--formats", "onnx", "--runs", "1"]}[command]
    assert main([*args, "--nomogram", str(nomogram)]) == InputError.exit_code == 2
    assert f"error: {nomogram}: not a " in capsys.readouterr().err  # the file named, whatever is wrong with it
    assert main([*args, "--model", str(tmp_path / "no-model")]) == 2
    assert not (tmp_path / "out").exists()


def test_a_command_without_sequence_options_does_not_advise_them(monkeypatch, capsys):
    """``otscc benchmark --patient`` on a folder with one image in two roles advised "choose the right one with
    --cet1 or --t2", options only predict and inspect have (benchmark refuses them)."""
    import export.commands.benchmark
    from inference.errors import InputError

    def refuse(args):
        raise InputError("CE-T1 and T2 are the same series (cet1.nii.gz): each sequence must be its own "
                         "acquisition; check the files.", cli_hint="Or choose the right one with --cet1 or --t2.")

    monkeypatch.setattr(export.commands.benchmark, "run", refuse)
    assert main(["benchmark", "--formats", "tflite-fp32"]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("check the files.") and "--cet1" not in err
    import inference.commands.inspect

    monkeypatch.setattr(inference.commands.inspect, "run", refuse)
    assert main(["inspect", "somewhere"]) == 2
    assert capsys.readouterr().err.strip().endswith("Or choose the right one with --cet1 or --t2.")  # it has them


def test_ctrl_c_while_the_command_loads_is_one_line(monkeypatch, capsys):
    """Ctrl+C while the command's module was imported (seconds for TensorFlow) printed a traceback."""
    import importlib

    from inference import cli

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    assert cli.main(["--debug", "train-seg", "--cohort", "c", "--out", "o"]) == 130
    assert capsys.readouterr().err == "otscc train-seg: interrupted\n"
