"""``otscc benchmark``: segmentation latency of every available backend, side by side, plus device facts.

``otscc benchmark --compare A.json B.json ...`` merges results from several devices into one table and
chart (``--formats`` picks its rows; the options of a measurement are refused there, since they would do nothing).
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

#: what each option of a measurement is when not given. ``add_arguments`` leaves them out of ``args`` unless given
#: (``argparse.SUPPRESS``), so ``--compare``, which measures nothing, can refuse them instead of ignoring them.
MEASUREMENT_DEFAULTS = {"model": str(DEFAULT_SEG_MODEL), "patient": str(SAMPLE_PATIENT),
                        "nomogram": str(DEFAULT_NOMOGRAM), "runs": 30, "warmup": 5, "pipeline_runs": 3, "threads": None,
                        "overwrite": False}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    def a(*names, **options):  # a measurement's option: absent from args unless given (MEASUREMENT_DEFAULTS)
        parser.add_argument(*names, default=argparse.SUPPRESS, **options)

    parser.add_argument("--formats", help="comma-separated formats to measure, or with --compare to show (default: "
                                          "every row of the formats table)")
    a("--model", help="model folder with the variants (default: the shipped one)")
    a("--patient", help="patient for the pipeline timings (default: the sample)")
    a("--nomogram", help="nomogram JSON (default: the shipped one)")
    a("--runs", type=positive_int,
      help="timed single-slice runs per backend, in rotating blocks of 10 across all backends; the p95 needs 20 or "
           "more (default: 30)")
    a("--warmup", type=nonnegative_int, help="untimed warm-up runs before each block (default: 5)")
    a("--pipeline-runs", type=positive_int, help="whole-pipeline runs per backend (default: 3)")
    a("--threads", type=thread_count,
      help=f"CPU threads for every runtime; {THREADS_HELP} (default: each runtime's choice)")
    parser.add_argument("--json", metavar="FILE", help="write the full results as JSON; an earlier result there is "
                                                       "replaced, any other file only with --overwrite (default: none)")
    a("--overwrite", action="store_true",
      help="let --json replace a file that is not an otscc benchmark result, and the chart (also with --compare) "
           "any file (default: refused, except the chart beside an earlier result --json replaces)")
    parser.add_argument("--chart", metavar="FILE.png",
                        help="write a bar chart; a measurement replaces an existing file only with --overwrite "
                             "(default: beside --json as .png, else none)")
    parser.add_argument("--compare", nargs="+", metavar="RESULT.json",
                        help="merge results from several devices into one table (and --chart) instead of measuring; "
                             "--formats picks the rows shown")


def run(args: argparse.Namespace) -> int:
    from export.benchmark import format_table, run_benchmark, write_chart
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
    formats = parse_formats(args.formats)
    if args.compare:
        return compare(args, formats, chart)
    settings = {**MEASUREMENT_DEFAULTS, **{k: getattr(args, k) for k in MEASUREMENT_DEFAULTS if hasattr(args, k)}}
    if settings["overwrite"] and not (args.json or args.chart):  # accepted, it did nothing: nothing is written
        raise InputError("--overwrite applies to --json FILE (and the chart): it lets them replace an existing file; "
                         "without --json or --chart nothing is written. Add --json FILE or leave --overwrite out")
    for option, target in (("--json", args.json), ("--chart", chart)):  # fail now, not after the run
        if target:
            check_output_file(target, option)
    check_replaceable(args, chart, settings["overwrite"], measured=False)
    check_inputs(Path(settings["model"]), Path(settings["patient"]))

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    result = run_benchmark(model_dir=Path(settings["model"]), patient=Path(settings["patient"]),
                           nomogram=Path(settings["nomogram"]), formats=formats, runs=settings["runs"],
                           warmup=settings["warmup"], pipeline_runs=settings["pipeline_runs"],
                           threads=settings["threads"], progress=progress)
    print(format_table(result))
    measured = [r for r in result["rows"] if r["status"] == "ok" and (formats is None or r["format"] in formats)]
    # again, cheaply: a file may have appeared at either name during the minutes of measuring
    check_replaceable(args, chart if measured else None, settings["overwrite"], measured=True)
    if args.json:
        write_json(args.json, result)  # also when nothing was measured: it records why each row was skipped
        print(f"json: {args.json}")
    if not measured:  # the reference that always runs does not count unless it was asked for
        from inference.errors import NothingMeasuredError

        raise NothingMeasuredError(f"nothing was measured: {'every format' if formats is None else ', '.join(formats)}"
                                   " was skipped or failed here (the table says why); no chart was written")
    if chart:
        print(f"chart: {write_chart([result], chart)}")
    json.dumps(result)
    return 0


def parse_formats(text: str | None) -> list[str] | None:
    """``--formats`` as names of the formats table (None: every row).

    Raises:
        InputError: empty, or a name the table does not have (the message lists the valid ones).
    """
    from inference.errors import InputError
    from inference.formats import get_format

    if text is None:
        return None
    if not text.strip():
        raise InputError("--formats is empty; leave it out to measure every format")
    formats = [f.strip() for f in text.split(",")]
    for name in formats:
        try:
            get_format(name)
        except KeyError as exc:
            raise InputError(str(exc.args[0])) from exc
    return formats


def compare(args: argparse.Namespace, formats: list[str] | None, chart: Path | None) -> int:
    """``--compare``: the merged table (and chart) of earlier results, their rows of ``formats`` only.

    Results that differ in what was measured (the model, its input size, runs, warm-up, pipeline runs, patient, the
    CPU threads of their rows) are merged, with a ``note:`` per difference on stderr, the values in each column's
    label, and a ``WARNING:`` line above the table (and on the chart) when the models differ.

    Raises:
        InputError: an option of a measurement was given (it would have no effect: nothing is measured), or no
            result holds a row of ``formats``.
    """
    from export.benchmark import compare_table, load_results, write_chart
    from export.benchmark_results import measurement_differences
    from inference.errors import ExistingResultsError, InputError
    from inference.outputs import check_output_file

    ignored = [f"--{k.replace('_', '-')}" for k in MEASUREMENT_DEFAULTS if k != "overwrite" and hasattr(args, k)]
    if ignored:
        raise InputError(f"{', '.join(ignored)}: {'an option' if len(ignored) == 1 else 'options'} of a measurement, "
                         "which --compare does not make (it merges results measured before); leave "
                         f"{'it' if len(ignored) == 1 else 'them'} out (--formats, --chart and --overwrite apply)")
    overwrite = getattr(args, "overwrite", False)
    if overwrite and not chart:
        raise InputError("--overwrite with --compare lets --chart FILE.png replace an existing file; without "
                         "--chart nothing is written. Add --chart FILE.png or leave --overwrite out")
    if chart:
        check_output_file(chart, "--chart")
        if not overwrite and (chart.exists() or chart.is_symlink()):  # a merged chart replaced any file there
            raise ExistingResultsError(f"--chart {chart}: a file exists there; nothing was merged or written. Name "
                                       "the chart with another --chart FILE.png",
                                       cli_hint="(or pass --overwrite to replace it)")
    results = load_results([Path(p) for p in args.compare])
    if formats is not None:
        held = list(dict.fromkeys(r["format"] for res in results for r in res["rows"]))
        if not set(formats) & set(held):
            raise InputError(f"--formats {','.join(formats)}: no result given holds a row of "
                             f"{'it' if len(formats) == 1 else 'them'} (they hold {', '.join(held) or 'none'})")
        absent = [f for f in formats if f not in held]
        if absent:  # said, not dropped silently: the user asked for them
            print(f"note: --formats {','.join(absent)}: no result given holds a row of "
                  f"{'it' if len(absent) == 1 else 'them'}; not shown", file=sys.stderr)
        results = [{**res, "rows": [r for r in res["rows"] if r["format"] in formats]} for res in results]
    # on stderr: stdout is the table (whose first line warns of a mix of models). The results' "_notes" (version 1's
    # size_mb converted to MB) are not printed: neither the table nor the chart shows size_mb.
    for res in results:
        if res["_copy_of"] != res["_source"]:  # its column repeats that one: not another device
            print(f"note: {res['_source']} holds the same result as {res['_copy_of']} (identical contents: a copy?); "
                  "their columns are one measurement, not two devices", file=sys.stderr)
    for note in measurement_differences(results)["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(compare_table(results))
    if chart:
        print(f"chart: {write_chart(results, chart)}")
    return 0


def check_replaceable(args: argparse.Namespace, chart: Path | None, overwrite: bool, *, measured: bool) -> None:
    """Without ``--overwrite``, refuse to replace a file that is not an earlier benchmark result
    (``replace_problem``; a mistyped ``--json clinical.json`` was silently overwritten) or, at the chart's name, one
    that is not the chart of the result being replaced: the chart beside ``--json FILE`` (``FILE.png``, no
    ``--chart``) when ``FILE`` is an earlier result. Called before measuring and again just before writing
    (``measured``): a file may appear in between.

    Raises:
        ExistingResultsError: what the file is, and what to do.
    """
    from export.benchmark_results import replace_problem
    from inference.errors import ExistingResultsError

    if overwrite:
        return
    when = ("the results were not written (the table above has them)" if measured
            else "nothing was measured or written")
    target = Path(args.json) if args.json else None
    problem = replace_problem(target) if target else None
    if problem is not None:
        raise ExistingResultsError(f"--json {target}: the file exists and is {problem}; {when}. Choose another file "
                                   "name", cli_hint="(or pass --overwrite to replace it)")
    if chart is None or not (chart.exists() or chart.is_symlink()):
        return
    if args.chart is None and target is not None and target.exists():  # FILE.json, an earlier result: its chart
        return
    option = f"--chart {chart}" if args.chart else f"the chart {chart} (beside --json {target})"
    raise ExistingResultsError(f"{option}: a file exists there and is not the chart of an earlier result being "
                               f"replaced; {when}. Name the chart with --chart FILE.png",
                               cli_hint="(or pass --overwrite to replace it)")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two output paths name one file, compared without case: the file systems of Windows and macOS
    laptops ignore it (``same.PNG`` is ``same.png`` there)."""
    return os.path.normcase(a.resolve()).casefold() == os.path.normcase(b.resolve()).casefold()


def check_inputs(model_dir: Path, patient: Path) -> None:
    """Fail before any measurement when the model folder is missing or holds no model, or the patient lacks the
    clinical values its pipeline timings need (every row would otherwise report the same failure, exit 0)."""
    from inference.backends.manifest import check_model_folder
    from inference.errors import InputError
    from inference.nomogram import CLINICAL, ClinicalValueError, normalize_clinical
    from inference.pipeline import load_clinical

    if model_dir.is_file():  # predict runs one file; the benchmark measures every variant beside it
        raise InputError(f"--model {model_dir}: a file; the benchmark measures every variant in a model folder, so "
                         f"give the folder ({model_dir.parent})")
    check_model_folder(model_dir)  # missing, empty or wrong: said once, as otscc predict says it
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
