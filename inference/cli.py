"""``otscc``: one command line over the Python API (the GUI calls the same functions).

Each subcommand lives in a module with ``add_arguments(parser)`` and ``run(args) -> int``. Modules are
imported only when their command runs, so ``otscc --help`` stays fast and the runtime never loads
TensorFlow or the training code unless a training/export command is used.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from inference import __version__
from inference.errors import OtsccError
from inference.memory import tune_allocator

#: command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("inference.commands.inspect",
        "show what was found in a patient folder (roles, geometry, registration)"),
    "predict": ("inference.commands.predict",
        "segment the tumor and predict nodal-metastasis risk for a patient (or a folder of patients)"),
    "gui": ("desktop.commands.gui", "open the desktop viewer (optionally on PATIENT)"),
    "self-test": ("inference.commands.self_test",
        "check the installed product: model hashes, every backend, radiomics and nomogram on the sample"),
    "synth": ("training.synth.cli", "generate a SYNTHETIC multiparametric tongue-MRI cohort"),
    "train-seg": ("training.seg.commands.train_seg", "train the segmentation model (needs the train extra)"),
    "eval-seg": ("training.seg.commands.eval_seg", "evaluate a segmentation model on a cohort (Dice/IoU/HD95)"),
    "fit-nomogram": ("training.nomogram.commands.fit_nomogram", "fit the radiomics + clinical fusion nomogram"),
    "eval-nomogram": ("training.nomogram.commands.eval_nomogram",
        "evaluate fitted nomograms on training and held-out test patients (AUC, calibration, DeLong)"),
    "export": ("export.commands.export", "convert the trained model to the runtime formats and validate them"),
    "benchmark": ("export.commands.benchmark", "measure segmentation latency of every available backend"),
}


def _build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otscc",
        description="otscc-edge: offline OTSCC tumor segmentation and nodal-risk prediction from MRI.",
    )
    parser.add_argument("--version", action="version", version=f"otscc-edge {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging (default: off)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        sp = sub.add_parser(name, help=summary, description=summary)
        if name == command:  # only the chosen command's module is imported
            importlib.import_module(module).add_arguments(sp)
            sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="show tracebacks and debug logging (default: off)")
    return parser


#: commands of the clinic runtime, whose long batches and GUI sessions give volume-sized arrays back to the OS
#: (``tune_allocator``). Not the training, export and benchmark tools: under TensorFlow the fixed 4 MiB mmap
#: threshold maps and unmaps large tensors on every call. Measured on a 2-core AVX2 EPYC (2026-11-29): Keras
#: inference 32-34 -> 58-65 ms per slice, a training step +10 % (kernel time 2.2 -> 5.0 s in 20 steps); LiteRT
#: and ONNX Runtime unchanged. The benchmark's Keras reference is timed as TensorFlow users run it.
RUNTIME_COMMANDS = frozenset({"inspect", "predict", "gui", "self-test"})


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code.

    Output piped into a reader that stops early (``otscc benchmark --compare ... | head -1``) ends quietly, as Unix
    tools do, with exit code 141 (128 + SIGPIPE, what the shell reports for ``yes | head -1``): a script under
    ``set -o pipefail`` still sees that the output was cut. The rest of stdout goes to devnull, so Python's flush at
    exit cannot raise again."""
    try:
        code = _main(argv)  # another exception propagates as it is: a crash is never reported as a closed pipe
        if sys.stdout is not None:  # None in a GUI bundle without a console
            sys.stdout.flush()  # piped output is block-buffered: a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # stdout is not a real file (a test's capture, say)
            pass
        return 141


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        return _run(argv, command)
    except KeyboardInterrupt:
        # Ctrl+C while the command's module was imported (TensorFlow for training and export takes seconds) came
        # before the command ran and printed a traceback through the import machinery.
        print(f"otscc {command}: interrupted" if command in COMMANDS else "otscc: interrupted", file=sys.stderr)
        return 130


def _run(argv: list[str], command: str | None) -> int:
    if command in RUNTIME_COMMANDS:
        tune_allocator()
    parser = _build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except OtsccError as exc:
        if args.debug:
            raise
        print(f"otscc {args.command}: error: {error_text(exc, args)}", file=sys.stderr)
        return exc.exit_code


#: the per-patient sequence options (``otscc predict`` and ``inspect``); other commands read patients too
SEQUENCE_OPTIONS = ("--cet1", "--t2", "--t1")


def error_text(exc: OtsccError, args: argparse.Namespace) -> str:
    """``str(exc)``, without its command-line hint when that names sequence options the command does not have:
    ``otscc benchmark --patient`` advised "choose the right one with --cet1 or --t2", which it refuses."""
    hint = exc.cli_hint
    if hint and exc.problem and not hasattr(args, "cet1") and any(o in hint for o in SEQUENCE_OPTIONS):
        return exc.problem
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
