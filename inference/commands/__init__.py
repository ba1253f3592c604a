"""CLI subcommands of the runtime (each: add_arguments, run)."""

import argparse


def positive_int(text: str) -> int:
    """argparse type for counts such as --threads: an integer of 1 or more (0 or -1 would silently mean
    something else to each runtime)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type for counts that may be zero (e.g. --warmup)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value
