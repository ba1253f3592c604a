"""``otscc benchmark``: segmentation latency of every available backend, side by side, plus device facts.

``otscc benchmark --compare A.json B.json ...`` merges results from several devices into one table and
chart.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inference.assets import DEFAULT_NOMOGRAM, DEFAULT_SEG_MODEL, SAMPLE_PATIENT
from inference.atomic import write_json
from inference.commands import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--formats", help="comma-separated formats to measure (default: every row of the formats table)")
    a("--model", default=str(DEFAULT_SEG_MODEL), help="model folder with the variants (default: the shipped one)")
    a("--patient", default=str(SAMPLE_PATIENT), help="patient for the pipeline timings (default: the sample)")
    a("--nomogram", default=str(DEFAULT_NOMOGRAM), help="nomogram JSON (default: the shipped one)")
    a("--runs", type=int, default=30,
      help="timed single-slice runs per backend, in rotating blocks of 10 across all backends (default: 30)")
    a("--warmup", type=int, default=5, help="untimed warm-up runs before each block (default: 5)")
    a("--pipeline-runs", type=int, default=3, help="whole-pipeline runs per backend (default: 3)")
    a("--threads", type=positive_int, default=None,
      help="CPU threads for every runtime (default: each runtime's choice)")
    a("--json", metavar="FILE", help="write the full results as JSON (default: none)")
    a("--chart", metavar="FILE.png", help="write a bar chart (default: beside --json as .png, else none)")
    a("--compare", nargs="+", metavar="RESULT.json",
      help="merge results from several devices into one table (and --chart) instead of measuring")


def run(args: argparse.Namespace) -> int:
    from export.benchmark import compare_table, format_table, load_results, run_benchmark, write_chart

    chart = Path(args.chart) if args.chart else (Path(args.json).with_suffix(".png") if args.json else None)
    if args.compare:
        results = load_results([Path(p) for p in args.compare])
        print(compare_table(results))
        if chart:
            print(f"chart: {write_chart(results, chart)}")
        return 0
    formats = [f.strip() for f in args.formats.split(",")] if args.formats else None
    if formats:
        from inference.formats import get_format

        for name in formats:
            try:
                get_format(name)
            except KeyError as exc:
                from inference.errors import InputError

                raise InputError(str(exc.args[0])) from exc

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    result = run_benchmark(model_dir=Path(args.model), patient=Path(args.patient), nomogram=Path(args.nomogram),
                           formats=formats, runs=args.runs, warmup=args.warmup, pipeline_runs=args.pipeline_runs,
                           threads=args.threads, progress=progress)
    print(format_table(result))
    if args.json:
        write_json(args.json, result)
        print(f"json: {args.json}")
    if chart:
        print(f"chart: {write_chart([result], chart)}")
    json.dumps(result)
    return 0
