"""Which patients a segmentation model saw in training, by the voxels of their CE-T1, so eval-seg can leave them out.

A synthetic patient depends only on the synth seed and its number: ``otscc synth --patients 4 --seed 100``
regenerates patients of the shipped model's training cohort under the same ids, and a real patient can be
exported twice under different names. Patient ids are therefore no evidence that a patient is new; the SHA-256 of
the CE-T1 voxel values (``inference.pipeline.volume_sha256``, the ``input_sha256`` of a result) is.

``training_patients.json`` in a model folder (written by ``train-seg``, or for an existing model with
``python -m training.seg.fingerprints --model MODEL --cohort COHORT``)::

    {"schema_version": 1, "cohort": "data/cohort136", "split_sha256": "...",
     "patients": {"train": {"SYN0001": "<cet1 sha256>", ...}, "validation": {...}},
     "synthetic": {"SYN0001": "100:SYN0001", ...},
     "init_weights": {"path": "/abs/parent/best.weights.h5", "sha256": "..."} | null}

``init_weights``: the weights ``train-seg --init-weights`` started from; the patients of that file's model
folder (its own ``training_patients.json``, else its ``split.json`` ids) count as seen too.

``synthetic`` (optional): for patients written by ``otscc synth`` (``truth.json`` with ``"synthetic": true``), the
generator identity ``"<cohort seed>:<patient id>"`` of each seen patient. A regenerated synthetic patient is the
same patient, but not always the same voxels: the generator's float32 matrix products go through OpenBLAS, which
picks its kernels by CPU (or by ``OPENBLAS_CORETYPE``), so a cohort regenerated elsewhere can differ by 1 in a few
voxels (SYN0001 of the seed-100 cohort: 3 of 5.6 million CE-T1 voxels, between OpenBLAS's Haswell and SkylakeX
kernels) and its fingerprint no longer matches. Such a patient is recognized by its identity instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inference.errors import InputError

log = logging.getLogger(__name__)

#: the record's file name in a model folder
RECORD = "training_patients.json"
SCHEMA_VERSION = 1
#: the split sets a model learned from (train: the weights; validation: the epoch / early stopping)
SEEN_SETS = ("train", "validation")


def cet1_fingerprint(patient) -> str:
    """SHA-256 of a loaded patient's CE-T1 voxel values (``inference.io.Patient``)."""
    from inference.pipeline import volume_sha256

    return volume_sha256(patient.volumes["cet1"])


def patient_fingerprint(folder: Path) -> str:
    """CE-T1 fingerprint of the patient in ``folder``, loaded as eval-seg loads it (``inference.io``)."""
    from inference.io import load_patient

    return cet1_fingerprint(load_patient(folder, load_mask=False))


def synthetic_identity(folder: Path) -> str | None:
    """``"<cohort seed>:<patient id>"`` of a patient written by ``otscc synth`` (from its ``truth.json``), else None.

    A synthetic patient is a function of the cohort seed and its id (``training.synth.cohort.generate_patient``),
    whatever folder name it is stored under.
    """
    try:
        truth = json.loads((Path(folder) / "truth.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(truth, dict) or truth.get("synthetic") is not True or "seed" not in truth \
            or "patient_id" not in truth:
        return None
    return f"{truth['seed']}:{truth['patient_id']}"


def cohort_fingerprint(pairs: dict[str, str]) -> str:
    """SHA-256 over sorted ``patient id:CE-T1 fingerprint`` lines: the same patients give the same value."""
    text = "".join(f"{pid}:{fp}\n" for pid, fp in sorted(pairs.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def record_training_patients(out_dir: Path, cohort: Path, split: dict, *, init_weights: str | Path | None = None,
                             resume: bool = True, progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Write ``out_dir/training_patients.json`` for ``split`` (train + validation of ``cohort``).

    Fingerprints already in the record for the same cohort are reused (a resumed run reads no patient again); with
    ``resume``, a record's ``init_weights`` is kept when none is given (a resumed run restores the checkpoint that
    started from them).

    Returns:
        The record's path.
    """
    from inference.atomic import write_json
    from inference.backends.manifest import sha256_file

    out_dir, cohort = Path(out_dir), Path(cohort)
    path = out_dir / RECORD
    old = _read(path) or {}
    known = {pid: fp for s in SEEN_SETS for pid, fp in old.get("patients", {}).get(s, {}).items()} \
        if old.get("cohort") == str(cohort) else {}
    ids = [(s, pid) for s in SEEN_SETS for pid in split[s]]
    patients: dict[str, dict[str, str]] = {s: {} for s in SEEN_SETS}
    synthetic: dict[str, str] = {}
    for i, (s, pid) in enumerate(ids):
        patients[s][pid] = known.get(pid) or patient_fingerprint(cohort / pid)
        if (ident := synthetic_identity(cohort / pid)) is not None:
            synthetic[pid] = ident
        if progress:
            progress(i + 1, len(ids), pid)
    init = old.get("init_weights") if resume else None
    if init_weights is not None:
        init = {"path": str(Path(init_weights).resolve()), "sha256": sha256_file(init_weights)}
    split_file = out_dir / "split.json"
    write_json(path, {"schema_version": SCHEMA_VERSION, "cohort": str(cohort),
                      "split_sha256": sha256_file(split_file) if split_file.is_file() else None,
                      "patients": patients, "synthetic": synthetic, "init_weights": init})
    return path


@dataclass
class Seen:
    """CE-T1 fingerprints, synthetic identities (and, where only ids are known, patient ids) a model learned from."""

    fingerprints: dict[str, str] = field(default_factory=dict)  # fingerprint -> "train SYN0001 of MODEL"
    ids: dict[str, str] = field(default_factory=dict)  # patient id -> where (a parent model without fingerprints)
    synthetic: dict[str, str] = field(default_factory=dict)  # "<seed>:<patient id>" of otscc synth -> where
    notes: list[str] = field(default_factory=list)  # what could not be checked
    checked: bool = False  # a record of the model's own training patients was found

    def match(self, pid: str, fingerprint: str, synthetic: str | None = None) -> str | None:
        """Where the patient was seen in training, or None.

        Args:
            pid: the patient's folder name.
            fingerprint: its CE-T1 fingerprint (``cet1_fingerprint``).
            synthetic: its ``synthetic_identity``, if it is a synthetic patient.
        """
        where = self.fingerprints.get(fingerprint) or self.ids.get(pid)
        if where is None and synthetic is not None and synthetic in self.synthetic:
            where = f"{self.synthetic[synthetic]} (the same synthetic patient, {synthetic}; voxels differ by rounding)"
        return where


def load_seen(model_dir: Path) -> Seen:
    """The training patients of ``model_dir`` and of the model its init weights came from (best effort)."""
    seen = Seen()
    model_dir = Path(model_dir)
    record = _read(model_dir / RECORD)
    if record is None:
        seen.notes.append(f"{model_dir} has no {RECORD}: overlap with its training patients cannot be checked "
                          f"(write it with python -m training.seg.fingerprints --model {model_dir} --cohort "
                          "TRAINING_COHORT)")
        return seen
    seen.checked = True
    _add_record(seen, record, model_dir)
    parent_done = {model_dir.resolve()}
    while (init := record.get("init_weights")) and init.get("path"):  # a chain of fine-tunings
        parent = Path(init["path"]).parent.resolve()
        if parent in parent_done:
            break
        parent_done.add(parent)
        record = _read(parent / RECORD)
        if record is not None:
            _add_record(seen, record, parent)
            continue
        split = _read(parent / "split.json")
        if split is None:
            seen.notes.append(f"{model_dir} started from {init['path']}, whose model folder no longer has "
                              f"{RECORD} or split.json: that model's training patients cannot be checked")
        else:
            for s in SEEN_SETS:
                seen.ids.update({p: f"{s} patient {p} of {parent} (init weights; by id)" for p in split.get(s, [])})
            seen.notes.append(f"{model_dir} started from weights of {parent}, which records ids only (split.json): "
                              "its training patients are matched by id")
        break
    return seen


def _add_record(seen: Seen, record: dict, model_dir: Path) -> None:
    synthetic = record.get("synthetic") or {}
    for s in SEEN_SETS:
        for pid, fp in record.get("patients", {}).get(s, {}).items():
            seen.fingerprints.setdefault(fp, f"{s} patient {pid} of {model_dir}")
            if pid in synthetic:
                seen.synthetic.setdefault(synthetic[pid], f"{s} patient {pid} of {model_dir}")


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); restore it, or delete it and write it again with "
                         "python -m training.seg.fingerprints") from exc
    return data if isinstance(data, dict) else None


def main(argv: list[str] | None = None) -> int:
    """``python -m training.seg.fingerprints --model MODEL --cohort COHORT``: the record of an existing model."""
    parser = argparse.ArgumentParser(prog="python -m training.seg.fingerprints", description=main.__doc__)
    parser.add_argument("--model", required=True, type=Path, help="model folder with split.json (required)")
    parser.add_argument("--cohort", required=True, type=Path, help="the cohort the model was trained on (required)")
    parser.add_argument("--init-weights", default=None,
                        help="the weights file the training started from, if any (default: none)")
    args = parser.parse_args(argv)
    split_file = args.model / "split.json"
    if not split_file.is_file():
        parser.error(f"{split_file}: no such file; --model must be a trained model folder")
    split = json.loads(split_file.read_text())
    missing = [p for s in SEEN_SETS for p in split[s] if not (args.cohort / p).is_dir()]
    if missing:
        parser.error(f"{args.cohort} lacks {len(missing)} training patients of {split_file} (e.g. {missing[:3]}): "
                     "give the cohort the model was trained on")
    from training.progress import PatientProgress

    with PatientProgress("fingerprint ") as progress:
        path = record_training_patients(args.model, args.cohort, split, init_weights=args.init_weights,
                                        progress=progress)
    print(f"{sum(len(split[s]) for s in SEEN_SETS)} training/validation patients -> {path}")  # noqa: T201 (CLI)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
