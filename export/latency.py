"""Per-slice latency of every CPU variant, side by side in one process, and whole-volume segmentation time.

This is the measurement behind docs/export.md (issue 6, item 6): its rows are the issue's peers (OpenVINO at
both precisions), timed over all slices of the sample. ``otscc benchmark`` times its rows the same way
(``export.benchmark.time_slices``: every backend loaded in one process, rotating blocks, so that load from
other processes on a shared machine spreads over all of them instead of biasing one) and adds the pipeline.

    python -m export.latency --model assets/models/seg --threads 2 --runs 60 --json latency.json

``--runs`` counts timed calls per backend (in rounds of 10, each after 5 untimed ones). ``--isa AVX2`` re-runs the
OpenVINO rows in a child process with ``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN then uses no AVX-512/AMX, as on most
laptops) and ``--openvino-f32`` (only the f32 rows: such CPUs have no bf16, so the default hint is f32 there too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from export.benchmark import time_slices
from inference.assets import DEFAULT_SEG_MODEL, SAMPLE_PATIENT
from inference.backends.base import BackendUnavailableError, load_backend, select_backend
from inference.commands import positive_int, thread_count
from inference.cpu import cpu_info
from inference.errors import InputError, ModelIntegrityError, OtsccError

#: (label, backend, variant, options): the float peers first, then the exported variants
ROWS = (
    ("keras fp32 (tf.function)", "keras", None, {}),
    ("onnxruntime fp32", "onnxruntime", "onnx", {}),
    ("openvino fp32 (f32)", "openvino", "onnx", {}),
    ("openvino fp32 (default hint)", "openvino", "onnx", {"precision_hint": "default"}),
    ("litert fp32", "litert", "tflite-fp32", {}),
    ("litert fp16", "litert", "tflite-fp16", {}),
    ("litert int8", "litert", "tflite-int8", {}),
    ("litert int8-qat", "litert", "tflite-int8-qat", {}),
    ("openvino int8 (default hint)", "openvino", "openvino-int8", {}),
    ("openvino int8 (f32)", "openvino", "openvino-int8", {"precision_hint": "f32"}),
)

#: ``--only`` values: the backends of ``ROWS``
ONLY = tuple(dict.fromkeys(backend for _, backend, _, _ in ROWS))


def select_rows(only: str | None = None, openvino_f32: bool = False) -> list[tuple]:
    """The rows to time: all, or ``only`` one backend's; with ``openvino_f32`` no OpenVINO default-hint row (on a CPU
    without bf16, such as one limited to AVX2, the default hint is f32: the row would time the f32 one again).
    Labels stay unique: relabelling "default hint" as "f32" gave two rows one label, so one backend replaced the
    other in the results (and was never closed)."""
    rows = [r for r in ROWS if only is None or r[1] == only]
    if openvino_f32:
        rows = [(label, backend, variant, {**options, "precision_hint": "f32"} if backend == "openvino" else options)
                for label, backend, variant, options in rows if "(default hint)" not in label]
    return rows


def _load(rows, model: Path, threads: int):
    loaded, skipped = {}, {}
    for label, backend, variant, options in rows:
        try:
            loaded[label] = load_backend(backend, model, variant=variant, threads=threads, **options)
        except (BackendUnavailableError, ModelIntegrityError) as exc:
            skipped[label] = str(exc)
    return loaded, skipped


def _sample_slices(size: int, fov_mm: float) -> np.ndarray:
    """Real model-grid slices of the sample patient (not noise: int8 kernels' speed can depend on data)."""
    from inference.intake import prepare_patient
    from inference.preprocess import ModelGrid, to_model_stack

    prepared = prepare_patient(SAMPLE_PATIENT)
    stack, _, _ = to_model_stack(prepared.volumes, ModelGrid(size, fov_mm))
    return stack, prepared


def whole_volume(prepared, backend, repeats: int = 5) -> dict:
    """Seconds for ``inference.segment.segment`` (preprocess + inference + postprocess) of the sample patient."""
    from inference.segment import segment

    runs = []
    for _ in range(repeats):
        result = segment(prepared.volumes, backend)
        runs.append(result.seconds)
    total = [sum(r.values()) for r in runs]
    return {"median_s": round(float(np.median(total)), 3), "stages_median_s": {
        k: round(float(np.median([r[k] for r in runs])), 3) for k in runs[0]}, "slices": int(
        prepared.volumes["cet1"].array.shape[0])}


def measure(model: Path, threads: int, runs: int, only: str | None = None, openvino_f32: bool = False) -> dict:
    """Time the rows (``select_rows``) side by side; with every row (no ``only``), also the whole-volume time of
    the backend ``auto`` picks.

    Raises:
        BackendUnavailableError: no row loaded here; the message has each row's reason.
    """
    backends, skipped = _load(select_rows(only, openvino_f32), model, threads)
    try:
        if not backends:
            raise BackendUnavailableError(f"nothing to time: no backend loaded from {model} ({_reasons(skipped)})")
        first = next(iter(backends.values()))
        slices, prepared = _sample_slices(first.input_size, first.fov_mm)
        table = time_slices(backends, slices, runs)
        out = {"threads": threads, "runs": runs, "cpu": cpu_info().model,
               "isa_limit": os.environ.get("ONEDNN_MAX_CPU_ISA"),
               "rows": {label: {**table[label], **_facts(backends[label])} for label in table}, "skipped": skipped}
    finally:
        for backend in backends.values():
            backend.close()
    if only is None:
        default, notes = select_backend("auto", model, threads=threads)
        try:
            out["default"] = {"backend": default.summary(), "describe": default.describe(), "notes": notes,
                              "whole_volume": whole_volume(prepared, default)}
        finally:
            default.close()
        out["ratios"] = _ratios(out, default)
    return out


def _reasons(skipped: dict[str, str]) -> str:
    """Each row's reason; one reason given for every row (a missing folder) is said once."""
    if len(set(skipped.values())) == 1:
        return f"every row: {next(iter(skipped.values()))}"
    return "; ".join(f"{label}: {reason}" for label, reason in skipped.items())


def _facts(backend) -> dict:
    info = backend.describe()
    return {"format": info["format"], "device": info["device"], "precision": info["precision"]}


def _ratios(out: dict, default) -> dict:
    rows = out["rows"]
    label = next((label for label, row in rows.items() if row["format"] == default.format_name
                  and label.startswith(default.name)), None)
    if label is None:  # auto's choice has no row here (it failed while being timed): nothing to compare with
        return {"default_row": None}
    base = rows[label]["median_ms"]

    def ratio(peer: str) -> float | None:
        return round(rows[peer]["median_ms"] / base, 2) if peer in rows else None

    int8, fp32 = rows.get("litert int8"), rows.get("litert fp32")
    return {"default_row": label, "vs keras fp32": ratio("keras fp32 (tf.function)"),
            "vs onnxruntime fp32": ratio("onnxruntime fp32"), "vs openvino fp32 (f32)": ratio("openvino fp32 (f32)"),
            "vs openvino fp32 (default hint)": ratio("openvino fp32 (default hint)"),
            "litert int8 vs litert fp32": round(fp32["median_ms"] / int8["median_ms"], 2) if int8 and fp32 else None}


def measure_with_isa(model: Path, threads: int, runs: int, isa: str) -> dict:
    """The OpenVINO rows in a child process with oneDNN limited to ``isa``."""
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": isa}
    cmd = [sys.executable, "-m", "export.latency", "--model", str(model), "--threads", str(threads), "--runs",
           str(runs), "--only", "openvino", "--openvino-f32"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        return {"error": result.stderr[-1000:]}
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.latency", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_SEG_MODEL, help="model folder (default: shipped)")
    parser.add_argument("--threads", type=thread_count, default=2,
                        help="CPU threads per runtime, 1 or more (default: %(default)s)")
    parser.add_argument("--runs", type=positive_int, default=60,
                        help="timed calls per backend, in rounds of 10 (default: %(default)s)")
    parser.add_argument("--only", choices=ONLY, default=None, help="only rows of this backend (default: all)")
    parser.add_argument("--openvino-f32", action="store_true",
                        help="OpenVINO rows at the f32 hint only, as on a CPU without bf16 (--isa's run uses it; "
                             "default: both hints)")
    parser.add_argument("--isa", default=None, help="also time OpenVINO with ONEDNN_MAX_CPU_ISA=ISA (default: no)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here (default: stdout only)")
    args = parser.parse_args(argv)
    try:
        if not args.model.exists():
            raise InputError(f"--model {args.model}: no such folder; give a model folder (default: the shipped one)")
        if args.json:  # before minutes of measuring, not after
            from inference.outputs import check_output_file

            check_output_file(args.json, "--json")
        result = measure(args.model, args.threads, args.runs, args.only, args.openvino_f32)
        if args.isa:
            result["isa_rows"] = measure_with_isa(args.model, args.threads, args.runs, args.isa)
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")  # first: a failing write loses nothing
        if args.json:
            from inference.atomic import write_json

            write_json(args.json, json.loads(json.dumps(result, default=str)))
    except OtsccError as exc:
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
