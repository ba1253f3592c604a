"""Small helpers for the words of user-facing messages (a count with its noun: "1 thread", "2 threads")."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` with ``word`` in its number: ``plural(1, "run")`` -> "1 run", ``plural(3, "run")`` -> "3 runs".

    Args:
        count: how many.
        word: the singular noun.
        many: the plural when it is not ``word + "s"`` (``plural(2, "entry", "entries")``).

    Returns:
        "COUNT NOUN", the noun singular for a count of 1 (or -1), plural otherwise (0 included: "0 runs").
    """
    return f"{count} {word if abs(count) == 1 else many or word + 's'}"
