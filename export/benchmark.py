"""Cross-device latency benchmark: every available (format, runtime) pair side by side in one process.

For each pair of ``inference.formats.FORMATS`` x its runtimes: load (skipped rows say why), warm up, then
time (a) single slices of the model's input size (p50/p95 over ``runs``) and (b) the patient pipeline stage by
stage (load, register, preprocess, segment, radiomics, nomogram), and compare the mask with the float model's
(Dice, voxel agreement). Device facts (CPU model, ISA flags, cores, GPU, library versions) go with the results,
so JSON files from several machines can be merged (``compare``).

Timings on a shared machine are noisy: compare ratios within one run and read medians.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from export.benchmark_chart import (  # noqa: F401 (the comparison's presentation: part of this module's API)
    COLORS,
    WIDEST_ISA,
    _label,
    _ticks,
    compare_table,
    device_colors,
    device_labels,
    log_scale,
    write_chart,
)
from export.benchmark_results import (  # noqa: F401 (load_results: part of this module's API, for --compare)
    MIN_P95_RUNS,
    RESULT_VERSION,
    UNITS,
    load_results,
    ms_text,
    ms_value,
)
from inference.cpu import cpu_info, schedulable_cpus
from inference.formats import FORMATS, ModelFormat
from inference.wording import plural

log = logging.getLogger(__name__)

ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8",
             "neon", "asimd")
#: numpy's CPU-dispatch name of a flag where it differs from the upper-cased kernel name without underscores
#: (where there is no /proc/cpuinfo: Windows, macOS); AMX has none
_NUMPY_NAMES = {"sse4_2": "SSE42", "fma": "FMA3", "neon": "NEON", "asimd": "ASIMD"}
LIBRARIES = ("ai-edge-litert", "onnxruntime", "onnxruntime-gpu", "openvino", "tensorrt", "tensorflow", "numpy",
             "SimpleITK", "pyradiomics")
#: the stages of the patient pipeline timed per row; radiomics and nomogram run only on a mask that is not empty
PIPELINE_STAGES = ("load", "register", "preprocess", "segment", "radiomics", "nomogram")
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
    threads: int | None = None  # CPU threads the runtime used (None: it runs on a GPU, or did not load)
    input_size: int | None = None  # pixels across the model's input (a timed slice is size x size)
    fov_mm: float | None = None  # mm across the model's input
    mask_voxels: int | None = None  # voxels of its mask of the patient: 0 when the model found no tumour
    pipeline_missing: list[str] = field(default_factory=list)  # PIPELINE_STAGES not run (on an empty mask)


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
    """Load one (format, runtime) pair through the runtime's backend class.

    Raises:
        VariantNotExportedError: its file is not in ``model_dir``, said as ``otscc predict --backend FORMAT`` says it
            (with the export command); it read "no such model file or folder".
        BackendUnavailableError: it cannot run here (the message says why).
    """
    from inference.backends.base import VariantNotExportedError, load_backend, not_exported

    options = {"threads": threads} if threads else {}
    if row.name == "keras":  # from the float weights in the folder
        return load_backend(runtime, model_dir, **options)
    try:  # the folder and the variant, not the file's path: the backend then says the file is missing (not exported)
        return load_backend(runtime, model_dir, variant=row.name, **options)
    except VariantNotExportedError as exc:
        raise not_exported(row.name, model_dir, [exc]) from exc


def _dice(a: np.ndarray, b: np.ndarray) -> float | None:
    """Dice of two masks; None when both are empty: nothing to compare (1.0 read as "identical masks")."""
    a, b = a > 0, b > 0
    total = a.sum() + b.sum()
    return None if total == 0 else float(2 * np.logical_and(a, b).sum() / total)


def threads_used(backend) -> int | None:
    """The CPU threads a loaded backend computes with: what it says (``describe()["threads"]``), else for Keras
    TensorFlow's intra-op pool (its setting, or its default: the CPUs this process may run on); None on a GPU. The
    result recorded ``"threads": null`` without --threads although every runtime used a definite count."""
    threads = backend.describe().get("threads")
    if threads is None and backend.name == "keras" and str(backend.device).lower().startswith("cpu"):
        import sys

        tf = sys.modules.get("tensorflow")  # imported by the Keras backend that loaded
        threads = tf.config.threading.get_intra_op_parallelism_threads() if tf is not None else 0
        if not threads:  # 0: TensorFlow's default, TF_NUM_INTRAOP_THREADS or the schedulable CPUs
            env = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
            threads = int(env) if env.isdigit() and int(env) > 0 else schedulable_cpus()
    return int(threads) if threads else None


def time_slices(backends: dict, slices: np.ndarray, runs: int, warmup: int = 5, block: int = 10,
                failed: dict | None = None) -> dict[str, dict]:
    """Median and p95 milliseconds per slice for several backends, measured side by side in rotating blocks (p95
    None for fewer than ``MIN_P95_RUNS`` runs).

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
    return {label: {"median_ms": ms_value(float(np.median(t))), "p95_ms": _p95(t), "runs": len(t)}
            for label, t in times.items() if label in active}


def _p95(times: list[float]) -> float | None:
    """The 95th percentile of the timed runs, or None for fewer than ``MIN_P95_RUNS`` (it would be their maximum)."""
    return ms_value(float(np.percentile(times, 95))) if len(times) >= MIN_P95_RUNS else None


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
            row.threads, row.input_size, row.fov_mm = threads_used(backend), backend.input_size, backend.fov_mm
            key = (backend.input_size, backend.fov_mm)
            if key not in stacks:
                stack, _, _ = to_model_stack(prepared.volumes, ModelGrid(*key))
                stacks[key] = busiest_slices(stack)
            backend.predict(stacks[key][:1])  # the first call allocates: part of its memory
            rss1 = _rss_mb()
            row.rss_mb = None if rss0 is None or rss1 is None else round(rss1 - rss0, 1)
            loaded[id(row)] = (row, backend)
        except Exception as exc:  # noqa: BLE001 - one failing backend never stops the benchmark
            row.status, row.reason = "failed", f"{type(exc).__name__}: {exc}"
            backend.close()
    # 2. single slices, every loaded backend side by side in rotating blocks
    for (size, fov), slices in stacks.items():
        group = {key: backend for key, (row, backend) in loaded.items()
                 if (backend.input_size, backend.fov_mm) == (size, fov)}
        say(f"timing single {size}x{size} slices: {plural(len(group), 'backend')} side by side")
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
            row.pipeline_missing = [s for s in PIPELINE_STAGES if s not in row.pipeline_s]
            row.volume_s = row.pipeline_s.get("segment")
            mask = seg.mask.array
            row.mask_voxels = int(np.count_nonzero(mask))
            if (row.format, row.runtime) == ref_pair:
                reference_mask = mask
            if reference_mask is not None:
                dice = _dice(mask, reference_mask)
                row.dice_vs_reference = None if dice is None else round(dice, 4)
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

    manifest = find_manifest(model_dir)  # which model build was timed: --compare warns of a mix of builds
    # the model's input as its variants ran it (one exported model: one size); None when they differ or none loaded
    sizes = {(r.input_size, r.fov_mm) for r in rows if r.input_size is not None}
    size, fov = sizes.pop() if len(sizes) == 1 else (None, None)
    return {"kind": "otscc-benchmark", "version": RESULT_VERSION, "units": UNITS,
            "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),  # with its UTC offset
            "otscc_edge": __version__, "model_manifest_sha256": sha256_file(manifest.path) if manifest else None,
            "device": device_facts(), "model_dir": model_dir.name, "patient": patient.name,
            "reference": {"format": ref_pair[0], "runtime": ref_pair[1]}, "runs": runs, "warmup": warmup,
            "pipeline_runs": pipeline_runs, "threads": threads, "peak_rss_mb": peak, "input_size": size, "fov_mm": fov,
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
    """The terminal table of one measurement, with notes under it: the whole reason of each row skipped or failed
    (``[1] ...``, referenced from the row's status), Dice "n/a" where both masks were empty, and a pipeline total
    marked ``*`` where stages did not run (radiomics and nomogram on an empty mask)."""
    d = result["device"]
    size, fov = result.get("input_size"), result.get("fov_mm")
    across = f" ({fov:g} mm across)" if fov else ""
    what = f"one {size}x{size} input{across}" if size else "one model input (of no single size)"
    lines = [f"Device: {d['cpu']} ({d.get('physical_cores', '?')} cores / {d['logical_cores']} threads; "
             f"ISA {' '.join(d['isa']) or '?'}){'; GPU ' + d['gpu'] if d.get('gpu') else '; no GPU'}",
             f"Reference: {result['reference']['format']} on {result['reference']['runtime']}; slice = "
             f"{what}, median (p95) of {plural(result['runs'], 'run')}{_p95_note(result['runs'])}; pipeline stages = "
             f"median of {plural(result['pipeline_runs'], 'run')} on {result['patient']}",
             f"{'format':<16}{'runtime':<13}{'slice ms p50 (p95)':>20}{'segment s':>11}{'pipeline s':>12}"
             f"{'Dice vs ref':>12}{'size MB':>9}{'thr':>5}  status"]
    ref = next((r for r in result["rows"] if (r["format"], r["runtime"]) == (result["reference"]["format"],
                                                                              result["reference"]["runtime"])), {})
    empty, partial, reasons = [], {}, {}
    for r in result["rows"]:
        if r["status"] != "ok":  # its reason whole under the table: cut at 90 characters, it lost the command to run
            number = reasons.setdefault(r.get("reason") or "no reason recorded", len(reasons) + 1)  # one note a reason
            lines.append(f"{r['format']:<16}{r['runtime']:<13}{'':>69}  {r['status']} [{number}]")
            continue
        name = f"{r['format']}/{r['runtime']}"
        total = f"{sum(r['pipeline_s'].values()):.2f}"
        if r.get("pipeline_missing"):
            total += "*"
            partial.setdefault(", ".join(r["pipeline_missing"]), []).append(name)
        dice = "-" if r["dice_vs_reference"] is None else f"{r['dice_vs_reference']:.4f}"
        if r["dice_vs_reference"] is None and r.get("mask_voxels") == 0 and ref.get("mask_voxels") == 0:
            dice = "n/a"
            empty.append(name)
        threads = r.get("threads") or "-"
        p95 = "n/a" if r.get("slice_ms_p95") is None else ms_text(r["slice_ms_p95"])
        lines.append(f"{r['format']:<16}{r['runtime']:<13}{ms_text(r['slice_ms_p50']):>10} ({p95:>6})"
                     f"{r['volume_s']:>12.3f}{total:>12}{dice:>12}{(r['size_mb'] or 0):>9.2f}{threads:>5}  ok")
    for reason, number in reasons.items():  # a reason of several lines stays one note: the lines after are indented
        lines.append(f"[{number}] " + "\n    ".join(reason.splitlines()))
    if empty:
        lines.append(f"note: Dice n/a for {', '.join(empty)}: the masks are empty, the reference's too (the model "
                     f"found no tumour on {result['patient']}); there is nothing to compare")
    for stages, names in partial.items():
        lines.append(f"note: * pipeline s is partial for {', '.join(names)}: without {stages}, which did not run "
                     "(on an empty mask)")
    return "\n".join(lines)


def _p95_note(runs: int) -> str:
    return f" (p95 n/a: it needs {MIN_P95_RUNS} runs or more)" if runs < MIN_P95_RUNS else ""
