"""The comparison chart of ``otscc benchmark --compare``: a colour per device however many, and rows a device did not
measure shown as such (found by a review of an engineer benchmarking laptops, 2026-11-30)."""

from __future__ import annotations

import pytest

from export.benchmark import write_chart


def _result(cpu: str, ms: dict[str, float], other: dict[str, str] | None = None) -> dict:
    rows = [{"format": f, "runtime": "litert", "status": "ok", "slice_ms_p50": v} for f, v in ms.items()]
    rows += [{"format": f, "runtime": "litert", "status": s, "reason": "why"} for f, s in (other or {}).items()]
    return {"kind": "otscc-benchmark", "version": 2, "device": {"cpu": cpu, "gpu": ""}, "rows": rows}


@pytest.fixture
def drawn(monkeypatch):
    """What write_chart draws: every text, and the colour of every rectangle with its width."""
    from export.raster import Canvas

    calls = {"text": [], "rectangle": []}
    text, rectangle = Canvas.text, Canvas.rectangle

    def spy_text(self, x, y, value, size, *args, **kw):
        calls["text"].append(value)
        return text(self, x, y, value, size, *args, **kw)

    def spy_rectangle(self, x0, y0, x1, y1, color):
        calls["rectangle"].append((round(x1 - x0), color))
        return rectangle(self, x0, y0, x1, y1, color)

    monkeypatch.setattr(Canvas, "text", spy_text)
    monkeypatch.setattr(Canvas, "rectangle", spy_rectangle)
    return calls


@pytest.mark.parametrize("devices", [9, 12, 24])
def test_every_device_has_its_own_colour(tmp_path, drawn, devices):
    """The palette had 8 colours and repeated: the 9th laptop's bars looked like the 1st's."""
    results = [_result(f"Laptop {i}", {"tflite-int8": 3.0 + i}) for i in range(devices)]
    write_chart(results, tmp_path / "c.png")
    swatches = [color for width, color in drawn["rectangle"] if width == 22]  # the legend: one per device
    assert len(swatches) == devices and len(set(swatches)) == devices
    bars = {color for width, color in drawn["rectangle"] if width != 22} - {"#000000", "#e4e4e4"}  # not the lines
    assert bars == set(swatches)


def test_rows_a_device_did_not_measure_say_so_at_their_place(tmp_path, drawn):
    """A skipped row vanished from the chart (and a row only one device had showed nothing for the others): a
    reader could not tell "not measured" from "missing"."""
    results = [_result("AMD EPYC", {"tflite-int8": 3.4}, {"tensorrt-fp16": "skipped", "onnx": "failed"}),
               _result("Laptop i5", {"tflite-int8": 6.8, "openvino-int8": 5.0}, {"tensorrt-fp16": "skipped"})]
    write_chart(results, tmp_path / "c.png")
    texts = drawn["text"]
    for label in ("tflite-int8 / litert", "tensorrt-fp16 / litert", "onnx / litert", "openvino-int8 / litert"):
        assert label in texts
    assert texts.count("skipped") == 2 and texts.count("failed") == 1
    assert texts.count("not run") == 2  # onnx on the laptop, openvino-int8 on the EPYC
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_chart_of_only_skipped_rows_is_still_drawn(tmp_path, drawn):
    write_chart([_result("AMD EPYC", {}, {"tensorrt-fp16": "skipped"})], tmp_path / "c.png")
    assert "tensorrt-fp16 / litert" in drawn["text"] and "skipped" in drawn["text"]


def test_device_colors_are_distinct_and_start_with_the_palette():
    from export.benchmark import COLORS, device_colors

    assert device_colors(3) == list(COLORS[:3])
    for count in (8, 9, 20, 21, 60):
        colors = device_colors(count)
        assert len(colors) == count == len(set(colors))
        assert not {"#ffffff", "#000000", "#e4e4e4"} & set(colors)  # the background, axes and grid lines


@pytest.mark.parametrize("ms", [{"tflite-int8": 0.0, "tflite-fp32": 3.0, "onnx": 461.0}, {"tflite-int8": 0.0}])
def test_a_zero_latency_is_written_at_its_place_not_put_on_the_axis(tmp_path, drawn, ms):
    """A 0.0 ms median (a very fast variant, rounded) crashed a log-scale chart: math domain error."""
    write_chart([_result("AMD EPYC", ms)], tmp_path / "c.png")
    assert "0.0 ms" in drawn["text"] and (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ("461.0" in drawn["text"]) == ("onnx" in ms)
