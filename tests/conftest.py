"""Suite-wide: the slowest test files are handed out first.

``make test`` runs two pytest-xdist workers with ``--dist loadfile``, which hands out whole files in collection
order. Collected alphabetically, tests/training/test_seg_model.py (about 8 minutes of tiny trainings) came last, and
one worker ran it alone while the other had finished: minutes of the 20-minute budget spent on one core. Longest
first keeps both workers busy to the end; the order within a file is unchanged."""

from __future__ import annotations

#: the longest files (``make test``'s ``--durations``, 2026-11-30), longest first
SLOWEST_FIRST = ("tests/training/test_seg_model.py", "tests/export/test_tiny_export.py",
                 "tests/reliability/test_soak.py", "tests/training/test_eval_seg.py")


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order
