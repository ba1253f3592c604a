"""CLI subcommands of the runtime (each: add_arguments, run)."""

import argparse
import os
import sys


def _count_of_at_least(minimum: int):
    """argparse type: a whole number of ``minimum`` or more (0 or -1 threads would silently mean something else to
    each runtime; 0 timed runs would still time one)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of {minimum} or more, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {minimum} or more, got {value}")
        return value

    return parse


positive_int = _count_of_at_least(1)  #: --threads, --runs, --patients, ...
nonnegative_int = _count_of_at_least(0)  #: --warmup


#: how --threads help ends (the warning of ``thread_count``)
THREADS_HELP = "more than this machine's CPU threads is allowed but much slower"


def thread_count(text: str) -> int:
    """argparse type of a user's ``--threads``: 1 or more. More than this machine's logical CPUs (``os.cpu_count``)
    is accepted, since some users oversubscribe on purpose, but said once on stderr: the runtimes' threads then wait
    for each other (measured: ONNX Runtime's segmentation 0.86 s with 2 threads, 36 s with 99, on 2 cores)."""
    value = positive_int(text)
    cpus = os.cpu_count()
    if cpus and value > cpus:
        print(f"otscc: warning: --threads {value} is more than the {cpus} CPU threads of this machine; it runs, but "
              f"much slower (up to 40x measured); {cpus} or fewer is faster", file=sys.stderr)
    return value
