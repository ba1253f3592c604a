"""Cross-device latency benchmark: every available (format, runtime) pair side by side in one process.

For each pair of ``inference.formats.FORMATS`` x its runtimes: load (skipped rows say why), warm up, then
time (a) single 256x256 slices (p50/p95 over ``runs``) and (b) the patient pipeline stage by stage (load,
register, preprocess, segment, radiomics, nomogram), and compare the mask with the float model's (Dice,
voxel agreement). Device facts (CPU model, ISA flags, cores, GPU, library versions) go with the results,
so JSON files from several machines can be merged (``compare``).

Timings on a shared machine are noisy: compare ratios within one run and read medians.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from export.benchmark_results import (  # noqa: F401 (load_results: part of this module's API, for --compare)
    RESULT_VERSION,
    UNITS,
    load_results,
    source_labels,
)
from inference.cpu import cpu_info
from inference.formats import FORMATS, ModelFormat

log = logging.getLogger(__name__)

#: the widest vector extension first (device labels)
WIDEST_ISA = ("amx_int8", "avx512_vnni", "avx512f", "avx2", "avx", "sse4_2", "asimd", "neon")
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8",
             "neon", "asimd")
#: numpy's CPU-dispatch name of a flag where it differs from the upper-cased kernel name without underscores
#: (where there is no /proc/cpuinfo: Windows, macOS); AMX has none
_NUMPY_NAMES = {"sse4_2": "SSE42", "fma": "FMA3", "neon": "NEON", "asimd": "ASIMD"}
LIBRARIES = ("ai-edge-litert", "onnxruntime", "onnxruntime-gpu", "openvino", "tensorrt", "tensorflow", "numpy",
             "SimpleITK", "pyradiomics")
REFERENCE = ("keras", "keras")  # (format, runtime) every other row is compared with
FALLBACK_REFERENCE = ("tflite-fp32", "litert")  # when TensorFlow is not installed


@dataclass
class Row:
    format: str
    runtime: str
    precision: str
    status: str = "ok"  # ok | skipped | failed
    reason: str = ""
    device: str = ""
    size_mb: float | None = None
    load_s: float | None = None
    slice_ms_p50: float | None = None
    slice_ms_p95: float | None = None
    volume_s: float | None = None
    dice_vs_reference: float | None = None
    voxel_agreement: float | None = None
    rss_mb: float | None = None  # resident memory added by loading it and its first inference
    pipeline_s: dict[str, float] = field(default_factory=dict)


def device_facts() -> dict:
    """CPU model and ISA flags, cores, memory, GPU, library versions (no identifiers)."""
    cpu = cpu_info()
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            continue
    isa = [f for f in ISA_FLAGS if cpu.has(f, _NUMPY_NAMES.get(f, f.upper().replace("_", "")))]
    facts = {"cpu": cpu.model, "isa": isa, "logical_cores": os.cpu_count(),
             "platform": platform.platform(), "python": platform.python_version(), "gpu": _gpu_name(),
             "libraries": versions, "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "")}
    try:
        import psutil

        facts["physical_cores"] = psutil.cpu_count(logical=False)
        facts["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return facts


def _gpu_name() -> str:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return ""
    try:
        out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.strip().splitlines()[0] if out.strip() else ""


def candidates(formats: list[str] | None = None) -> list[tuple[ModelFormat, str]]:
    """(format row, runtime) pairs to measure, in table order."""
    rows = [f for f in FORMATS if formats is None or f.name in formats]
    return [(row, runtime) for row in rows for runtime in row.runtimes]


def _rss_mb() -> float | None:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return None


def _size_mb(model_dir: Path, row: ModelFormat) -> float | None:
    # the keras row runs from the float weights (its SavedModel is not shipped)
    names = ("best.weights.h5",) if row.name == "keras" else row.files
    total = 0
    for name in names:
        path = model_dir / name
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            total += path.stat().st_size
    return round(total / 1e6, 2) if total else None  # decimal MB, as otscc export (MiB in version-1 results)


def load_variant(row: ModelFormat, runtime: str, model_dir: Path, threads: int | None):
    """Load one (format, runtime) pair through the runtime's backend class."""
    from inference.backends.base import load_backend

    options = {"threads": threads} if threads else {}
    target = model_dir if row.name == "keras" else model_dir / row.file
    return load_backend(runtime, target, **options)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2 * np.logical_and(a, b).sum() / total)


def time_slices(backends: dict, slices: np.ndarray, runs: int, warmup: int = 5, block: int = 10,
                failed: dict | None = None) -> dict[str, dict]:
    """Median and p95 milliseconds per slice for several backends, measured side by side in rotating blocks.

    Each round gives every backend ``warmup`` untimed calls and then ``block`` timed ones. Blocks rather
    than single calls: ONNX Runtime, OpenVINO and TensorFlow keep their worker threads spinning for a
    while after a call, which on 2 cores slows whichever runtime runs next (measured: OpenVINO fp32 at
    43 ms interleaved call by call vs 7-15 ms alone). Rounds rather than one backend after the other: a
    spell of load from elsewhere (on the 2-core development VM, 10-30 s episodes that halve one runtime's
    speed) spreads over all backends instead of landing on one row. With ``failed``, a backend that raises
    is dropped from the rotation and its error recorded there instead of ending the measurement.
    """
    times = {label: [] for label in backends}
    active = dict(backends)
    block = max(1, min(block, runs))
    rounds = max(1, -(-runs // block))  # the last round times what is left: 25 runs = 10 + 10 + 5
    for round_ in range(rounds):
        timed = min(block, runs - round_ * block) if runs > 0 else 1  # exactly ``runs`` timed calls in all
        for label, backend in list(active.items()):
            try:
                for k in range(warmup + timed):
                    one = slices[(round_ * block + k) % len(slices)][None]
                    start = time.perf_counter()
                    backend.predict(one)
                    if k >= warmup:
                        times[label].append((time.perf_counter() - start) * 1000)
            except Exception as exc:
                if failed is None:
                    raise
                failed[label] = f"{type(exc).__name__}: {exc}"
                del active[label]
    return {label: {"median_ms": round(float(np.median(t)), 2), "p95_ms": round(float(np.percentile(t, 95)), 2),
                    "runs": len(t)} for label, t in times.items() if label in active}


def busiest_slices(stack: np.ndarray, count: int = 8) -> np.ndarray:
    """The ``count`` slices with the most structure (intensity spread): tumor-bearing slices, not air."""
    order = np.argsort(-stack.reshape(stack.shape[0], -1).std(axis=1))
    return np.ascontiguousarray(stack[order[: max(1, min(len(order), count))]])


def run_benchmark(*, model_dir: Path, patient: Path, nomogram: Path, formats: list[str] | None = None,
                  runs: int = 30, warmup: int = 5, pipeline_runs: int = 3, threads: int | None = None,
                  progress: Callable[[str], None] | None = None) -> dict:
    """Measure every available pair; returns the JSON-ready result (device, rows, reference)."""
    from inference.intake import prepare_patient
    from inference.nomogram import Nomogram
    from inference.pipeline import load_clinical
    from inference.preprocess import ModelGrid, to_model_stack
    from inference.radiomics import extract_patient, load_params
    from inference.segment import segment

    say = progress or (lambda message: None)
    model_dir, patient = Path(model_dir), Path(patient)
    nomo, params = Nomogram.load(nomogram), load_params()
    clinical = {**load_clinical(patient)}
    clinical.setdefault("doi_mm", "auto")
    say(f"preparing {patient.name}")
    prepared = prepare_patient(patient)
    pairs = candidates(formats)
    wanted = {(r.name, rt) for r, rt in pairs}
    ref_pair = REFERENCE if _available("tensorflow") else FALLBACK_REFERENCE
    if ref_pair not in wanted:  # the float reference always runs: every Dice is measured against it
        pairs = [*candidates([ref_pair[0]]), *pairs]
        pairs = [p for p in pairs if (p[0].name, p[1]) in wanted or (p[0].name, p[1]) == ref_pair]
    order = sorted(pairs, key=lambda p: (p[0].name, p[1]) != ref_pair)  # reference first
    # 1. load every pair (a pair that cannot load is a skipped row, never the end)
    rows, loaded, stacks = [], {}, {}
    for row_fmt, runtime in order:
        row = Row(row_fmt.name, runtime, row_fmt.precision, size_mb=_size_mb(model_dir, row_fmt))
        say(f"loading {row_fmt.name} on {runtime}")
        rows.append(row)
        rss0 = _rss_mb()
        try:
            start = time.perf_counter()
            backend = load_variant(row_fmt, runtime, model_dir, threads)
            row.load_s = time.perf_counter() - start
        except Exception as exc:  # noqa: BLE001
            row.status, row.reason = "skipped", f"{type(exc).__name__}: {exc}"
            continue
        try:
            row.device = str(backend.describe().get("device", "CPU"))
            if backend.input_size not in stacks:
                stack, _, _ = to_model_stack(prepared.volumes, ModelGrid(backend.input_size, 160.0))
                stacks[backend.input_size] = busiest_slices(stack)
            backend.predict(stacks[backend.input_size][:1])  # the first call allocates: part of its memory
            rss1 = _rss_mb()
            row.rss_mb = None if rss0 is None or rss1 is None else round(rss1 - rss0, 1)
            loaded[id(row)] = (row, backend)
        except Exception as exc:  # noqa: BLE001 - one failing backend never stops the benchmark
            row.status, row.reason = "failed", f"{type(exc).__name__}: {exc}"
            backend.close()
    # 2. single slices, every loaded backend side by side in rotating blocks
    for size, slices in stacks.items():
        group = {key: backend for key, (row, backend) in loaded.items() if backend.input_size == size}
        say(f"timing single {size}x{size} slices: {len(group)} backends side by side")
        failed: dict = {}
        table = time_slices(group, slices, runs, warmup, failed=failed)
        for key, stats in table.items():
            loaded[key][0].slice_ms_p50, loaded[key][0].slice_ms_p95 = stats["median_ms"], stats["p95_ms"]
        for key, reason in failed.items():
            row, backend = loaded.pop(key)
            row.status, row.reason = "failed", reason
            backend.close()
    # 3. the whole pipeline, one backend after the other (the reference first: every Dice is against it)
    reference_mask = None
    for row, backend in loaded.values():
        say(f"{row.format} on {row.runtime}: whole pipeline x{max(1, pipeline_runs)}")
        try:
            stages: dict[str, list[float]] = {}
            for _ in range(max(1, pipeline_runs)):
                seg, times = _pipeline_once(patient, backend, nomo, params, clinical, prepare_patient, segment,
                                            extract_patient)
                for k, v in times.items():
                    stages.setdefault(k, []).append(v)
            row.pipeline_s = {k: round(float(np.median(v)), 4) for k, v in stages.items()}
            row.volume_s = row.pipeline_s.get("segment")
            mask = seg.mask.array
            if (row.format, row.runtime) == ref_pair:
                reference_mask = mask
            if reference_mask is not None:
                row.dice_vs_reference = round(_dice(mask, reference_mask), 4)
                row.voxel_agreement = round(float(np.mean((mask > 0) == (reference_mask > 0))), 6)
        except Exception as exc:  # noqa: BLE001 - one failing backend never stops the benchmark
            row.status, row.reason = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            backend.close()
    rows = [r for r in rows if (r.format, r.runtime) in wanted or (r.format, r.runtime) == ref_pair]
    try:
        import resource

        # ru_maxrss is KiB on Linux, bytes on macOS
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2 ** 20 if platform.system() == "Darwin" else 1024)
    except ImportError:
        peak = None
    import datetime

    from inference import __version__
    from inference.backends.manifest import find_manifest, sha256_file

    manifest = find_manifest(model_dir)  # which model build was timed: results of two builds must not be mixed
    return {"kind": "otscc-benchmark", "version": RESULT_VERSION, "units": UNITS,
            "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),  # with its UTC offset
            "otscc_edge": __version__, "model_manifest_sha256": sha256_file(manifest.path) if manifest else None,
            "device": device_facts(), "model_dir": model_dir.name, "patient": patient.name,
            "reference": {"format": ref_pair[0], "runtime": ref_pair[1]}, "runs": runs, "warmup": warmup,
            "pipeline_runs": pipeline_runs, "threads": threads, "peak_rss_mb": peak,
            "rows": [asdict(r) for r in rows]}


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _pipeline_once(patient, backend, nomo, params, clinical, prepare_patient, segment, extract_patient):
    from inference.measure import measure_mask

    times = {}
    prepared = prepare_patient(patient)
    times.update(prepared.timings)
    seg = segment(prepared.volumes, backend)
    times["preprocess"] = seg.seconds["preprocess"]
    times["segment"] = seg.seconds["inference"] + seg.seconds["postprocess"]
    if seg.mask.array.any():
        start = time.perf_counter()
        features = extract_patient(prepared.volumes, seg.mask, params)
        times["radiomics"] = time.perf_counter() - start
        values = dict(clinical)
        if str(values.get("doi_mm")).lower() == "auto":
            values["doi_mm"] = measure_mask(seg.mask).doi_estimate_mm
        start = time.perf_counter()
        nomo.score(features.features, values)
        times["nomogram"] = time.perf_counter() - start
    return seg, times


# -- presentation ---------------------------------------------------------------------------------------
def format_table(result: dict) -> str:
    d = result["device"]
    lines = [f"Device: {d['cpu']} ({d.get('physical_cores', '?')} cores / {d['logical_cores']} threads; "
             f"ISA {' '.join(d['isa']) or '?'}){'; GPU ' + d['gpu'] if d.get('gpu') else '; no GPU'}",
             f"Reference: {result['reference']['format']} on {result['reference']['runtime']}; slice = one "
             f"256x256 input, median (p95) of {result['runs']} runs; pipeline stages = median of "
             f"{result['pipeline_runs']} runs on {result['patient']}",
             f"{'format':<16}{'runtime':<13}{'slice ms p50 (p95)':>20}{'segment s':>11}{'pipeline s':>12}"
             f"{'Dice vs ref':>12}{'size MB':>9}  status"]
    for r in result["rows"]:
        if r["status"] != "ok":
            lines.append(f"{r['format']:<16}{r['runtime']:<13}{'':>64}  {r['status']}: {r['reason'][:90]}")
            continue
        total = sum(r["pipeline_s"].values())
        dice = "-" if r["dice_vs_reference"] is None else f"{r['dice_vs_reference']:.4f}"
        lines.append(f"{r['format']:<16}{r['runtime']:<13}{r['slice_ms_p50']:>10.1f} ({r['slice_ms_p95']:>6.1f})"
                     f"{r['volume_s']:>12.3f}{total:>12.2f}{dice:>12}{(r['size_mb'] or 0):>9.2f}  ok")
    return "\n".join(lines)


def device_labels(results: list[dict]) -> list[str]:
    """Column / legend names, one per result, always distinct; results whose device label is the same (two runs on
    one machine, two laptops of one model) are told apart by their thread count and then the shortest tail of
    their file paths that differs (``laptopA/result.json``), or, without files, their position."""
    base = [_label(r) for r in results]
    labels = list(base)
    twins = [i for i, lab in enumerate(base) if base.count(lab) > 1]
    tails = dict(zip(twins, source_labels([str(results[i].get("_source") or f"#{i + 1}") for i in twins]),
                     strict=True))
    for i in twins:
        threads = results[i].get("threads")
        count = f", {threads} thread{'s' if threads != 1 else ''}" if threads else ""
        labels[i] = f"{base[i]}{count} [{tails[i]}]"
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


#: one colour per device (matplotlib's "tab10" order)
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    """Axis ticks: decades and their 2x/5x on a log axis, else 1/2/5 x 10^k steps from 0 (about 6 ticks)."""
    if log:
        return [m * 10.0 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                for m in (1, 2, 5) if lo <= m * 10.0 ** e <= hi]
    raw = hi / 6
    step = min((m * 10.0 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    return [i * step for i in range(int(hi / step + 1e-9) + 1)]  # 0.6 / 0.2 is 2.9999...


def write_chart(results: list[dict], path: Path) -> Path:
    """Slice latency (p50) per variant, one colour per device: bars, or dots on a log axis when the values
    spread over more than 20x (a bar's length on a log axis would mean nothing). A PNG drawn by
    ``export.raster`` (numpy + zlib), so the runtime bundle needs no plotting or imaging library."""
    from export.raster import Canvas
    from inference.atomic import atomic_path

    keys = []
    for res in results:
        for r in res["rows"]:
            if r["status"] == "ok" and (r["format"], r["runtime"]) not in keys:
                keys.append((r["format"], r["runtime"]))
    series = []
    for res in results:
        lookup = {(r["format"], r["runtime"]): r for r in res["rows"] if r["status"] == "ok"}
        series.append((res, [lookup[k]["slice_ms_p50"] if k in lookup else 0 for k in keys]))
    shown = [v for _, vals in series for v in vals if v > 0]
    log = log_scale(shown)
    font, small, title_font = 15, 13, 19
    labels = [f"{f} / {r}" for f, r in keys]
    row_h = max(30, 20 * len(results) + 10)
    left = 20 + max((Canvas(1, 1).text_width(t, font) for t in labels), default=0) + 12
    width, right = 1100, 1100 - 90
    top = 50
    legend_h = 22 * len(results) + 10
    height = top + row_h * max(1, len(keys)) + 60 + legend_h
    draw = Canvas(width, int(height))
    draw.text(width / 2, 14, "otscc-edge segmentation latency", title_font, anchor="ma")
    bottom = top + row_h * max(1, len(keys))
    if shown:
        lo, hi = (min(shown) / 1.5, max(shown) * 3) if log else (0.0, max(shown) * 1.15)
        to_x = ((lambda v: left + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
                 * (right - left)) if log else (lambda v: left + v / hi * (right - left)))
        for tick in _ticks(lo, hi, log):
            x = to_x(tick)
            draw.line(x, top, x, bottom, "#e4e4e4")
            draw.line(x, bottom, x, bottom + 5, "#000000")
            draw.text(x, bottom + 8, f"{tick:g}", small, anchor="ma")
        bar_h = (row_h - 10) / max(1, len(results))
        for i, (_res, vals) in enumerate(series):
            color = COLORS[i % len(COLORS)]
            for k, v in enumerate(vals):
                if v <= 0:
                    continue
                y = top + k * row_h + 5 + bar_h * (i + 0.5)
                x = to_x(v)
                if log:
                    draw.dot(x, y, 5, color)
                else:
                    draw.rectangle(left, y - bar_h * 0.42, x, y + bar_h * 0.42, color)
                draw.text(x + 8, y, f"{v:.1f}", small, anchor="lm")
    draw.line(left, top, left, bottom, "#000000")
    draw.line(left, bottom, right, bottom, "#000000")
    for k, text in enumerate(labels):
        draw.text(left - 8, top + (k + 0.5) * row_h, text, font, anchor="rm")
    draw.text((left + right) / 2, bottom + 30, "ms per 256x256 slice (median; lower is better)"
              + ("; log scale" if log else ""), font, anchor="ma")
    names = device_labels(results)
    for i, (_res, _vals) in enumerate(series):
        y = bottom + 62 + 22 * i
        draw.rectangle(left, y - 6, left + 22, y + 6, COLORS[i % len(COLORS)])
        draw.text(left + 30, y, names[i], small, anchor="lm")
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(draw.png())
    return path


def compare_table(results: list[dict]) -> str:
    """Slice p50 ms per variant (rows) and device (columns)."""
    keys = []
    for res in results:
        keys.extend((r["format"], r["runtime"]) for r in res["rows"] if (r["format"], r["runtime"]) not in keys)
    labels = device_labels(results)
    width = max(14, *(len(lab) + 2 for lab in labels))  # labels whole: devices may differ only at the end
    lines = [f"{'format / runtime':<30}" + "".join(f"{lab:>{width}}" for lab in labels)]
    for key in keys:
        cells = []
        for res in results:
            row = next((r for r in res["rows"] if (r["format"], r["runtime"]) == key), None)
            if row is None:
                cells.append("-")
            elif row["status"] != "ok":
                cells.append(row["status"])
            else:
                cells.append(f"{row['slice_ms_p50']:.1f} ms")
        lines.append(f"{key[0] + ' / ' + key[1]:<30}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)
