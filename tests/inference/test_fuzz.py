"""Fuzzing of the intake readers (issue 9): a bounded, reproducible run in ``make test``.

Hypothesis mutates valid inputs (``tests/inference/fuzzing/``): NIfTI, NRRD and MetaImage files, DICOM series
and whole patient folders. Every case runs in one child process (the worker), so a hang, a hard crash or a
memory blow-up is seen too, and must end in a valid result or an ``inference.errors.InputError`` subclass,
within the per-case time limit, with the worker's peak RSS under 1 GiB. A failure is shrunk to a minimal
reproducer. The cases are derandomized: the same ones every run. Longer runs on demand:
``python -m tests.inference.fuzzing --examples 5000`` (or ``OTSCC_FUZZ_EXAMPLES=N`` for this file).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.inference.fuzzing.harness import (
    RSS_LIMIT_KIB,
    TARGETS,
    Target,
    Worker,
    explore,
    parse_reproducer,
    replay,
    signature,
)


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    with Worker() as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_every_case_ends_in_a_typed_error_or_a_valid_result(target: Target, worker: Worker) -> None:
    examples = int(os.environ.get("OTSCC_FUZZ_EXAMPLES", target.ci_examples))
    tally = explore(target, worker, examples=examples, raise_failures=True)

    assert tally.cases >= examples // 2  # Hypothesis ran (it may stop early only on a tiny search space)
    assert len(tally.outcomes) >= 2, tally.outcomes  # mutations reach more than one outcome
    assert worker.peak_kib < RSS_LIMIT_KIB, f"worker peak RSS {worker.peak_kib // 1024} MiB"
    print(f"{target.name}: {tally.cases} cases in {tally.seconds:.1f} s, outcomes {dict(tally.outcomes)}, "
          f"worker peak RSS {worker.peak_kib // 1024} MiB")


@pytest.fixture(scope="module")
def strict_worker() -> Iterator[Worker]:
    with Worker(case_timeout=2.0, rss_limit_kib=400 << 10) as running:
        yield running


@pytest.mark.parametrize(("do", "outcome"), [
    ("typed", "UnreadableFileError"), ("ok", "valid"), ("nan", "invalid"), ("raise", "crash"), ("hang", "hang"),
    ("segfault", "died"), ("allocate", "memory"),
])
def test_the_harness_tells_each_kind_of_failure(tmp_path: Path, strict_worker: Worker, do: str, outcome: str) -> None:
    """The worker's verdicts: a typed error and a valid result pass, anything else is a failure."""
    reply = strict_worker.run({"entry": "self-test", "path": str(tmp_path), "kwargs": {"do": do}})
    assert reply["outcome"] == outcome, reply
    if outcome not in ("valid", "UnreadableFileError"):
        assert signature(reply).startswith(outcome)


def _same(a: object, b: object) -> bool:
    return repr(a) == repr(b)  # NaN field values compare unequal, their reprs do not


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_a_case_repr_is_its_reproducer(target: Target) -> None:
    @settings(max_examples=15, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=target.cases())
    def round_trip(case: object) -> None:
        assert _same(parse_reproducer(repr(case)), case)

    round_trip()


def test_a_reproducer_replays_to_the_same_outcome(worker: Worker) -> None:
    reproducer = "TextImageCase(fmt='mha', detached=True, edits=(LineEdit('set', 'NDims', '-1'),))"
    assert replay(reproducer, worker)["outcome"] == "UnreadableFileError"  # a segfault in ITK before the fix
