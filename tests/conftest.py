"""Suite-wide: the slowest test files are handed out first, and each pytest-xdist worker computes with its share of
the CPUs.

``make test`` runs two pytest-xdist workers with ``--dist loadfile``, which hands out whole files in collection
order. Collected alphabetically, tests/training/test_seg_model.py (about 8 minutes of tiny trainings) came last, and
one worker ran it alone while the other had finished: minutes of the 20-minute budget spent on one core. Longest
first keeps both workers busy to the end; the order within a file is unchanged.

Threads: TensorFlow (and the OpenMP libraries under it) start one compute thread per CPU in every process. Two
workers on two cores then ran four busy threads that spin-wait for each other: two tiny trainings side by side took
51 s of wall time, with one thread each 37 s (2026-11-30, 2-core AVX2 VM). Each worker (and every process it
starts, which inherits its environment) gets ``cpus // workers`` threads unless the variables are already set.
Runtimes given an explicit thread count (LiteRT, ONNX Runtime, OpenVINO) keep it."""

from __future__ import annotations

import os

from inference.cpu import schedulable_cpus

#: the longest files (``make test``'s ``--durations``, 2026-11-30), longest first
SLOWEST_FIRST = ("tests/training/test_seg_model.py", "tests/export/test_tiny_export.py",
                 "tests/reliability/test_soak.py", "tests/training/test_eval_seg.py")

#: TensorFlow's intra-op pool and OpenMP's: read once, when the library starts (so set before any test imports it)
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")


def worker_threads(cpus: int | None, workers: str | None) -> int | None:
    """The threads each of ``workers`` pytest-xdist workers gets on ``cpus`` CPUs (None: not under xdist)."""
    if not workers or not workers.isdigit() or int(workers) < 1:
        return None
    return max(1, (cpus or 1) // int(workers))


_threads = worker_threads(schedulable_cpus(), os.environ.get("PYTEST_XDIST_WORKER_COUNT"))
if _threads is not None:
    for _name in THREAD_VARIABLES:
        os.environ.setdefault(_name, str(_threads))


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order
