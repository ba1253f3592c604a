"""Ctrl+C in a batch says where it stopped and what was kept: it printed only "otscc predict: interrupted", so the
user could not tell whether the patient on screen had been written or which results the summary holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.errors import InputError


@pytest.fixture
def batch(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "batch"
    for name in ("A", "B", "C"):
        (root / name).mkdir(parents=True)
        (root / name / "clinical.json").write_text("{}")  # a patient folder to find_patients
    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))
    monkeypatch.setattr("inference.pipeline.Pipeline", lambda **kwargs: object())  # no model needed
    return root


def _run(batch: Path, out: Path, capsys) -> tuple[int, list[str]]:
    from inference.cli import main

    code = main(["predict", str(batch), "--out", str(out)])
    return code, capsys.readouterr().err.splitlines()


def test_stopped_during_a_patient_names_it_and_counts_those_before(batch, tmp_path, monkeypatch, capsys):
    from inference.commands import predict

    def fake(pipeline, folder, *args, **kwargs):
        if folder.name == "A":
            raise InputError("A is unusable")
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "_predict_one", fake)
    out = tmp_path / "out"
    code, lines = _run(batch, out, capsys)
    assert code == 130
    assert lines[-2] == (f"stopped during patient 2 of 3 (B: not finished); 0 done, 1 failed; summary: "
                         f"{out / 'summary.csv'}; audit log: {out / 'audit.jsonl'}")
    assert lines[-1] == "otscc predict: interrupted"
    assert (out / "summary.csv").read_text(encoding="utf-8-sig").count("\n") == 2  # header and A's row


def test_stopped_at_the_first_patient_says_none_finished(batch, tmp_path, monkeypatch, capsys):
    from inference.commands import predict

    monkeypatch.setattr(predict, "_predict_one", lambda *a, **kw: (_ for _ in ()).throw(KeyboardInterrupt))
    out = tmp_path / "out"
    code, lines = _run(batch, out, capsys)
    assert code == 130
    assert lines[-2] == f"stopped during patient 1 of 3 (A: not finished); no patient finished; audit log: " \
                        f"{out / 'audit.jsonl'}"


def test_stopped_after_a_patient_was_done_does_not_call_it_unfinished(batch, tmp_path, monkeypatch, capsys):
    from inference.commands import predict

    def fake(pipeline, folder, *args, **kwargs):
        raise InputError(f"{folder.name} is unusable")

    def interrupted_summary(path, rows):
        raise KeyboardInterrupt  # while the summary is written after patient 1

    monkeypatch.setattr(predict, "_predict_one", fake)
    monkeypatch.setattr(predict, "_write_summary", interrupted_summary)
    out = tmp_path / "out"
    code, lines = _run(batch, out, capsys)
    assert code == 130
    assert lines[-2].startswith("stopped after patient 1 of 3; 0 done, 1 failed; summary: ")
