"""Long fuzzing runs on demand.

    python -m tests.inference.fuzzing --examples 5000 --target all --json docs/reliability/fuzz.json
    python -m tests.inference.fuzzing --replay "DicomCase(...)" --keep /tmp/case

Prints, per target: cases run, outcomes (valid or the typed error class), failures with a reproducer, wall
time and the worker's peak RSS. Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

from inference.wording import plural
from tests.inference.fuzzing.harness import (
    CASE_TIMEOUT_S,
    FAILURES,
    RSS_LIMIT_KIB,
    TARGETS,
    Worker,
    explore,
    get_target,
    peak_parent_kib,
    replay,
)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.inference.fuzzing", description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=500, help="cases per target (default: 500)")
    parser.add_argument("--target", default="all", choices=["all", *(t.name for t in TARGETS)],
                        help="which inputs to fuzz (default: all)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: a random one, printed)")
    parser.add_argument("--case-timeout", type=float, default=CASE_TIMEOUT_S,
                        help=f"seconds one case may take before it counts as a hang (default: {CASE_TIMEOUT_S:g})")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here (default: none)")
    parser.add_argument("--shrink", action="store_true",
                        help="stop at the first failure and shrink it to a minimal reproducer (default: record "
                             "every failure and go on)")
    parser.add_argument("--replay", default=None, help="run one case given as its reproducer (a repr) instead")
    parser.add_argument("--keep", type=Path, default=None, help="with --replay: build the case in this folder")
    return parser.parse_args(argv)


def _print_tally(row: dict) -> None:
    outcomes = ", ".join(f"{name} {n}" for name, n in row["outcomes"].items())
    print(f"{row['target']:7s} {row['cases']:6d} cases  {row['seconds']:7.1f} s  peak RSS {row['peak_rss_mib']:.0f} MiB"
          f"  slowest case {row['slowest_case_s']:.2f} s")
    print(f"        outcomes: {outcomes}")
    for failure in row["failures"]:
        print(f"        FAILURE x{failure['count']} {failure['outcome']}: {failure['detail'][:300]}")
        print(f"          reproducer: {failure['reproducer'][:2000]}")
        if failure["traceback"]:
            print("          " + failure["traceback"].strip().replace("\n", "\n          "))


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    targets = TARGETS if args.target == "all" else (get_target(args.target),)
    with Worker(case_timeout=args.case_timeout) as worker:
        if args.replay:
            reply = replay(args.replay, worker, args.keep)
            print(json.dumps(reply, indent=2))
            return 1 if reply["outcome"] in FAILURES else 0
        seed = args.seed if args.seed is not None else random.randrange(2**32)
        print(f"fuzzing {', '.join(t.name for t in targets)}: {args.examples} cases each, seed {seed}")
        rows, start = [], time.perf_counter()
        for target in targets:
            worker.peak_kib = 0
            tally = explore(target, worker, examples=args.examples, seed=seed, raise_failures=args.shrink)
            rows.append(tally.to_dict())
            _print_tally(rows[-1])
    summary = {
        "command": "python -m tests.inference.fuzzing " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": seed, "examples_per_target": args.examples, "case_timeout_s": args.case_timeout,
        "rss_limit_mib": RSS_LIMIT_KIB // 1024, "python": platform.python_version(), "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"), "wall_s": round(time.perf_counter() - start, 1),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in rows), "parent_peak_rss_mib": round(peak_parent_kib() / 1024, 1),
        "failures": sum(len(r["failures"]) for r in rows), "targets": rows,
    }
    print(f"total {sum(r['cases'] for r in rows)} cases in {summary['wall_s']} s, worker peak RSS "
          f"{summary['peak_rss_mib']:.0f} MiB, {plural(summary['failures'], 'distinct failure')}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
