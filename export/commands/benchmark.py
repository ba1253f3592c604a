"""``otscc benchmark``: segmentation latency of every available backend, side by side, plus device facts.

``otscc benchmark --compare A.json B.json ...`` merges results from several devices into one table and
chart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from inference.assets import DEFAULT_NOMOGRAM, DEFAULT_SEG_MODEL, SAMPLE_PATIENT
from inference.atomic import write_json
from inference.commands import THREADS_HELP, nonnegative_int, positive_int, thread_count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--formats", help="comma-separated formats to measure (default: every row of the formats table)")
    a("--model", default=str(DEFAULT_SEG_MODEL), help="model folder with the variants (default: the shipped one)")
    a("--patient", default=str(SAMPLE_PATIENT), help="patient for the pipeline timings (default: the sample)")
    a("--nomogram", default=str(DEFAULT_NOMOGRAM), help="nomogram JSON (default: the shipped one)")
    a("--runs", type=positive_int, default=30,
      help="timed single-slice runs per backend, in rotating blocks of 10 across all backends (default: 30)")
    a("--warmup", type=nonnegative_int, default=5, help="untimed warm-up runs before each block (default: 5)")
    a("--pipeline-runs", type=positive_int, default=3, help="whole-pipeline runs per backend (default: 3)")
    a("--threads", type=thread_count, default=None,
      help=f"CPU threads for every runtime; {THREADS_HELP} (default: each runtime's choice)")
    a("--json", metavar="FILE", help="write the full results as JSON; an earlier result there is replaced, any other "
                                     "file only with --overwrite (default: none)")
    a("--overwrite", action="store_true",
      help="let --json replace a file that is not an otscc benchmark result (default: refused)")
    a("--chart", metavar="FILE.png", help="write a bar chart (default: beside --json as .png, else none)")
    a("--compare", nargs="+", metavar="RESULT.json",
      help="merge results from several devices into one table (and --chart) instead of measuring")


def run(args: argparse.Namespace) -> int:
    from export.benchmark import compare_table, format_table, load_results, run_benchmark, write_chart
    from inference.errors import InputError
    from inference.outputs import check_output_file

    chart = Path(args.chart) if args.chart else (Path(args.json).with_suffix(".png") if args.json else None)
    if chart is not None and chart.suffix.lower() != ".png":
        raise InputError(f"--chart {chart}: the chart is a PNG; name it FILE.png")
    if args.compare and args.json:
        raise InputError("--json writes a measurement; with --compare the inputs are the results (use --chart for "
                         "the merged chart)")
    if args.json and chart and _same_file(Path(args.json), chart):  # the chart would replace the measurement
        raise InputError(f"--json {args.json} and the chart {chart} are the same file; name the JSON FILE.json "
                         "(the chart then goes beside it as FILE.png) or give the chart another name with --chart")
    for option, target in (("--json", args.json), ("--chart", chart)):  # fail now, not after the run
        if target:
            check_output_file(target, option)
    if args.json and not args.overwrite:
        check_replaceable(Path(args.json))
    if args.compare:
        results = load_results([Path(p) for p in args.compare])
        for note in (n for r in results for n in r["_notes"]):  # on stderr: stdout is the table
            print(f"note: {note}", file=sys.stderr)
        print(compare_table(results))
        if chart:
            print(f"chart: {write_chart(results, chart)}")
        return 0
    if args.formats is not None and not args.formats.strip():
        raise InputError("--formats is empty; leave it out to measure every format")
    formats = [f.strip() for f in args.formats.split(",")] if args.formats else None
    if formats:
        from inference.formats import get_format

        for name in formats:
            try:
                get_format(name)
            except KeyError as exc:
                raise InputError(str(exc.args[0])) from exc
    check_inputs(Path(args.model), Path(args.patient))

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    result = run_benchmark(model_dir=Path(args.model), patient=Path(args.patient), nomogram=Path(args.nomogram),
                           formats=formats, runs=args.runs, warmup=args.warmup, pipeline_runs=args.pipeline_runs,
                           threads=args.threads, progress=progress)
    print(format_table(result))
    if args.json:
        write_json(args.json, result)  # also when nothing was measured: it records why each row was skipped
        print(f"json: {args.json}")
    measured = [r for r in result["rows"] if r["status"] == "ok" and (formats is None or r["format"] in formats)]
    if not measured:  # the reference that always runs does not count unless it was asked for
        from inference.errors import NothingMeasuredError

        raise NothingMeasuredError(f"nothing was measured: {'every format' if formats is None else ', '.join(formats)}"
                                   " was skipped or failed here (the table says why); no chart was written")
    if chart:
        print(f"chart: {write_chart([result], chart)}")
    json.dumps(result)
    return 0


def check_replaceable(path: Path) -> None:
    """Refuse to replace a file that is not an earlier benchmark result (``replace_problem``) before measuring: a
    mistyped ``--json`` (``clinical.json``, another tool's results) was silently overwritten.

    Raises:
        ExistingResultsError: what the file is, and what to do.
    """
    from export.benchmark_results import replace_problem
    from inference.errors import ExistingResultsError

    problem = replace_problem(path)
    if problem is not None:
        raise ExistingResultsError(f"--json {path}: the file exists and is {problem}; nothing was measured or "
                                   "written. Choose another file name", cli_hint="(or pass --overwrite to replace it)")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two output paths name one file, compared without case: the file systems of Windows and macOS
    laptops ignore it (``same.PNG`` is ``same.png`` there)."""
    return os.path.normcase(a.resolve()).casefold() == os.path.normcase(b.resolve()).casefold()


def check_inputs(model_dir: Path, patient: Path) -> None:
    """Fail before any measurement when the model folder is missing or the patient lacks the clinical values its
    pipeline timings need (every row would otherwise report the same failure, exit 0)."""
    from inference.errors import InputError
    from inference.nomogram import CLINICAL, ClinicalValueError, normalize_clinical
    from inference.pipeline import load_clinical

    if not model_dir.is_dir():
        raise InputError(f"--model {model_dir}: no such model folder")
    if not patient.is_dir():
        return  # the pipeline's own loader names what is wrong with it
    values = {"doi_mm": "auto", **load_clinical(patient)}  # as run_benchmark: no measured DOI -> the estimate
    missing = [k for k in CLINICAL if values.get(k) in (None, "")]
    if missing:
        raise InputError(f"--patient {patient}: no {', '.join(missing)} in its clinical.json; the pipeline timings "
                         "run the nomogram and need them (add them to clinical.json)")
    try:
        normalize_clinical({k: v for k, v in values.items() if not (k == "doi_mm" and str(v).lower() == "auto")})
    except ClinicalValueError as exc:
        raise InputError(f"--patient {patient}: {exc}") from exc
