"""The side-by-side latency helper (docs/export.md numbers): round-robin timing and the ratio bookkeeping."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from export.benchmark import time_slices
from inference.backends.base import BackendUnavailableError, SegBackend


class _Sleepy(SegBackend):
    def __init__(self, seconds: float):
        self.seconds, self.calls = seconds, 0

    def predict(self, batch):
        self.calls += 1
        time.sleep(self.seconds)
        return np.zeros(batch.shape[:3], np.float32)


def test_rotating_blocks_time_every_backend_equally_and_order_them():
    fast, slow = _Sleepy(0.001), _Sleepy(0.01)
    table = time_slices({"fast": fast, "slow": slow}, np.zeros((3, 8, 8, 3), np.float32), runs=6, warmup=1,
                        block=3)
    assert fast.calls == slow.calls == 8  # 2 rounds x (1 warm-up + 3 timed)
    assert table["fast"]["runs"] == table["slow"]["runs"] == 6
    assert table["fast"]["median_ms"] < table["slow"]["median_ms"]
    assert table["fast"]["p95_ms"] is table["slow"]["p95_ms"] is None  # 6 runs: too few for a 95th percentile
    assert table["slow"]["median_ms"] >= 10


def test_a_backend_that_fails_mid_measurement_is_dropped_with_its_reason():
    class Broken(_Sleepy):
        def predict(self, batch):
            super().predict(batch)
            if self.calls > 2:
                raise RuntimeError("device lost")
            return np.zeros(batch.shape[:3], np.float32)

    good, broken, failed = _Sleepy(0.0), Broken(0.0), {}
    table = time_slices({"good": good, "broken": broken}, np.zeros((2, 4, 4, 3), np.float32), runs=4, warmup=1,
                        block=2, failed=failed)
    assert set(table) == {"good"} and table["good"]["runs"] == 4
    assert failed == {"broken": "RuntimeError: device lost"}
    with pytest.raises(RuntimeError):  # without ``failed`` the error is the caller's
        time_slices({"broken": Broken(0.0)}, np.zeros((2, 4, 4, 3), np.float32), runs=4, warmup=1, block=2)


def _fake_load(loaded: dict, seen: list):
    """Stands in for ``export.latency._load``: records the rows asked for, returns ``loaded`` (or every row skipped)."""
    def load(rows, model, threads):
        seen.extend(rows)
        return dict(loaded), {} if loaded else {label: f"no such model file or folder {model}" for label, *_ in rows}

    return load


@pytest.mark.parametrize("options", [["--only", "bogus"], ["--threads", "-3"], ["--threads", "0"], ["--runs", "0"],
                                     ["--runs", "-5"]])
def test_latency_refuses_bad_options_as_the_cli_does(options, monkeypatch, capsys):
    """``--only bogus``, ``--threads -3 --runs -5`` ran (and ended in StopIteration); ``--threads 0 --runs 0`` recorded
    0 threads and 0 runs for 1 call timed with the runtime's default threads."""
    from export import latency

    monkeypatch.setattr(latency, "measure", lambda *a, **kw: pytest.fail("measured anyway"))
    with pytest.raises(SystemExit) as exit_:
        latency.main(options)
    assert exit_.value.code == 2 and options[0] in capsys.readouterr().err


def test_latency_with_no_backend_loaded_says_why_in_one_line(tmp_path, monkeypatch, capsys):
    """A missing --model (or every row skipped) ended in ``StopIteration`` at ``next(iter(backends.values()))`` and
    the reasons collected were never shown."""
    from export import latency

    seen: list = []
    monkeypatch.setattr(latency, "_load", _fake_load({}, seen))
    assert latency.main(["--model", str(tmp_path), "--only", "litert", "--runs", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "nothing to time" in captured.err and f"no such model file or folder {tmp_path}" in captured.err
    assert captured.err.count("no such model") == 1  # one reason for every row: said once
    assert seen and all(row[1] == "litert" for row in seen)
    assert latency.main(["--model", str(tmp_path / "nonexist"), "--runs", "1"]) == 2  # before loading anything
    err = capsys.readouterr().err
    assert "--model" in err and "nonexist: no such folder" in err and len(err.strip().splitlines()) == 1


def test_latency_json_folder_is_checked_before_measuring_and_created(tmp_path, monkeypatch, capsys):
    """``--json nodir/x.json`` failed with FileNotFoundError after minutes of measuring, and the results were lost."""
    from export import latency

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setattr(latency, "measure", lambda *a, **kw: pytest.fail("measured before the --json check"))
    assert latency.main(["--json", str(blocker / "x.json"), "--runs", "1"]) == 3
    assert "a_file" in capsys.readouterr().err
    monkeypatch.setattr(latency, "measure", lambda *a, **kw: {"rows": {"litert fp32": {"median_ms": 1.0}}})
    target = tmp_path / "nodir" / "x.json"
    assert latency.main(["--json", str(target), "--runs", "1"]) == 0
    assert json.loads(target.read_text()) == json.loads(capsys.readouterr().out)


def test_latency_help_says_runs_counts_timed_calls(capsys):
    from export import latency

    with pytest.raises(SystemExit):
        latency.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "timed calls per backend" in text and "rounds per backend" not in text


@pytest.mark.parametrize("openvino_f32", [False, True])
def test_latency_openvino_rows_keep_unique_labels_and_are_closed(openvino_f32, monkeypatch):
    """``--only openvino`` relabelled "default hint" as "f32": two rows with one label, one backend replaced by the
    other in the results (and never closed), and no default-hint row on a bf16 CPU."""
    from export import latency

    seen: list = []
    monkeypatch.setattr(latency, "_load", _fake_load({}, seen))
    with pytest.raises(BackendUnavailableError, match="nothing to time"):
        latency.measure(Path("m"), 2, 1, "openvino", openvino_f32=openvino_f32)
    labels = [row[0] for row in seen]
    assert len(labels) == len(set(labels)) and all(row[1] == "openvino" for row in seen)
    hints = {row[3].get("precision_hint") for row in seen}
    assert hints == ({"f32"} if openvino_f32 else {"f32", None, "default"})
    assert ("openvino fp32 (default hint)" in labels) is not openvino_f32
    expected = {"openvino fp32 (f32)", "openvino int8 (f32)"} | (
        set() if openvino_f32 else {"openvino fp32 (default hint)", "openvino int8 (default hint)"})
    assert set(labels) == expected

    class Closing(_Sleepy):
        def close(self):
            self.closed = True

    backends = {row[0]: Closing(0.0) for row in seen}
    monkeypatch.setattr(latency, "_load", _fake_load(backends, []))
    monkeypatch.setattr(latency, "_sample_slices", lambda size, fov: (np.zeros((2, 4, 4, 3), np.float32), None))
    monkeypatch.setattr(latency, "_facts", lambda backend: {})
    monkeypatch.setattr(SegBackend, "input_size", 4, raising=False)
    monkeypatch.setattr(SegBackend, "fov_mm", 160.0, raising=False)
    out = latency.measure(Path("m"), 2, 2, "openvino", openvino_f32=openvino_f32)
    assert set(out["rows"]) == set(labels) and all(getattr(b, "closed", False) for b in backends.values())
