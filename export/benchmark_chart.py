"""How benchmark results are shown side by side: device labels, the merged table and the latency chart.

The chart is a PNG drawn by ``export.raster`` (numpy + zlib), so the runtime bundle needs no plotting or imaging
library. Every device gets its own colour however many are compared (``device_colors``), and a row a device did not
measure says so at its place ("skipped", "failed", "not run") instead of leaving a gap a reader could take for a
very fast bar.
"""

from __future__ import annotations

import colorsys
import math
from pathlib import Path

from export.benchmark_results import measurement_differences, ms_text, source_labels

#: the widest vector extension first (device labels)
WIDEST_ISA = ("amx_int8", "avx512_vnni", "avx512f", "avx2", "avx", "sse4_2", "asimd", "neon")


def device_labels(results: list[dict]) -> list[str]:
    """Column / legend names, one per result, always distinct. Where the results differ in what was measured
    (``measurement_differences``: the model, its input size, runs, patient, threads...), each label says its values
    after a ``|`` (``AMD EPYC (avx2) | model 62ef2783, 64x64``). Results whose label is still the same (two runs on one
    machine, two laptops of one model) are told apart by the shortest tail of their file paths that differs
    (``laptopA/result.json``), or, without files, their position. (Their thread count no longer tells them apart:
    where it differs, it is one of the values after the ``|``.)"""
    tags = measurement_differences(results)["tags"]
    base = [_label(r) + (f" | {tag}" if tag else "") for r, tag in zip(results, tags, strict=True)]
    labels = list(base)
    twins = [i for i, lab in enumerate(base) if base.count(lab) > 1]
    tails = dict(zip(twins, source_labels([str(results[i].get("_source") or f"#{i + 1}") for i in twins]),
                     strict=True))
    for i in twins:
        labels[i] = f"{base[i]} [{tails[i]}]"
    return labels


def _label(result: dict) -> str:
    """Column / legend name of a device: CPU model, its widest vector ISA (two machines may share a model name,
    e.g. virtual "AMD EPYC"s with and without AVX-512), a oneDNN ISA limit in brackets, the GPU."""
    d = result["device"]
    cpu = d["cpu"].replace("(R)", "").replace("(TM)", "").replace(" CPU", "")
    widest = next((f for f in WIDEST_ISA if f in d.get("isa", [])), None)
    limit = d.get("onednn_max_cpu_isa")
    return (f"{cpu[:40]}{' (' + widest + ')' if widest else ''}{' [oneDNN ' + limit + ']' if limit else ''}"
            f"{' + ' + d['gpu'] if d.get('gpu') else ''}")


def log_scale(values: list[float], spread: float = 20.0) -> bool:
    """Whether a chart needs a log axis: one slow outlier (e.g. TensorFlow's batch-1 call with oneDNN limited
    to AVX2, 461 ms here against 3-19 ms for the rest) would otherwise squash every other bar to a sliver."""
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) > spread


#: the first devices' colours: matplotlib's "tab10", then the lighter halves of "tab20" (a device's light twin
#: comes ten devices later, far apart in the legend)
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
          "#dbdb8d", "#9edae5")


def device_colors(count: int) -> list[str]:
    """One distinct colour per device: ``COLORS`` first, then hues a golden angle apart at three shades. The
    palette used to repeat after 8 devices, so the 9th device's bars read as the 1st's."""
    colors = list(COLORS[:count])
    i = 0
    while len(colors) < count:
        hue = (i * 0.381966) % 1.0  # the golden angle: every new hue falls in the widest gap left
        value, saturation = ((0.55, 0.9), (0.8, 0.75), (0.4, 0.6))[(i // 7) % 3]
        red, green, blue = colorsys.hsv_to_rgb(hue, saturation, value)
        color = f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"
        if color not in colors:
            colors.append(color)
        i += 1
    return colors


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    """Axis ticks: decades and their 2x/5x on a log axis, else 1/2/5 x 10^k steps from 0 (about 6 ticks)."""
    if log:
        return [m * 10.0 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                for m in (1, 2, 5) if lo <= m * 10.0 ** e <= hi]
    raw = hi / 6
    step = min((m * 10.0 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    return [i * step for i in range(int(hi / step + 1e-9) + 1)]  # 0.6 / 0.2 is 2.9999...


#: what a chart says at the place of a row a device did not measure: its status, or that the result has no such row
NOT_RUN = "not run"


def chart_cells(results: list[dict]) -> tuple[list[tuple[str, str]], list[list[float | str]]]:
    """The chart's rows, (format, runtime) in first-seen order, every row of every result (skipped and failed ones
    too: they used to vanish from the chart), and per device per row its median ms, or what happened instead
    (its status, or ``NOT_RUN``)."""
    keys: list[tuple[str, str]] = []
    for res in results:
        keys.extend(k for k in ((r["format"], r["runtime"]) for r in res["rows"]) if k not in keys)
    cells = []
    for res in results:
        lookup = {(r["format"], r["runtime"]): r for r in res["rows"]}
        cells.append([NOT_RUN if k not in lookup else lookup[k]["slice_ms_p50"] if lookup[k]["status"] == "ok"
                      else lookup[k]["status"] for k in keys])
    return keys, cells


def write_chart(results: list[dict], path: Path) -> Path:
    """Slice latency (p50) per variant, one colour per device (``device_colors``): bars, or dots on a log axis when
    the values spread over more than 20x (a bar's length on a log axis would mean nothing). A device that did not
    measure a row has its status written at its place ("skipped", "failed", "not run"), and so has a median of 0
    ms or less ("0.0 ms"), which no axis starting above 0 can place."""
    from export.raster import Canvas
    from inference.atomic import atomic_path

    keys, cells = chart_cells(results)
    colors = device_colors(len(results))
    warning = measurement_differences(results)["warning"]
    # the axis spans the positive values only: log10(0) is undefined (a 0.0 ms median, rounded from a very fast
    # variant, crashed the chart) and a 0 bar would be invisible; such a value is written at its place instead
    shown = [v for row in cells for v in row if not isinstance(v, str) and v > 0]
    log = log_scale(shown)
    font, small, title_font = 15, 13, 19
    labels = [f"{f} / {r}" for f, r in keys]
    row_h = max(30, 20 * len(results) + 10)
    left = 20 + max((Canvas(1, 1).text_width(t, font) for t in labels), default=0) + 12
    width, right, top = 1100, 1100 - 90, 72 if warning else 50
    bottom = top + row_h * max(1, len(keys))
    draw = Canvas(width, int(bottom + 60 + 22 * len(results) + 10))
    draw.text(width / 2, 14, "otscc-edge segmentation latency", title_font, anchor="ma")
    if warning:  # a mix of models must not pass for a comparison of devices
        draw.text(width / 2, 42, "different models timed: see the legend; not a comparison of devices alone", font,
                  "#d62728", anchor="ma")
    to_x = _axis(draw, shown, log, left, right, top, bottom, small) if shown else None
    bar_h = (row_h - 10) / max(1, len(results))
    for i, row in enumerate(cells):
        for k, value in enumerate(row):
            y = top + k * row_h + 5 + bar_h * (i + 0.5)
            if isinstance(value, str) or value <= 0:  # not measured, or off the axis: said at its place
                draw.rectangle(left + 4, y - 4, left + 12, y + 4, colors[i])  # marked with the device's colour
                draw.text(left + 18, y, value if isinstance(value, str) else f"{ms_text(value)} ms", small, "#444444",
                          anchor="lm")
                continue
            x = to_x(value)
            if log:
                draw.dot(x, y, 5, colors[i])
            else:
                draw.rectangle(left, y - bar_h * 0.42, x, y + bar_h * 0.42, colors[i])
            draw.text(x + 8, y, ms_text(value), small, anchor="lm")
    draw.line(left, top, left, bottom, "#000000")
    draw.line(left, bottom, right, bottom, "#000000")
    for k, text in enumerate(labels):
        draw.text(left - 8, top + (k + 0.5) * row_h, text, font, anchor="rm")
    draw.text((left + right) / 2, bottom + 30, f"median ms per {slice_name(results)}; lower is better"
              + ("; log scale" if log else ""), font, anchor="ma")
    for i, name in enumerate(device_labels(results)):
        y = bottom + 62 + 22 * i
        draw.rectangle(left, y - 6, left + 22, y + 6, colors[i])
        draw.text(left + 30, y, name, small, anchor="lm")
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(draw.png())
    return path


def slice_name(results: list[dict]) -> str:
    """What one timed call was, as the results record it: ``64x64 slice`` (it said 256x256 whatever the model)."""
    sizes = {r.get("input_size") for r in results}
    if len(sizes) > 1:
        return "slice (input sizes differ: see the legend)"
    size = sizes.pop() if sizes else None
    return "slice (input size not recorded)" if size is None else f"{size}x{size} slice"


def _axis(draw, shown: list[float], log: bool, left: float, right: float, top: float, bottom: float, size: int):
    """Draw the value axis' grid lines and ticks; returns value -> x."""
    lo, hi = (min(shown) / 1.5, max(shown) * 3) if log else (0.0, max(shown) * 1.15)
    if log:
        def to_x(v: float) -> float:
            return left + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (right - left)
    else:
        def to_x(v: float) -> float:
            return left + v / hi * (right - left)
    for tick in _ticks(lo, hi, log):
        x = to_x(tick)
        draw.line(x, top, x, bottom, "#e4e4e4")
        draw.line(x, bottom, x, bottom + 5, "#000000")
        draw.text(x, bottom + 8, f"{tick:g}", size, anchor="ma")
    return to_x


def compare_table(results: list[dict]) -> str:
    """Slice p50 ms per variant (rows) and device (columns); a row a result lacks is ``NOT_RUN``, as on the chart.
    A first ``WARNING:`` line when the results timed different models (``measurement_differences``)."""
    keys = []
    for res in results:
        keys.extend((r["format"], r["runtime"]) for r in res["rows"] if (r["format"], r["runtime"]) not in keys)
    labels = device_labels(results)
    width = max(14, *(len(lab) + 2 for lab in labels))  # labels whole: devices may differ only at the end
    warning = measurement_differences(results)["warning"]
    lines = [warning] if warning else []
    lines.append(f"{'format / runtime':<30}" + "".join(f"{lab:>{width}}" for lab in labels))
    for key in keys:
        cells = []
        for res in results:
            row = next((r for r in res["rows"] if (r["format"], r["runtime"]) == key), None)
            if row is None:  # said as the chart says it
                cells.append(NOT_RUN)
            elif row["status"] != "ok":
                cells.append(row["status"])
            else:
                cells.append(f"{ms_text(row['slice_ms_p50'])} ms")
        lines.append(f"{key[0] + ' / ' + key[1]:<30}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)
