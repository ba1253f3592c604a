"""``python -m export.packaging.reference``: write the reference ``otscc self-test`` compares against.

Runs the float model on a TensorFlow-free runtime (default: LiteRT ``tflite-fp32``, the exported float
network; export validation checks it against the Keras float reference) on the bundled sample patient and
writes into ``assets/selftest/``:

* ``mask.nii.gz``: the float model's segmentation on the CE-T1 grid (uint8 0/1); radiomics are taken in it;
* ``masks/<backend>__<variant>.nii.gz``: the mask of every other backend/variant pair that runs here (CPU),
  with the SHA-256 of the model file that made it: the self-test compares each pair with its own mask;
* ``features.json``: every pyradiomics feature inside that mask.

Segmentation and radiomics use the sample resampled through the stored registration transforms
(bit-identical inputs every run; see ``inference.commands.self_test`` for why).
* ``reference.json``: the nodal-risk probability, the registration result, SHA-256 of the sample's files,
  and provenance: which backend, model file (and its SHA-256), library versions, platform and date.

Re-run it (and commit the three files) whenever the shipped model, the sample patient, the radiomics
parameters or the nomogram change; ``otscc self-test`` fails until then. It refuses to run, before writing
anything, on a machine where a CPU variant cannot run (a runtime missing, or OpenVINO int8 without VNNI).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import platform
import shutil
import sys
from pathlib import Path

import numpy as np

from inference.assets import DEFAULT_NOMOGRAM, DEFAULT_SEG_MODEL, SAMPLE_PATIENT
from inference.atomic import atomic_path, write_json
from inference.commands.self_test import (
    FEATURES_NAME,
    MASK_NAME,
    REFERENCE_NAME,
    SCHEMA_VERSION,
    SELFTEST_DIR,
    dice,
    load_reference,
    mask_file,
    mask_key,
    prepare_registered,
    registration_summary,
    sample_hashes,
    seg_candidates,
)
from inference.errors import OtsccError
from inference.wording import plural

log = logging.getLogger(__name__)

#: extra backend options whose compute path a clinic machine may take instead of this one's: OpenVINO runs
#: int8 IR in bf16 on CPUs with AVX512-BF16/AMX (this machine) and in f32 elsewhere (most laptops); the two
#: masks differ by a few voxels, so both are stored and the self-test accepts either
ALTERNATIVES = {"openvino": ({"precision_hint": "f32"},)}


def make_reference(*, out: Path = SELFTEST_DIR, backend: str = "tflite-fp32", model_dir: Path = DEFAULT_SEG_MODEL,
                   nomogram: Path = DEFAULT_NOMOGRAM, sample_dir: Path = SAMPLE_PATIENT) -> dict:
    """Compute and write the reference; returns the reference.json content.

    Args:
        out: folder to write (created).
        backend: backend or format name for ``Pipeline`` (must not need TensorFlow: the bundle cannot).
        model_dir, nomogram, sample_dir: the shipped model folder, nomogram and sample patient.
    """
    from inference.backends.manifest import sha256_file
    from inference.pipeline import Pipeline, load_clinical
    from inference.radiomics import DEFAULT_PARAMS

    refuse_on_a_cpu_that_cannot_run_every_variant(model_dir)
    pipeline = Pipeline(model_dir=model_dir, nomogram=nomogram, backend=backend, threads=None)
    described = pipeline.backend.describe()
    registration = registration_summary(pipeline.prepare(sample_dir, register="auto"))
    prepared = prepare_registered(sample_dir, registration)  # fixed inputs, as the self-test rebuilds them
    mask = pipeline.segment(prepared).mask
    clinical = load_clinical(sample_dir)
    prediction = pipeline.score(prepared, mask, clinical)
    out.mkdir(parents=True, exist_ok=True)
    _write_mask(mask, out / MASK_NAME)
    masks = {mask_key(described["backend"], described["format"]): [_mask_entry(
        MASK_NAME, mask, mask, model_dir, described)]}
    shutil.rmtree(out / "masks", ignore_errors=True)
    for other, info in _cpu_variant_masks(model_dir, prepared):
        entries = masks.setdefault(mask_key(info["backend"], info["format"]), [])
        if any(e["device"] == info["device"] for e in entries):
            continue  # this compute path is stored already
        name = mask_file(info["backend"], info["format"], len(entries))
        _write_mask(other, out / name)
        entries.append(_mask_entry(name, other, mask, model_dir, info))
    features = {k: float(v) for k, v in sorted(prediction.features.features.items())}
    write_json(out / FEATURES_NAME, features)
    voxels = int(np.count_nonzero(mask.array))
    data = {
        "schema_version": SCHEMA_VERSION,
        "what": "reference values of `otscc self-test` (made by `python -m export.packaging.reference`)",
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "made_by": {"backend": described["backend"], "format": described["format"],
                    "runtime": described["runtime"], "device": described["device"],
                    "model_file": described["model_file"],
                    "model_sha256": sha256_file(Path(model_dir) / described["model_file"])},
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        "machine": platform.machine(),
                        **{k: prediction.features.provenance[k] for k in ("pyradiomics", "SimpleITK", "numpy")}},
        "sample": {"folder": Path(sample_dir).name, "files": sample_hashes(sample_dir), "clinical": clinical},
        "registration": registration,
        "mask": {"file": MASK_NAME, "voxels": voxels,
                 "volume_ml": round(voxels * mask.geometry.voxel_volume_ml, 4)},
        "masks": masks,
        "inputs": "segmentation and radiomics: the sample resampled through the stored registration transforms",
        "radiomics": {"file": FEATURES_NAME, "count": len(features),
                      "params_sha256": sha256_file(DEFAULT_PARAMS), "mask": MASK_NAME},
        "nomogram": {"sha256": sha256_file(nomogram), "probability": float(prediction.score.probability),
                     "risk_group": prediction.score.risk_group},
    }
    write_json(out / REFERENCE_NAME, data)
    return data


def refuse_on_a_cpu_that_cannot_run_every_variant(model_dir: Path) -> None:
    """Raise ``OtsccError`` when a CPU backend/variant pair of the model folder cannot run here (its runtime is not
    installed, or it refuses this CPU: ``NotValidatedOnThisCPU``), before anything is written: a reference made
    here would store no mask for it, and the self-test on machines that do run it would compare it with the float
    mask instead of its own (OpenVINO int8: Dice 0.988 < 0.99, a false failure)."""
    from inference.backends.base import AUTO_ORDER, BackendUnavailableError, load_backend

    cpu_backends = {c.backend for c in AUTO_ORDER if c.device == "cpu"}
    refused = []
    for candidate in seg_candidates(model_dir, None):
        if candidate.device is not None or candidate.backend not in cpu_backends:
            continue  # accelerator tries and GPU-only backends: never stored (no GPU/NPU reference)
        try:
            load_backend(candidate.backend, model_dir, variant=candidate.variant).close()
        except BackendUnavailableError as exc:
            refused.append(f"{candidate.label}: {exc}")
    if refused:
        raise OtsccError("not writing a reference here: it needs the mask of every CPU variant, and these cannot "
                         "run on this machine; make the reference where all of them run (every runtime installed; "
                         "AVX512-VNNI/AVX-VNNI/AMX for OpenVINO int8), then add this CPU's masks with "
                         "--add-compute-paths. " + "; ".join(refused))


def add_compute_paths(*, out: Path = SELFTEST_DIR, model_dir: Path = DEFAULT_SEG_MODEL) -> list[dict]:
    """Add to an existing reference the masks this machine's CPU makes where they differ from every stored
    mask of the same backend/variant; returns the added entries. Everything else stays as it was.

    Int8 arithmetic depends on the instruction set: a variant's mask on one CPU can differ by a few voxels from
    the one made on another (OpenVINO's int8 IR without VNNI: Dice 0.982 on the sample; that pair is now refused
    on such CPUs, as it failed validation there), so a reference made on one CPU can fail the self-test on the
    other. Run this on a machine of the other kind after the variant was validated there (``docs/export.md``).
    """
    from export.benchmark import device_facts

    reference = load_reference(out)
    prepared = prepare_registered(SAMPLE_PATIENT, reference.data["registration"])
    facts = device_facts()
    cpu = f"{facts['cpu']} ({' '.join(facts['isa'])})"
    added = []
    for mask, info in _cpu_variant_masks(model_dir, prepared):
        key = mask_key(info["backend"], info["format"])
        stored = reference.masks_for(info["backend"], info["format"])
        if any(dice(mask.array, m.array) == 1.0 for m, _ in stored):
            continue  # a compute path the reference has already
        entries = reference.data["masks"].setdefault(key, [])
        name = mask_file(info["backend"], info["format"], len(entries))
        _write_mask(mask, out / name)
        entry = {**_mask_entry(name, mask, reference.mask, model_dir, info), "cpu": cpu}
        entries.append(entry)
        added.append({"key": key, **entry})
    if added:
        write_json(out / REFERENCE_NAME, reference.data)
    return added


def _cpu_variant_masks(model_dir: Path, prepared):
    """(mask, describe()) of every CPU backend/variant pair that runs here, with each ``ALTERNATIVES`` option."""
    for candidate in seg_candidates(model_dir, None):
        if candidate.device is not None:  # accelerator tries: never made here (no GPU/NPU reference)
            continue
        for options in ({}, *ALTERNATIVES.get(candidate.backend, ())):
            made = _variant_mask(candidate, model_dir, prepared, options)
            if made is not None:
                yield made


def _write_mask(mask, path: Path) -> None:
    import SimpleITK as sitk

    with atomic_path(path) as tmp:
        sitk.WriteImage(sitk.Cast(mask.to_image(), sitk.sitkUInt8), str(tmp), True)


def _mask_entry(name: str, mask, float_mask, model_dir: Path, described: dict) -> dict:
    from inference.backends.manifest import sha256_file

    return {"file": name, "voxels": int(np.count_nonzero(mask.array)),
            "dice_vs_float": round(dice(mask.array, float_mask.array), 4), "runtime": described["runtime"],
            "device": described["device"], "model_file": described["model_file"],
            "model_sha256": sha256_file(Path(model_dir) / described["model_file"])}


def _variant_mask(candidate, model_dir: Path, prepared, options: dict):
    """(mask, describe()) of one backend/variant on the prepared sample, or None when it cannot run here."""
    from inference.backends.base import BackendUnavailableError, load_backend, self_check
    from inference.segment import segment

    try:
        backend = load_backend(candidate.backend, model_dir, variant=candidate.variant, **options)
        self_check(backend)
    except BackendUnavailableError as exc:
        log.warning("no stored mask for %s: %s", candidate.label, exc)
        return None
    try:
        return segment(prepared.volumes, backend).mask, backend.describe()
    finally:
        backend.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.packaging.reference", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(SELFTEST_DIR), help=f"output folder (default: {SELFTEST_DIR})")
    parser.add_argument("--backend", default="tflite-fp32",
                        help="backend or format that makes the reference mask; TensorFlow-free (default: tflite-fp32)")
    parser.add_argument("--model", default=str(DEFAULT_SEG_MODEL), help="model folder (default: the shipped one)")
    parser.add_argument("--add-compute-paths", action="store_true",
                        help="keep the reference; add the per-variant masks this CPU makes where they differ from "
                             "the stored ones (int8 on another instruction set) (default: write a new reference)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.add_compute_paths:
        added = add_compute_paths(out=Path(args.out), model_dir=Path(args.model))
        for e in added:
            sys.stdout.write(f"added {e['key']}: {e['voxels']} voxels, Dice vs float {e['dice_vs_float']:.4f}, "
                             f"{e['device']}, {e['cpu']}\n")
        sys.stdout.write(f"{plural(len(added), 'compute path')} added to {args.out}\n")
        return 0
    try:
        data = make_reference(out=Path(args.out), backend=args.backend, model_dir=Path(args.model))
    except OtsccError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    made = data["made_by"]
    sys.stdout.write(f"wrote {args.out}: float mask {data['mask']['voxels']} voxels made by {made['backend']}/"
                     f"{made['format']}, {data['radiomics']['count']} features, "
                     f"probability {data['nomogram']['probability']:.4f}\n")
    for key, entries in data["masks"].items():
        for e in entries:
            sys.stdout.write(f"  {key:<24} {e['voxels']:>4} voxels, Dice vs float {e['dice_vs_float']:.4f}, "
                             f"{e['device']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
