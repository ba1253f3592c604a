"""``otscc synth``: write a SYNTHETIC cohort (thin front over ``training.synth.write_cohort``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from inference.commands import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``otscc synth``."""
    parser.add_argument("--patients", type=positive_int, default=20, metavar="N",
                        help="number of synthetic patients to generate (default: 20)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="cohort seed; the same seed writes the same bytes (default: 0)")
    parser.add_argument("--out", default="out/synth", metavar="DIR",
                        help="output folder: new or empty, never a cohort's folder (default: out/synth)")
    parser.add_argument("--format", choices=("nifti", "dicom"), default="nifti",
                        help="image format: nifti (.nii.gz) or dicom (one series folder per sequence) "
                             "(default: nifti)")
    parser.add_argument("--preview", action="store_true",
                        help="also write <patient>/preview.png montages (default: off)")


def run(args: argparse.Namespace) -> int:
    """Generate the cohort, printing one progress line per patient to stderr and a summary.

    Raises:
        OutputError: ``--out`` is a file, already holds files (another cohort would be partly overwritten and its
            tables cut to this one's patients), or cannot be written.
    """
    from inference.errors import OutputError
    from training.synth.cohort import write_cohort

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file, not a folder; choose a new or empty folder for the cohort")
    if out.is_dir() and any(out.iterdir()):
        raise OutputError(f"{out} already holds files; a cohort is written into a new or empty folder only (writing "
                          "here would overwrite some patients, keep others and cut clinical.csv to this cohort)")
    start = time.perf_counter()
    written = [0]

    def progress(i: int, n: int, patient_id: str) -> None:
        written[0] = i
        print(f"[{i}/{n}] {patient_id} ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)

    try:
        patients = write_cohort(args.out, args.patients, args.seed, fmt=args.format,
                                preview=args.preview, progress=progress)
    except OSError as exc:
        raise OutputError(f"cannot write to {args.out}: {exc.strerror or exc}") from exc
    except KeyboardInterrupt:  # say what the folder holds before the command's "interrupted" line
        print(f"stopped after {written[0]} of {args.patients} patients: {args.out} holds no clinical.csv and is not "
              "a cohort; a run does not resume, so delete that folder and run again", file=sys.stderr, flush=True)
        raise
    positives = sum(p.clinical.lnm for p in patients)
    print(f"wrote {len(patients)} SYNTHETIC patients ({args.format}) to {args.out} in "
          f"{time.perf_counter() - start:.1f} s; LNM prevalence {positives / len(patients):.0%}")
    return 0
