"""CLI subcommands of the runtime (each: add_arguments, run)."""

import argparse


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
