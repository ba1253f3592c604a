"""``python -m export.commands.assets_manifest [--check]``: record the SHA-256 of the shipped parameter files.

``assets/manifest.json`` lists ``nomogram.json``, ``nomogram.clinical.json`` and ``radiomics.yaml`` with their
hashes; ``Nomogram.load`` and ``load_params`` refuse a listed file whose bytes differ. Run this after changing
one of them on purpose (e.g. a new ``otscc fit-nomogram --out assets/nomogram.json``); ``--check`` only
reports what is stale (exit code 1), as the test suite does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inference.assets import ASSETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assets", type=Path, default=ASSETS, help=f"assets folder (default: {ASSETS})")
    parser.add_argument("--check", action="store_true",
                        help="only check that the manifest matches the files; exit 1 if not (default: rewrite it)")


def run(args: argparse.Namespace) -> int:
    from export.manifest import parameter_manifest_problems, write_parameter_manifest

    problems = parameter_manifest_problems(args.assets)
    if args.check:
        for problem in problems:
            print(f"stale: {problem}", file=sys.stderr)
        print("assets manifest " + ("is stale; run `python -m export.commands.assets_manifest`" if problems
                                    else "matches the shipped parameter files"))
        return 1 if problems else 0
    path = write_parameter_manifest(args.assets)
    print(f"{path} written" + (f" ({'; '.join(problems)})" if problems else " (unchanged)"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.commands.assets_manifest",
                                     description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
