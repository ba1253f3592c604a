"""pyradiomics wrapper: parameter file, multiparametric extraction, provenance.

Parameters come from ``assets/radiomics.yaml`` (validated by pyradiomics' own schema when the extractor is
built). Features are extracted inside the mask from CE-T1 and T2 and prefixed with the sequence name
(``cet1_original_firstorder_Mean``); shape features depend on the mask alone and are kept once. Every
result carries provenance: versions, settings, image and mask hashes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import yaml

from inference.assets import ASSETS
from inference.backends.manifest import read_parameter_file
from inference.errors import CancelledError, RadiomicsError  # noqa: F401 (RadiomicsError: defined there for the GUI)
from inference.volume import Volume

log = logging.getLogger(__name__)

DEFAULT_PARAMS = ASSETS / "radiomics.yaml"
SEQUENCES = ("cet1", "t2")

Cancelled = Callable[[], bool]


@dataclass
class FeatureSet:
    """Named features of one patient and where they came from."""

    features: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)


class RadiomicsParams(dict):
    """The parameter mapping (pyradiomics gets a plain ``dict`` copy) and how its file was checked."""

    integrity: str = "not checked"  #: "sha256 verified (manifest.json)" or "unverified: no manifest.json"
    sha256: str | None = None


def load_params(path: str | Path = DEFAULT_PARAMS) -> RadiomicsParams:
    """Read a pyradiomics YAML parameter file (plain data: ``yaml.safe_load``, no objects are constructed).

    The file is first checked against ``manifest.json`` beside it (``assets/manifest.json`` for the shipped one).

    Raises:
        ModelIntegrityError: the shipped file was changed (its SHA-256 differs from the manifest).
        RadiomicsError: unreadable or not a mapping.
    """
    path = Path(path)
    try:
        checked = read_parameter_file(path)
        params = yaml.safe_load(checked.data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RadiomicsError(f"{path}: cannot read radiomics parameters ({exc})") from exc
    if not isinstance(params, dict):
        raise RadiomicsError(f"{path}: not a pyradiomics parameter mapping")
    out = RadiomicsParams(params)
    out.integrity, out.sha256 = checked.integrity, checked.sha256
    return out


def _quiet_pyradiomics() -> None:
    logging.getLogger("radiomics").setLevel(logging.ERROR)


def make_extractor(params: dict):
    """A pyradiomics extractor for a parameter dict (schema-validated by pyradiomics)."""
    from radiomics import featureextractor  # heavy import only when radiomics is used

    _quiet_pyradiomics()
    try:
        return featureextractor.RadiomicsFeatureExtractor(dict(params))
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:  # pykwalify SchemaError is a RuntimeError
        raise RadiomicsError(f"invalid radiomics parameters: {exc}") from exc


def _check(cancelled: Cancelled | None) -> None:
    if cancelled is not None and cancelled():
        raise CancelledError("radiomics cancelled")


def _checking_cancel(extractor, cancelled: Cancelled) -> None:
    """Make ``extractor`` poll ``cancelled`` before the shape features and before each filtered image (original,
    3 LoG, 8 wavelet: a check every ~0.1 s instead of one per sequence)."""
    for name in ("computeShape", "computeFeatures"):
        compute = getattr(extractor, name)

        def checked(*args, _compute=compute, **kwargs):
            _check(cancelled)
            return _compute(*args, **kwargs)

        setattr(extractor, name, checked)


def _failure_text(exc: Exception) -> str:
    """pyradiomics' message, said for a user: "Size of the ROI is too small (minimum size: 20, ROI size: 7" (its
    parenthesis unclosed) is what a painted speck gives."""
    small = re.search(r"ROI is too small \(minimum size: (\d+), ROI size: (\d+)", str(exc))
    if small:
        return (f"the tumor mask is too small for radiomics ({small[2]} voxels; at least {small[1]} are needed): "
                "paint the whole tumor, or check the mask")
    if "ROI dimensions" in str(exc) or "minimumROIDimensions" in str(exc):
        return (f"the tumor mask is too thin for radiomics (it must extend in at least two directions): paint the "
                f"whole tumor, or check the mask ({exc})")
    return f"feature extraction failed: {exc}"


def extract_features(image: sitk.Image, mask: sitk.Image, params: dict, *, keep_diagnostics: bool = False,
                     cancelled: Cancelled | None = None) -> dict:
    """Run pyradiomics on one image/mask pair with ``params`` (the single extraction code path).

    Raises:
        RadiomicsError: pyradiomics failed.
        CancelledError: ``cancelled()`` said yes (polled before each filtered image).
    """
    extractor = make_extractor(params)
    if cancelled is not None:
        _checking_cancel(extractor, cancelled)
    label = int(params.get("setting", {}).get("label", 1))
    try:
        result = extractor.execute(image, mask, label=label)
    except (ValueError, RuntimeError, IndexError) as exc:
        raise RadiomicsError(_failure_text(exc)) from exc
    out = {}
    for key, value in result.items():
        if key.startswith("diagnostics_"):
            if keep_diagnostics:
                out[key] = value
            continue
        out[key] = float(np.asarray(value))
    return out


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def extract_patient(volumes: dict[str, Volume], mask: Volume, params: dict | None = None, *,
                    cancelled: Cancelled | None = None) -> FeatureSet:
    """Multiparametric features (CE-T1 and T2 on the mask's grid) with provenance.

    Raises:
        RadiomicsError: empty mask, grid mismatch, or pyradiomics failure.
        CancelledError: ``cancelled()`` said yes (polled between sequences and filtered images).
    """
    import radiomics

    params = params if params is not None else load_params()
    if int(np.count_nonzero(mask.array)) == 0:
        raise RadiomicsError("the mask is empty: no tumor to extract features from")
    mask_img = sitk.Cast(mask.with_array((mask.array > 0).astype(np.uint8)).to_image(), sitk.sitkUInt8)
    features: dict[str, float] = {}
    seconds = {}
    for seq in SEQUENCES:
        if not volumes[seq].geometry.same_space(mask.geometry, tol_mm=0.01):
            raise RadiomicsError(f"{seq} is not on the mask's grid; register/resample it first")
        seq_params = _without_shape(params) if features else params  # shape once, from CE-T1
        _check(cancelled)
        start = time.perf_counter()
        values = extract_features(volumes[seq].to_image(), mask_img, seq_params, cancelled=cancelled)
        seconds[seq] = round(time.perf_counter() - start, 3)
        for name, value in values.items():
            features[name if "_shape_" in name else f"{seq}_{name}"] = value
    provenance = {
        "pyradiomics": radiomics.__version__, "SimpleITK": sitk.Version_VersionString(), "numpy": np.__version__,
        "settings": params, "sequences": list(SEQUENCES), "mask_sha256": _sha256(mask.array > 0),
        "image_sha256": {seq: _sha256(volumes[seq].array) for seq in SEQUENCES}, "seconds": seconds,
    }
    return FeatureSet(features, provenance)


def _without_shape(params: dict) -> dict:
    classes = dict(params.get("featureClass") or {})
    classes.pop("shape", None)
    return {**params, "featureClass": classes}
