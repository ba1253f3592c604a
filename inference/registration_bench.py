"""Benchmark rigid co-registration on a full-size synthetic study: time per sequence and recovery error.

Run ``python -m inference.registration_bench`` (``--help`` for options). The study is a 30 x 512 x 512
CE-T1 at 0.45 x 0.45 x 4 mm plus a T2 and a T1 on their own grids (other slice thickness, field of
view and matrix), each moved by a known rigid transform of a few mm and degrees. Every repeat runs
``coregister`` in mode ``always`` and records, per moving sequence, the registration seconds, the
resampling seconds, and the residual against the true transform (largest displacement over the head
and residual rotation angle). Results are logged and optionally written as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

import SimpleITK as sitk

from inference.registration import coregister, resample_to
from inference.registration_phantom import (
    RigidMotion,
    centred_geometry,
    head_points,
    render_volume,
    transform_residual,
)

log = logging.getLogger("inference.registration_bench")

# Known misalignments at the top of the clinical range (3 mm / 3 degrees), and grids that differ from
# the reference in slice thickness, matrix, pixel size and field-of-view centre.
_MOVING = {
    "t2": (
        RigidMotion((2.5, -2.0, 3.0), (2.0, -2.5, 1.5)),
        centred_geometry((384, 384, 24), (0.6, 0.6, 5.0), (3.0, -5.0, 2.0)),
    ),
    "t1": (
        RigidMotion((-3.0, 1.5, -2.0), (-1.5, 3.0, -2.0)),
        centred_geometry((448, 448, 30), (0.5, 0.5, 4.0), (-4.0, 2.0, -3.0)),
    ),
}


def build_study() -> dict:
    """Render the CE-T1 reference and the moved T2/T1 (takes ~10 s; not part of the timing)."""
    reference = centred_geometry((512, 512, 30), (0.45, 0.45, 4.0))
    volumes = {"cet1": render_volume(reference, "cet1", seed=1)}
    for seed, (name, (motion, grid)) in enumerate(_MOVING.items(), start=2):
        volumes[name] = render_volume(grid, name, motion, seed=seed)
    return volumes


def run(repeats: int, threads: int, seed: int) -> dict:
    """Time ``coregister`` ``repeats`` times and summarize per moving sequence."""
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    volumes = build_study()
    points = head_points(volumes["cet1"].geometry)
    runs: dict[str, list[dict]] = {name: [] for name in _MOVING}
    for _ in range(repeats):
        _, results = coregister(volumes, mode="always", seed=seed, threads=threads)
        for name, result in results.items():
            start = time.perf_counter()
            resample_to(volumes[name], volumes["cet1"].geometry, result.transform)
            error_mm, error_deg = transform_residual(result.transform, _MOVING[name][0].to_sitk(), points)
            runs[name].append(
                {
                    "register_s": result.seconds,
                    "register_cpu_s": result.cpu_seconds,
                    "resample_s": time.perf_counter() - start,
                    "error_mm": error_mm,
                    "error_deg": error_deg,
                    "iterations": result.iterations,
                    "ecc": [result.quality_initial, result.quality_final],
                }
            )
    return {"repeats": repeats, "threads": threads, "seed": seed, "sequences": _summarize(runs), "runs": runs}


def _summarize(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Median times and worst errors per sequence."""
    summary = {}
    for name, rows in runs.items():
        summary[name] = {
            "median_register_s": round(statistics.median(r["register_s"] for r in rows), 3),
            "max_register_s": round(max(r["register_s"] for r in rows), 3),
            "median_register_cpu_s": round(statistics.median(r["register_cpu_s"] for r in rows), 3),
            "median_resample_s": round(statistics.median(r["resample_s"] for r in rows), 3),
            "max_error_mm": round(max(r["error_mm"] for r in rows), 3),
            "max_error_deg": round(max(r["error_deg"] for r in rows), 3),
            "iterations": rows[-1]["iterations"],
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: run the benchmark and log (and optionally save) the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="coregister runs to time (default: 7)")
    parser.add_argument("--threads", type=int, default=2, help="ITK threads (default: 2)")
    parser.add_argument("--seed", type=int, default=0, help="metric sampling seed (default: 0)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here (default: no)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = run(args.repeats, args.threads, args.seed)
    for name, row in report["sequences"].items():
        log.info("%s: %s", name, json.dumps(row))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
