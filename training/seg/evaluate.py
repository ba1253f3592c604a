"""Evaluate a segmentation model on cohort patients through the runtime path (intake -> segment).

Metrics are computed on each patient's original CE-T1 grid against its ground-truth mask, with the
runtime's own post-processing, so the figures describe what a user of the product gets.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from inference.atomic import atomic_path
from inference.backends.base import SegBackend
from inference.errors import InputError
from inference.intake import prepare_patient
from inference.segment import segment
from inference.wording import plural
from training.seg import metrics
from training.seg.fingerprints import Seen, cet1_fingerprint, cohort_fingerprint, synthetic_identity

log = logging.getLogger(__name__)


SPLITS = ("test", "validation", "train", "all")
#: what the figures of a split on the model's own patients are (``diagnostic`` in eval-seg's JSON; None: held out)
DIAGNOSTIC = {
    "train": "diagnostic only: the model was fitted on these training patients, so these figures do not measure its "
             "performance (that is --split test, or a fresh cohort with --split all)",
    "validation": "diagnostic only: these validation patients chose the kept epoch and stopped the training, so "
                  "these figures are optimistic (performance: --split test, or a fresh cohort with --split all)",
}


def add_patient_arguments(parser, default_split: str = "test") -> None:
    """``--model`` and ``--split``: which model's stored split picks the patients (``select_patients``)."""
    from inference.assets import DEFAULT_SEG_MODEL

    parser.add_argument("--model", type=Path, default=DEFAULT_SEG_MODEL,
                        help=f"model folder, its split.json picks the patients (default: the shipped "
                             f"{DEFAULT_SEG_MODEL.name})")
    parser.add_argument("--split", choices=SPLITS, default=default_split,
                        help=f"patients: the model's stored split or all (default: {default_split})")


def select_patients(cohort: Path, model_dir: Path, split: str) -> list[str]:
    """Patient ids to evaluate: the model's stored test split, or every patient with a mask.

    Raises:
        InputError: no such model folder, no stored split, or a split naming patients the cohort lacks.
    """
    from training.seg.data import list_patients

    if not Path(model_dir).is_dir():
        raise InputError(f"--model {model_dir}: model folder not found; pass a model folder (e.g. "
                         "assets/models/seg, or the --out of train-seg)")
    available = list_patients(cohort)
    if split == "all":
        return available
    split_file = Path(model_dir) / "split.json"
    if not split_file.exists():
        raise InputError(f"{split_file}: the model has no stored split; use --split all.")
    wanted = json.loads(split_file.read_text())[split]
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise InputError(
            f"the model's {split} split names {len(missing)} patients not in {cohort} (e.g. {missing[:3]}); "
            "is this the training cohort? For a different cohort use --split all."
        )
    return wanted


def evaluate(cohort: Path, ids: list[str], backend: SegBackend, *, save_masks: Path | None = None,
             progress: Callable[[int, int, str], None] | None = None, seen: Seen | None = None) -> dict:
    """Per-patient metrics and summaries by tumor-volume stratum.

    Args:
        cohort: cohort folder.
        ids: patients to evaluate.
        backend: the segmentation runtime.
        save_masks: folder for the predicted masks, or None.
        progress: ``progress(i, n, patient_id)`` after each patient.
        seen: the model's training patients (``fingerprints.load_seen``): a patient whose CE-T1 matches one, or a
            synthetic patient with the generator identity of one, is not segmented and is left out of every figure
            (listed in ``seen_in_training``); None: no check.

    Returns:
        ``patients`` (rows), ``summary``, ``backend``, ``seen_in_training`` ([{patient_id, seen_as}]) and
        ``cohort_fingerprint`` (``fingerprints.cohort_fingerprint`` of every patient in ``ids``).
    """
    rows, excluded, prints = [], [], {}
    for i, pid in enumerate(ids):
        t0 = time.perf_counter()
        prepared = prepare_patient(Path(cohort) / pid)
        prints[pid] = cet1_fingerprint(prepared.patient)
        where = seen.match(pid, prints[pid], synthetic_identity(Path(cohort) / pid)) if seen is not None else None
        if where is not None:
            excluded.append({"patient_id": pid, "seen_as": where})
            if progress:
                progress(i + 1, len(ids), pid)
            continue
        truth = prepared.patient.mask
        if truth is None:
            raise InputError(f"{pid}: no ground-truth mask to evaluate against.")
        result = segment(prepared.volumes, backend)
        spacing_zyx = truth.geometry.spacing[::-1]
        row = {"patient_id": pid, **metrics.case_metrics(result.mask.array, truth.array, spacing_zyx),
               "seconds": round(time.perf_counter() - t0, 2)}
        rows.append(row)
        if save_masks is not None:
            _write_mask(result.mask, Path(save_masks) / f"{pid}.nii.gz")
        if progress:
            progress(i + 1, len(ids), pid)
    return {"patients": rows, "summary": metrics.summarize(rows), "backend": backend.describe(),
            "seen_in_training": excluded, "cohort_fingerprint": cohort_fingerprint(prints)}


def provenance(model_dir: Path, backend: SegBackend, cohort: Path) -> dict:
    """What produced an evaluation: model folder and the sha256 of the file that ran, format, versions, time."""
    import datetime as _dt

    from inference import __version__
    from inference.audit import model_sha256
    from inference.preprocess import PREPROCESS_VERSION

    described = backend.describe()
    return {"created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "model_dir": str(Path(model_dir).resolve()), "model_file": described.get("model_file"),
            "model_sha256": model_sha256(Path(model_dir), described), "format": described.get("format"),
            "cohort_path": str(Path(cohort).resolve()),
            "versions": {"otscc-edge": __version__, "preprocess": PREPROCESS_VERSION, "numpy": np.__version__,
                         "SimpleITK": sitk.Version_VersionString(), "runtime": described.get("runtime")}}


def _write_mask(mask, path: Path) -> None:
    with atomic_path(path) as tmp:
        sitk.WriteImage(sitk.Cast(mask.to_image(), sitk.sitkUInt8), str(tmp), useCompression=True)


def format_table(result: dict) -> str:
    """Summary table by stratum (mean [median] Dice, IoU, HD95, volume error)."""
    lines = [f"{'stratum':<8} {'n':>3}  {'Dice':>13}  {'IoU':>13}  {'HD95 mm':>13}  {'vol err ml':>10}"]
    for name, s in result["summary"].items():
        if not s["n"]:
            lines.append(f"{name:<8} {0:>3}  (no patients)")
            continue

        lines.append(f"{name:<8} {s['n']:>3}  {_cell(s, 'dice'):>13}  {_cell(s, 'iou'):>13}  "
                     f"{_cell(s, 'hd95_mm', '{:.1f}'):>13}  {s['volume_error_ml']['mean']:>+10.2f}")
    lines.append("each cell: mean [median]; vol err: mean of predicted minus true volume")
    overall = result["summary"]["all"]
    if overall["n"] and overall.get("hd95_n", overall["n"]) < overall["n"]:
        lines.append(f"HD95 over {overall['hd95_n']} of {plural(overall['n'], 'patient')}: "
                     f"{plural(overall['n_missed'], 'missed tumor')} and any other empty mask have no surface distance "
                     "(hd95_mm null)")
    return "\n".join(lines)


def _cell(stats: dict, key: str, fmt: str = "{:.3f}") -> str:
    v = stats[key]
    return "n/a" if v is None else f"{fmt.format(v['mean'])} [{fmt.format(v['median'])}]"


def mean_dice(result: dict) -> float:
    return float(np.mean([r["dice"] for r in result["patients"]]))
