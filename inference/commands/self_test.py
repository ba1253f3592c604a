"""``otscc self-test``: check the installed product on the bundled sample patient, offline, in under a minute.

Checks, in order (each one row of a pass/fail/skip table; any failure gives exit code 1):

* **manifest**: every file the model folder's ``manifest.json`` lists for a shipped variant matches its
  SHA-256 (skipped, with a note, when the folder has no manifest: a development model);
* **reference**: the stored reference (``assets/selftest``, written by ``python -m export.packaging.reference``)
  was made from the model file that is installed now, and the sample patient's files are the ones it was
  made from;
* **registration**: T2/T1 -> CE-T1 rigid registration of the sample ends where the reference's did
  (within ``TRANSLATION_TOL_MM`` / ``ROTATION_TOL_DEG``);
* **segment <backend>/<variant>**: every backend that can run here segments the sample; its mask must
  reach Dice >= ``MIN_DICE`` with the mask the same backend and variant produced when the reference was
  made (``masks/``; a variant without one is compared with the float reference mask). The self-test asks
  "does the installed product compute what was built and validated?"; how close an int8 variant is to
  the float model is export validation's question (on the sample's 202-voxel tumor the int8 variants
  differ from the float mask by up to 32 voxels). A backend whose runtime or device is missing is
  skipped (a row says why), unless it was named with ``--backends``: then it fails. A runtime that is
  installed but fails to load, or is older than the oldest tested version, always fails its rows. The TensorFlow
  backends (keras, tf-trt) are not part of the runtime and run only when named;
* **radiomics**: every pyradiomics feature (all image types and feature classes of ``assets/radiomics.yaml``)
  inside the reference mask equals the stored value within ``FEATURE_RTOL``;
* **nomogram**: the nodal-risk probability from those features and the sample's clinical values equals the
  stored one within ``PROBABILITY_TOL``.

Segmentation, radiomics and nomogram run on the sample resampled through the *stored* registration
transforms (``prepare_registered``), radiomics inside the *stored* mask: registration is deterministic only
up to floating-point summation order (ITK's threaded metric), and a last-digit change of the transform moves
some T2 texture features by up to a few percent and an int8 mask by a few voxels. On fixed inputs every
stage gives bit-identical results run to run, so each check tests one stage and its tolerance only has to
absorb differences between CPUs, platforms and compilers. Registration is checked on its own (its result).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from inference.assets import ASSETS, DEFAULT_NOMOGRAM, DEFAULT_SEG_MODEL, SAMPLE_PATIENT
from inference.commands import THREADS_HELP, thread_count
from inference.commands.self_test_rows import Check, backend_text, seg_label
from inference.errors import InputError, OtsccError
from inference.wording import plural

SELFTEST_DIR = ASSETS / "selftest"
REFERENCE_NAME = "reference.json"
FEATURES_NAME = "features.json"
MASK_NAME = "mask.nii.gz"
SCHEMA_VERSION = 1

#: tolerances live here (code), not in reference.json, so editing the reference cannot loosen them
MIN_DICE = 0.99
FEATURE_RTOL = 1e-4  # |a - b| <= FEATURE_RTOL * |b| + FEATURE_ATOL
FEATURE_ATOL = 1e-9
PROBABILITY_TOL = 1e-4
TRANSLATION_TOL_MM = 0.05
ROTATION_TOL_DEG = 0.05
#: backends that need TensorFlow (training extra): tested only when named with --backends
TENSORFLOW_BACKENDS = ("keras", "tf-trt")
#: transform types reference.json may name (SimpleITK classes; nothing else is instantiated from the file)
RIGID_TRANSFORMS = ("Euler3DTransform", "VersorRigid3DTransform")
REGENERATE = "regenerate it with `python -m export.packaging.reference` (development checkout)"


@dataclass(frozen=True)
class SegCandidate:
    backend: str
    variant: str | None
    device: str | None = None  # None: the backend's default device
    named: bool = False  # asked for with --backends: unavailable is a failure, not a skip

    @property
    def label(self) -> str:
        """``litert/tflite-int8``; ``litert`` for a backend named without a format (``self_test_rows``)."""
        return seg_label(self.backend, self.variant, self.device)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--backends", nargs="+", metavar="NAME",
      help="segmentation backends to test: backend names (litert, openvino, ...), format names (tflite-int8, "
           "...) or BACKEND:FORMAT (default: every backend that can run here, except the TensorFlow ones)")
    a("--json", action="store_true", help="print the checks as JSON instead of a table (default: table)")
    a("--model", default=str(DEFAULT_SEG_MODEL), help="segmentation model folder (default: the shipped one)")
    a("--nomogram", default=str(DEFAULT_NOMOGRAM), help="nomogram JSON (default: the shipped one)")
    a("--reference", default=str(SELFTEST_DIR), help="self-test reference folder (default: the shipped one)")
    a("--threads", type=thread_count, default=None,
      help=f"CPU threads for the backends; {THREADS_HELP} (default: each backend's choice)")
    a("--save-features", metavar="FILE.json",
      help="also write the radiomics features computed here, to compare two installs exactly (default: none)")


# -- reference ---------------------------------------------------------------------------------------------
def sample_hashes(sample_dir: Path) -> dict[str, str]:
    """SHA-256 of every file of the sample patient, by name (sorted)."""
    from inference.backends.manifest import sha256_file

    return {p.name: sha256_file(p) for p in sorted(Path(sample_dir).iterdir()) if p.is_file()}


def registration_summary(prepared) -> dict[str, dict]:
    """Per moving sequence: translation (mm), rotation (deg), whether skipped, and the transform itself."""
    return {role: {"translation_mm": [float(v) for v in r.translation_mm],
                   "rotation_deg": [float(v) for v in r.rotation_deg], "skipped": bool(r.skipped),
                   "transform": r.to_dict()["transform"]}
            for role, r in sorted(prepared.registrations.items())}


def prepare_registered(sample_dir: Path, registration: dict):
    """The sample on the CE-T1 grid through the *stored* transforms (plain data: a rigid type and numbers).

    Same resampling as the pipeline's, without running the optimizer: the inputs are bit-identical every run.
    A fresh registration differs from run to run in the last bits (ITK's threaded metric), which moves an
    int8 mask by a few voxels; the registration itself is checked separately.
    """
    import SimpleITK as sitk

    from inference.intake import PreparedPatient
    from inference.io import load_patient
    from inference.registration import resample_to

    patient = load_patient(sample_dir)
    fixed = patient.volumes["cet1"]
    volumes = {"cet1": fixed}
    for role, record in sorted(registration.items()):
        spec = record.get("transform", {})
        if spec.get("type") not in RIGID_TRANSFORMS:
            raise OtsccError(f"reference.json: transform of {role} is {spec.get('type')!r}, not one of "
                             f"{', '.join(RIGID_TRANSFORMS)}; {REGENERATE}")
        transform = getattr(sitk, spec["type"])()
        transform.SetFixedParameters([float(v) for v in spec["fixed_parameters"]])
        transform.SetParameters([float(v) for v in spec["parameters"]])
        volumes[role] = resample_to(patient.volumes[role], fixed.geometry, transform)
    return PreparedPatient(patient, volumes, registrations={})


def mask_key(backend: str, variant: str | None) -> str:
    """Key of a stored per-variant mask in reference.json (``litert/tflite-int8``)."""
    return f"{backend}/{variant}"


def mask_file(backend: str, variant: str | None, index: int = 0) -> str:
    """File of a stored per-variant mask (``index``: which compute path), relative to the reference folder."""
    return f"masks/{backend}__{variant}_{index}.nii.gz"


def read_mask(path: Path):
    import SimpleITK as sitk

    from inference.volume import Volume

    return Volume.from_image(sitk.ReadImage(str(path)), dtype=None)


@dataclass
class Reference:
    """The stored reference: reference.json, the features, the float mask and the per-variant masks."""

    folder: Path
    data: dict
    features: dict
    mask: object  # Volume: the mask of the reference backend (float model), radiomics are taken inside it

    def masks_for(self, backend: str, variant: str | None) -> list[tuple[object, dict | None]]:
        """[(mask Volume, its reference.json entry), ...] stored for this backend/variant: one per compute
        precision seen when the reference was made (OpenVINO computes int8 models in bf16 on CPUs that have
        it, in f32 elsewhere: masks differ by a few voxels). ``[(float mask, None)]`` when none is stored."""
        entries = self.data.get("masks", {}).get(mask_key(backend, variant))
        if not entries:
            return [(self.mask, None)]
        try:
            return [(read_mask(self.folder / e["file"]), e) for e in entries]
        except (OSError, RuntimeError, KeyError, TypeError) as exc:
            raise OtsccError(f"{self.folder}: stored mask of {mask_key(backend, variant)} unreadable ({exc}); "
                             f"{REGENERATE}") from exc


def load_reference(folder: Path) -> Reference:
    """The reference stored in ``folder``.

    Raises:
        OtsccError: missing or unreadable files (the message says how to regenerate them).
    """
    try:
        data = json.loads((folder / REFERENCE_NAME).read_text())
        features = json.loads((folder / FEATURES_NAME).read_text())
        mask = read_mask(folder / MASK_NAME)
    except (OSError, ValueError, RuntimeError) as exc:  # SimpleITK raises RuntimeError for unreadable files
        raise OtsccError(f"{folder}: no usable self-test reference ({exc}); {REGENERATE}") from exc
    if data.get("schema_version") != SCHEMA_VERSION or not isinstance(features, dict):
        raise OtsccError(f"{folder}: reference of another schema ({data.get('schema_version')}); {REGENERATE}")
    return Reference(folder, data, features, mask)


# -- checks --------------------------------------------------------------------------------------------------
def check_manifest(model_dir: Path) -> list[Check]:
    """One row per shipped variant of the manifest (and one for the float reference files present)."""
    from inference.backends.manifest import find_manifest, verify_records
    from inference.errors import ModelIntegrityError

    try:
        manifest = find_manifest(model_dir)
    except ModelIntegrityError as exc:
        return [Check("manifest", "fail", str(exc))]
    if manifest is None:
        return [Check("manifest", "skip", f"no manifest.json for {model_dir}: model files are not hash-checked")]
    rows = []
    groups = {name: v.get("files", []) for name, v in manifest.shipped().items()}
    formats = {name: v.get("format") for name, v in manifest.shipped().items()}
    reference = [r for r in manifest.data.get("reference", {}).get("files", [])
                 if (manifest.root / r["path"]).is_file()]  # the float weights are training-only, maybe absent
    if reference:
        groups["float reference"] = reference
    for name, records in groups.items():
        start = time.perf_counter()
        try:
            verify_records(manifest, records, name)
            rows.append(Check(f"manifest {name}", "pass", f"{plural(len(records), 'file')}, SHA-256 match",
                              time.perf_counter() - start, format=formats.get(name)))
        except ModelIntegrityError as exc:
            rows.append(Check(f"manifest {name}", "fail", str(exc), time.perf_counter() - start,
                              format=formats.get(name)))
    return rows or [Check("manifest", "fail", f"{manifest.path} lists no shipped variant")]


def check_reference(reference: dict, model_dir: Path, sample_dir: Path, nomogram: Path,
                    reference_dir: Path = SELFTEST_DIR) -> list[Check]:
    """The reference was made from the installed model file, sample files, radiomics parameters and nomogram."""
    from inference.backends.manifest import sha256_file
    from inference.commands.self_test_model import file_mismatch, rewrite_hint
    from inference.radiomics import DEFAULT_PARAMS

    made = reference.get("made_by", {})
    model_file = model_dir / str(made.get("model_file"))
    fmt = made.get("format")
    rows = []
    mismatch = file_mismatch(model_dir, model_file.name, made.get("model_sha256"))
    if mismatch is not None:  # both hashes and the command for this model: `--model OTHER` is the usual cause
        rows.append(Check("reference model", "fail", f"the stored reference is for another model ({mismatch}); "
                                                     f"{rewrite_hint(model_dir, reference_dir)}", format=fmt))
    else:
        rows.append(Check("reference model", "pass", f"made by {seg_label(str(made.get('backend')), fmt)} "
                                                     f"with this {model_file.name}", format=fmt))
    expected, actual = reference.get("sample", {}).get("files", {}), sample_hashes(sample_dir)
    changed = sorted(n for n in expected.keys() | actual.keys() if expected.get(n) != actual.get(n))
    rows.append(Check("sample patient", "fail" if changed else "pass",
                      f"differs from the reference: {', '.join(changed)}" if changed
                      else f"{len(actual)} files match the reference"))
    changed = [name for name, path, recorded in (
        ("radiomics parameters", DEFAULT_PARAMS, reference.get("radiomics", {}).get("params_sha256")),
        ("nomogram", nomogram, reference.get("nomogram", {}).get("sha256"))) if sha256_file(path) != recorded]
    rows.append(Check("reference inputs", "fail" if changed else "pass",
                      f"{' and '.join(changed)} differ from the reference's; {REGENERATE}" if changed
                      else "radiomics parameters and nomogram match the reference"))
    return rows


def check_registration(prepared, reference: dict) -> Check:
    actual, expected = registration_summary(prepared), reference.get("registration", {})
    if set(actual) != set(expected):
        return Check("registration", "fail", f"sequences {sorted(actual)} vs reference {sorted(expected)}")
    dt = max(abs(a - b) for r in actual for a, b in zip(actual[r]["translation_mm"],
                                                        expected[r]["translation_mm"], strict=True))
    dr = max(abs(a - b) for r in actual for a, b in zip(actual[r]["rotation_deg"],
                                                        expected[r]["rotation_deg"], strict=True))
    ok = dt <= TRANSLATION_TOL_MM and dr <= ROTATION_TOL_DEG
    return Check("registration", "pass" if ok else "fail",
                 f"max deviation {dt:.2g} mm (tol {TRANSLATION_TOL_MM}), {dr:.2g} deg (tol {ROTATION_TOL_DEG})",
                 value=max(dt, dr))


def seg_candidates(model_dir: Path, requested: list[str] | None) -> list[SegCandidate]:
    """Backend x variant pairs to test: the formats table over the files present, plus accelerator devices."""
    from inference.backends.base import AUTO_ORDER, BACKENDS
    from inference.formats import FORMATS, get_format

    if requested:
        out = []
        for item in requested:
            backend, _, variant = item.partition(":")
            if backend in BACKENDS:
                out.append(SegCandidate(backend, variant or None, named=True))
            elif not variant and backend in {f.name for f in FORMATS}:
                out.extend(SegCandidate(r, backend, named=True) for r in get_format(backend).runtimes)
            else:
                valid = ", ".join(dict.fromkeys([*BACKENDS, *(f.name for f in FORMATS)]))  # keras, tf-trt: once
                raise InputError(f"--backends: unknown {item!r}; use a backend or format name ({valid}) "
                                 "or BACKEND:FORMAT")
        return out
    pairs = [SegCandidate(r, f.name) for f in FORMATS if (model_dir / f.file).exists()
             for r in f.runtimes if r not in TENSORFLOW_BACKENDS]
    # backends that run on the CPU by default but also on a GPU/NPU: add their accelerator tries from AUTO_ORDER
    # (GPU-only backends such as litert-gpu and tensorrt already run on their device in ``pairs``)
    multi_device = {c.backend for c in AUTO_ORDER if c.device == "cpu"}
    accelerators = [SegCandidate(c.backend, c.variant, c.device) for c in AUTO_ORDER
                    if c.device != "cpu" and c.backend in multi_device and c.backend not in TENSORFLOW_BACKENDS
                    and any(p.backend == c.backend for p in pairs)]
    return pairs + accelerators


def dice(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    total = int(a.sum() + b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def check_backend(candidate: SegCandidate, prepared, reference: Reference | None, model_dir: Path,
                  threads: int | None) -> Check:
    """Load one backend, segment the prepared sample and compare with the mask stored for its variant (Dice).

    A variant is compared with the mask the same backend and variant produced when the reference was made
    (int8 variants legitimately differ from the float model by a few voxels; export validation judges that).
    A variant without a stored mask is compared with the float reference mask.
    """
    from inference.backends.base import BackendUnavailableError, BrokenRuntimeError, load_backend, self_check
    from inference.commands.self_test_model import file_mismatch, rewrite_hint
    from inference.errors import ModelIntegrityError
    from inference.segment import segment

    name, fmt = f"segment {candidate.label}", candidate.variant
    start = time.perf_counter()
    try:
        backend = load_backend(candidate.backend, model_dir, variant=candidate.variant, device=candidate.device,
                               threads=threads)
    except ModelIntegrityError as exc:
        return Check(name, "fail", str(exc), time.perf_counter() - start, format=fmt)
    except BrokenRuntimeError as exc:  # installed but unusable: a broken install, named or not
        return Check(name, "fail", f"runtime broken: {exc}", time.perf_counter() - start, format=fmt)
    except BackendUnavailableError as exc:
        return Check(name, "fail" if candidate.named else "skip", f"not available here: {exc}",
                     time.perf_counter() - start, format=fmt)
    # named by what loaded: ``--backends litert`` runs litert's default format, and the row says which
    name, fmt = f"segment {seg_label(backend.name, backend.format_name, candidate.device)}", backend.format_name
    try:
        self_check(backend)
        result = segment(prepared.volumes, backend)
    except (BackendUnavailableError, RuntimeError, ValueError) as exc:
        return Check(name, "fail", f"{type(exc).__name__}: {exc}", time.perf_counter() - start, format=fmt)
    finally:
        backend.close()
    seconds = time.perf_counter() - start
    key = mask_key(backend.name, backend.format_name)
    try:
        stored = reference.masks_for(backend.name, backend.format_name)
    except OtsccError as exc:
        return Check(name, "fail", str(exc), seconds, format=fmt)
    recorded = stored[0][1]
    mismatch = None if recorded is None else file_mismatch(model_dir, str(backend.model_file),
                                                           recorded.get("model_sha256"))
    if mismatch is not None:
        return Check(name, "fail", f"the stored mask of {key} is for another model ({mismatch}); "
                                   f"{rewrite_hint(model_dir, reference.folder)}", seconds, format=fmt)
    score, entry = max(((dice(result.mask.array, m.array), e) for m, e in stored), key=lambda pair: pair[0])
    if entry is None:
        against = "the float reference mask (no stored mask for it)"
    else:
        made_on = f"; made on {entry['cpu']}" if entry.get("cpu") else ""
        against = "its stored mask" + (f" ({entry.get('device')}{made_on})" if len(stored) > 1 else "")
    versus_float = "" if entry is None else f"; {dice(result.mask.array, reference.mask.array):.4f} vs the float mask"
    return Check(name, "pass" if score >= MIN_DICE else "fail",
                 f"Dice {score:.4f} (>= {MIN_DICE}) vs {against}{versus_float}; "
                 f"{int((result.mask.array > 0).sum())} voxels; {backend.model_file} on {backend.device}", seconds,
                 score, format=fmt)


def feature_deviations(actual: dict[str, float], expected: dict[str, float]) -> tuple[list[str], float]:
    """(names outside tolerance or missing on either side, largest relative deviation)."""
    bad, worst = sorted(set(actual) ^ set(expected)), 0.0
    for key in sorted(set(actual) & set(expected)):
        a, b = float(actual[key]), float(expected[key])
        diff = abs(a - b)
        worst = max(worst, diff / abs(b) if b else diff)
        if not diff <= FEATURE_RTOL * abs(b) + FEATURE_ATOL:  # written so NaN fails
            bad.append(key)
    return bad, worst


def check_scores(prediction, features: dict, reference: dict, seconds: float) -> list[Check]:
    actual = prediction.features.features
    bad, worst = feature_deviations(actual, features)
    shown = ", ".join(f"{k} {actual.get(k)!r} vs {features.get(k)!r}" for k in bad[:3])
    radiomics = Check("radiomics", "fail" if bad else "pass",
                      f"{len(bad)} of {len(features)} features off: {shown}" if bad else
                      f"{len(features)} features, max relative deviation {worst:.2g} (tol {FEATURE_RTOL})",
                      seconds, worst)
    expected = reference.get("nomogram", {}).get("probability")
    probability = prediction.score.probability if prediction.score is not None else float("nan")
    if not isinstance(expected, (int, float)):
        return [radiomics, Check("nomogram", "fail", f"reference.json has no nomogram probability; {REGENERATE}")]
    diff = abs(probability - expected)
    nomogram = Check("nomogram", "pass" if diff <= PROBABILITY_TOL else "fail",
                     f"probability {probability:.6f} vs reference {expected:.6f} (tol {PROBABILITY_TOL})", value=diff)
    return [radiomics, nomogram]


# -- driver ----------------------------------------------------------------------------------------------------
def run_self_test(*, model_dir: Path = DEFAULT_SEG_MODEL, nomogram: Path = DEFAULT_NOMOGRAM,
                  reference_dir: Path = SELFTEST_DIR, sample_dir: Path = SAMPLE_PATIENT,
                  backends: list[str] | None = None, threads: int | None = None,
                  features_out: Path | None = None) -> list[Check]:
    """Every check, in order; never raises for a failing check (it becomes a ``fail`` row).

    ``features_out``: write the radiomics features computed here as JSON.

    Raises:
        OtsccError: the reference or the sample cannot be read at all, or ``backends`` names nothing known.
    """
    from inference.backends.base import BackendUnavailableError
    from inference.errors import InputError, ModelIntegrityError
    from inference.pipeline import Pipeline, load_clinical

    model_dir, reference_dir, sample_dir = Path(model_dir), Path(reference_dir), Path(sample_dir)
    candidates = seg_candidates(model_dir, backends)
    checks = check_manifest(model_dir)
    reference = load_reference(reference_dir)
    checks += check_reference(reference.data, model_dir, sample_dir, Path(nomogram), reference_dir)
    start = time.perf_counter()
    try:
        pipeline = Pipeline(model_dir=model_dir, nomogram=nomogram, backend="auto", threads=threads)
    except (BackendUnavailableError, ModelIntegrityError, InputError) as exc:  # e.g. no such model folder
        return [*checks, Check("auto backend", "fail", str(exc), time.perf_counter() - start)]
    checks.append(Check("auto backend", "pass", backend_text(pipeline.backend), time.perf_counter() - start,
                        format=pipeline.backend.format_name))
    start = time.perf_counter()
    registration = check_registration(pipeline.prepare(sample_dir, register="auto"), reference.data)
    registration.seconds = time.perf_counter() - start
    checks.append(registration)
    fixed = prepare_registered(sample_dir, reference.data.get("registration", {}))
    if not fixed.volumes["cet1"].geometry.same_space(reference.mask.geometry):
        raise OtsccError(f"the reference mask is not on the sample's CE-T1 grid; {REGENERATE}")
    seg_rows = [check_backend(c, fixed, reference, model_dir, threads) for c in candidates]
    if not any(r.status == "pass" for r in seg_rows):
        from inference.commands.self_test_model import nothing_compared

        tested = "those --backends named" if backends else "every backend that can run here"
        why = nothing_compared(reference.data, model_dir, reference_dir)  # a reference for another model
        seg_rows.append(Check("segment (any backend)", "fail",
                              why or f"none of the backends tested ({tested}) segmented the sample"))
    checks += seg_rows
    start = time.perf_counter()
    prediction = pipeline.score(fixed, reference.mask, load_clinical(sample_dir))
    checks += check_scores(prediction, reference.features, reference.data, time.perf_counter() - start)
    if features_out is not None:
        from inference.atomic import write_json

        write_json(features_out, prediction.features.features)
    pipeline.backend.close()
    return checks


def environment() -> dict:
    from inference import __version__

    return {"otscc_edge": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "machine": platform.machine(), "frozen": bool(getattr(sys, "frozen", False))}


def format_table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'CHECK':<{width}}  RESULT  {'TIME':>6}  DETAIL"]
    lines += [f"{c.name:<{width}}  {c.status.upper():<6}  {c.seconds:5.1f}s  {c.detail}" for c in checks]
    counts = {s: sum(c.status == s for c in checks) for s in ("pass", "fail", "skip")}
    verdict = "FAILED" if counts["fail"] else "PASSED"
    lines.append(f"self-test {verdict}: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from inference.outputs import check_output_file

    start = time.perf_counter()
    # checked first: a folder given as --save-features used to fail after every check, with no table printed
    features_out = check_output_file(args.save_features, "--save-features") if args.save_features else None
    checks = run_self_test(model_dir=Path(args.model), nomogram=Path(args.nomogram),
                           reference_dir=Path(args.reference), backends=args.backends, threads=args.threads,
                           features_out=features_out)
    failed = any(c.status == "fail" for c in checks)
    if args.json:
        json.dump({"passed": not failed, "seconds": round(time.perf_counter() - start, 2),
                   "environment": environment(), "checks": [asdict(c) for c in checks]}, sys.stdout, indent=2)
        print()
    else:
        env = environment()
        print(f"otscc-edge {env['otscc_edge']} self-test on {env['platform']}"
              + (" (installed bundle)" if env["frozen"] else ""))
        print(format_table(checks))
    return 1 if failed else 0
