"""Score a fusion nomogram stored as JSON: probability, risk group and each variable's points.

The JSON (written by ``training/nomogram.py``) is plain data and validated on load: unknown or missing
fields are refused with a message naming them. Nothing in it is executed. ``Nomogram.load`` first checks the
file against the parameter manifest beside it (``assets/manifest.json`` for the shipped one; see
``inference.backends.manifest.read_parameter_file``); ``integrity`` says how it was checked.

Model: ``logit p = intercept + sum_i coef_i * (x_i - mean_i) / sd_i`` over the fusion variables, where the
rad-score is itself ``radscore_intercept + sum_j w_j * (f_j - mu_j) / sigma_j`` over the selected features.
Points follow the classic nomogram: each variable's term is mapped linearly so the variable with the
widest range of terms over its plotted axis spans 0-100 points; total points map back to the logit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.backends.manifest import read_parameter_file
from inference.errors import InputError, OtsccError


class NomogramError(OtsccError):
    """The nomogram file is invalid.

    Exit code 2, as every other input the user names (``InputError``: a missing ``--model`` folder, a patient): a
    bad ``--nomogram`` gave 1, so a script could not tell a wrong argument from a failed run. Not an
    ``InputError`` subclass: callers that pass over unusable patient inputs must not pass over a broken nomogram.
    """

    exit_code = 2


class ClinicalValueError(InputError):
    """A clinical value is missing or out of range."""


SCHEMA_VERSION = 1
CLINICAL = ("age", "sex", "ct_stage", "cn_status", "doi_mm")
_TOP = {"schema_version": int, "kind": str, "created": str, "synthetic_training_data": bool, "radscore": dict,
        "model": dict, "risk_groups": list, "points": dict, "training_metrics": dict, "versions": dict,
        "mask_source": str}
_RADSCORE = {"features": list, "means": list, "sds": list, "weights": list, "intercept": (int, float)}
_MODEL = {"variables": list, "means": list, "sds": list, "coefficients": list, "intercept": (int, float),
          "axes": dict}


#: optional top-level fields: ``fitted_on`` (fit-nomogram: the patients the fit used, so eval-nomogram can refuse to
#: call them test patients; files written before it, the shipped one included, have none)
_OPTIONAL_TOP = {"fitted_on": dict}
_FITTED_ON = {"patients": list, "model": str, "split_sha256": (str, type(None))}


def _check_fields(obj: dict, spec: dict, where: str, optional: dict | None = None) -> None:
    if not isinstance(obj, dict):
        raise NomogramError(f"{where}: expected an object")
    optional = optional or {}
    unknown, missing = set(obj) - set(spec) - set(optional), set(spec) - set(obj)
    if unknown:
        raise NomogramError(f"{where}: unknown field(s) {sorted(unknown)}")
    if missing:
        raise NomogramError(f"{where}: missing field(s) {sorted(missing)}")
    for key, typ in {**spec, **{k: t for k, t in optional.items() if k in obj}}.items():
        value, numeric = obj[key], typ in ((int, float), int)
        if not isinstance(value, typ) or (numeric and isinstance(value, bool)):  # bool is an int in Python
            raise NomogramError(f"{where}.{key}: expected {getattr(typ, '__name__', typ)}")


def _check_lengths(obj: dict, keys: tuple[str, ...], where: str) -> None:
    lengths = {k: len(obj[k]) for k in keys}
    if len(set(lengths.values())) != 1:
        raise NomogramError(f"{where}: lists of different lengths {lengths}")
    for k in keys[1:]:
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in obj[k]):
            raise NomogramError(f"{where}.{k}: non-numeric or non-finite value")
    if "sds" in obj and any(v <= 0 for v in obj["sds"]):
        raise NomogramError(f"{where}.sds: standard deviations must be positive")


def validate(data: dict) -> dict:
    """Validate a nomogram dict against the schema; return it unchanged."""
    _check_fields(data, _TOP, "nomogram", _OPTIONAL_TOP)
    if "fitted_on" in data:
        _check_fields(data["fitted_on"], _FITTED_ON, "nomogram.fitted_on")
        if not all(isinstance(p, str) for p in data["fitted_on"]["patients"]):
            raise NomogramError("nomogram.fitted_on.patients: expected a list of patient ids")
    if data["schema_version"] != SCHEMA_VERSION:
        raise NomogramError(f"nomogram.schema_version {data['schema_version']} is not {SCHEMA_VERSION}")
    _check_fields(data["radscore"], _RADSCORE, "nomogram.radscore")
    _check_lengths(data["radscore"], ("features", "means", "sds", "weights"), "nomogram.radscore")
    _check_fields(data["model"], _MODEL, "nomogram.model")
    _check_lengths(data["model"], ("variables", "means", "sds", "coefficients"), "nomogram.model")
    allowed = {"radscore", *CLINICAL}
    if set(data["model"]["variables"]) - allowed:
        raise NomogramError(f"nomogram.model.variables: unknown {sorted(set(data['model']['variables']) - allowed)}")
    if set(data["model"]["axes"]) != set(data["model"]["variables"]):
        raise NomogramError("nomogram.model.axes must give a [min, max] range for every variable")
    return data


#: the accepted range of the two numeric clinical values (a plausibility check, not the nomogram's fitted range)
PLAUSIBLE = {"age": (0.0, 120.0, "years"), "doi_mm": (0.0, 100.0, "mm")}


def canonical_value(key: str, value: Any) -> Any:
    """One clinical value in its canonical form: age and doi_mm floats, sex "M"/"F", ct_stage "T1"-"T3",
    cn_status 0/1. Accepts the spellings of clinical.json, CSV files and the command line (case-insensitive;
    "male", "cT2", "2", "cN+", "N0", numbers as text).

    Raises:
        ClinicalValueError: the value cannot be read or is implausible (the message names it and what is accepted).
    """
    if isinstance(value, bool):  # JSON true/false: a bool is an int in Python, so "age": true would read as 1
        raise ClinicalValueError(f"{key} must not be true/false, got {value!r}")
    text = str(value).strip().upper()
    if key == "sex":
        sex = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F"}.get(text)
        if sex is None:
            raise ClinicalValueError(f"sex must be M or F, got {value!r}")
        return sex
    if key == "ct_stage":
        stage = text.removeprefix("C").removeprefix("T")
        if isinstance(value, (int, float)) and value in (1, 2, 3):
            stage = str(int(value))
        if stage not in ("1", "2", "3"):
            raise ClinicalValueError(f"ct_stage must be T1, T2 or T3, got {value!r}")
        return f"T{stage}"
    if key == "cn_status":
        node = {"0": 0, "N0": 0, "CN0": 0, "1": 1, "N+": 1, "CN+": 1, "N1": 1, "CN1": 1}.get(text)
        if node is None and isinstance(value, (int, float)) and value in (0, 1):
            node = int(value)
        if node is None:
            raise ClinicalValueError(f"cn_status must be 0 (cN0) or 1 (cN+), got {value!r}")
        return node
    if key in PLAUSIBLE:
        lo, hi, unit = PLAUSIBLE[key]
        name = "age" if key == "age" else "depth of invasion (doi_mm)"
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise ClinicalValueError(f"{name} must be a number of {unit}, got {value!r}") from exc
        if not (lo < number < hi if key == "age" else lo <= number < hi):
            shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)
            accepted = f"above {lo:g} and below {hi:g}" if key == "age" else f"{lo:g} to below {hi:g}"
            raise ClinicalValueError(f"{name} {shown} {unit} is implausible (accepted: {accepted} {unit})")
        return number
    raise ClinicalValueError(f"unknown clinical value {key!r} (known: {', '.join(CLINICAL)})")


def normalize_clinical(clinical: dict[str, Any]) -> dict[str, Any]:
    """The given clinical values in canonical form (see :func:`canonical_value`); keys it does not know and empty
    values are left out. result.json stores these, whatever spelling the source used."""
    return {k: canonical_value(k, clinical[k]) for k in CLINICAL if clinical.get(k) not in (None, "")}


def encode_clinical(clinical: dict[str, Any]) -> dict[str, float]:
    """Numeric clinical variables: sex M=1/F=0, cT1-3 -> 1-3, cN0/cN+ -> 0/1."""
    missing = [k for k in CLINICAL if clinical.get(k) in (None, "")]
    if missing:
        raise ClinicalValueError(f"missing clinical value(s): {', '.join(missing)}")
    c = normalize_clinical(clinical)
    return {"age": c["age"], "sex": 1.0 if c["sex"] == "M" else 0.0, "ct_stage": float(c["ct_stage"][1]),
            "cn_status": float(c["cn_status"]), "doi_mm": c["doi_mm"]}


LABELS = {"radscore": "Rad-score", "age": "Age (years)", "sex": "Sex", "ct_stage": "Clinical T stage",
          "cn_status": "MRI node status", "doi_mm": "Depth of invasion (mm)"}
#: categorical variables: encoded value -> label
CATEGORIES = {"sex": {0.0: "F", 1.0: "M"}, "ct_stage": {1.0: "T1", 2.0: "T2", 3.0: "T3"},
              "cn_status": {0.0: "cN0", 1.0: "cN+"}}


@dataclass(frozen=True)
class NomogramAxis:
    """One row of the drawn nomogram: tick labels at their points positions."""

    variable: str
    label: str
    ticks: list[tuple[str, float]]


#: A risk closer than this to a risk-group boundary is reported as borderline: the largest change in risk
#: measured between the shipped model variants on held-out patients (0.0503, int8-QAT on a validation patient;
#: docs/export.md, "Risk agreement between variants"), rounded up. Within it, another variant, or a small edit of
#: the mask, may give the other group. (It was 0.05, below that measured change.)
BORDERLINE_MARGIN = 0.06


def format_risk(probability: float, boundaries: list[float] | tuple[float, ...] = (), decimals: int = 1) -> str:
    """``probability`` as a percentage with ``decimals`` digits ("26.3%"), with more digits where rounding would
    carry it onto a risk-group boundary it lies below: 0.49996 is "49.996%", not "50.0%" printed beside
    "intermediate risk" (the 50 % boundary starts the high group). ``boundaries``: the groups' lower edges."""
    for digits in range(decimals, 8):
        text = f"{probability * 100:.{digits}f}"
        shown = float(text) / 100
        if not any(probability < b <= shown or shown < b <= probability for b in boundaries):
            return f"{text}%"
    return f"{probability * 100}%"


def round_risk(probability: float, boundaries: list[float] | tuple[float, ...] = (), digits: int = 4) -> float:
    """``round(probability, digits)``, with more digits where rounding would carry it onto a risk-group boundary it
    lies below (result.json: 0.49996 stays 0.49996, not 0.5 beside "intermediate")."""
    for d in range(digits, 10):
        shown = round(probability, d)
        if not any(probability < b <= shown or shown < b <= probability for b in boundaries):
            return shown
    return probability


def risk_group_boundaries(risk_groups: list[dict]) -> list[float]:
    """The lower edges of every risk group but the first (``risk_groups`` as in the nomogram JSON and result.json):
    [0.2, 0.5]."""
    return [g["below"] for g in risk_groups[:-1]]


def risk_groups_text(risk_groups: list[dict]) -> str:
    """"low < 20%, intermediate 20-50%, high >= 50%" for the nomogram JSON's (and result.json's) ``risk_groups``."""
    parts, lower = [], None
    for i, g in enumerate(risk_groups):
        if i == 0:
            parts.append(f"{g['name']} < {g['below']:.0%}")
        elif i == len(risk_groups) - 1:
            parts.append(f"{g['name']} >= {lower:.0%}")
        else:
            parts.append(f"{g['name']} {lower * 100:g}-{g['below']:.0%}")
        lower = g["below"]
    return ", ".join(parts)


@dataclass(frozen=True)
class NomogramResult:
    probability: float
    risk_group: str
    radscore: float
    points: dict[str, float]
    total_points: float
    linear_predictor: float


class Nomogram:
    """A validated nomogram ready to score patients."""

    def __init__(self, data: dict) -> None:
        self.data = validate(data)
        self.model, self.rad = data["model"], data["radscore"]
        terms = [sorted(c * (v - m) / s for v in axis) for c, m, s, axis in self._rows()]
        self._term_min = [t[0] for t in terms]
        self._scale = 100.0 / max(t[1] - t[0] for t in terms)

    #: how the file was checked: "sha256 verified (manifest.json)", "unverified: no manifest.json", "not checked"
    integrity: str = "not checked"
    sha256: str | None = None  #: of the file the nomogram was loaded from

    @classmethod
    def load(cls, path: str | Path) -> Nomogram:
        """Load and validate a nomogram JSON, first checked against ``manifest.json`` beside it (if any).

        Raises:
            ModelIntegrityError: the shipped file was changed (its SHA-256 differs from the manifest).
            NomogramError: unreadable or invalid.
        """
        try:
            checked = read_parameter_file(path)
            data = json.loads(checked.data.decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NomogramError(f"{path}: not a readable nomogram JSON ({exc})") from exc
        try:
            nomogram = cls(data)
        except NomogramError as exc:  # the validator names the field; the user needs the file too
            raise NomogramError(f"{path}: not a valid nomogram ({exc}); give a nomogram JSON written by "
                                "otscc fit-nomogram") from exc
        nomogram.integrity, nomogram.sha256 = checked.integrity, checked.sha256
        return nomogram

    def _rows(self):
        m = self.model
        for name, mean, sd, coef in zip(m["variables"], m["means"], m["sds"], m["coefficients"], strict=True):
            yield coef, mean, sd, m["axes"][name]

    def radscore(self, features: dict[str, float]) -> float:
        r = self.rad
        missing = [f for f in r["features"] if f not in features]
        if missing:
            raise NomogramError(f"features missing for the rad-score: {missing[:5]}")
        return r["intercept"] + sum(w * (features[f] - mu) / sd
                                    for f, mu, sd, w in zip(r["features"], r["means"], r["sds"], r["weights"],
                                                            strict=True))

    def score(self, features: dict[str, float], clinical: dict[str, Any]) -> NomogramResult:
        values = {**encode_clinical(clinical), "radscore": self.radscore(features)}
        lp, points = self.model["intercept"], {}
        for (coef, mean, sd, _), name, tmin in zip(self._rows(), self.model["variables"], self._term_min, strict=True):
            term = coef * (values[name] - mean) / sd
            lp += term
            points[name] = (term - tmin) * self._scale
        probability = 1.0 / (1.0 + math.exp(-lp))
        return NomogramResult(probability, self.risk_group(probability), values["radscore"], points,
                              sum(points.values()), lp)

    def risk_group(self, probability: float) -> str:
        for group in self.data["risk_groups"]:
            if probability < group["below"]:
                return group["name"]
        return self.data["risk_groups"][-1]["name"]

    def outside_fitted_range(self, values: dict[str, float]) -> list[str]:
        """Warnings for numeric variables (encoded ``values``, the rad-score included) outside the range of the
        patients the nomogram was fitted on (its axes): there the risk is an extrapolation."""
        out = []
        for name in self.model["variables"]:
            if name in CATEGORIES or name not in values:
                continue
            lo, hi = self.model["axes"][name]
            if not lo <= values[name] <= hi:
                what = {"age": "age", "doi_mm": "depth of invasion", "radscore": "rad-score"}.get(name, name)
                unit = {"age": " years", "doi_mm": " mm"}.get(name, "")
                value = f"{values[name]:.4g}" + (" mm" if name == "doi_mm" else "")  # "age 1", not "age 1 years"
                out.append(f"{what} {value} is outside the range of the patients the nomogram was "
                           f"fitted on ({lo:g} to {hi:g}{unit}): the risk is an extrapolation, read it with care")
        return out

    def borderline(self, probability: float, margin: float = BORDERLINE_MARGIN) -> dict | None:
        """The nearest risk-group boundary when ``probability`` lies within ``margin`` of it, else None:
        ``{"boundary", "margin", "groups": (below, above)}``."""
        groups = self.data["risk_groups"]
        near = [(abs(probability - g["below"]), i) for i, g in enumerate(groups[:-1])]
        if not near:
            return None
        distance, i = min(near)
        if distance >= margin:
            return None
        return {"boundary": groups[i]["below"], "margin": margin,
                "groups": (groups[i]["name"], groups[i + 1]["name"])}

    def probability_at_points(self, total_points: float) -> float:
        """Map total points back to probability (for drawing the nomogram's bottom axes)."""
        lp = self.model["intercept"] + sum(self._term_min) + total_points / self._scale
        return 1.0 / (1.0 + math.exp(-lp))

    def points_of(self, variable: str, value: float) -> float:
        """Points for an encoded ``value`` of ``variable`` (the position on its axis)."""
        i = self.model["variables"].index(variable)
        coef, mean, sd = self.model["coefficients"][i], self.model["means"][i], self.model["sds"][i]
        return (coef * (value - mean) / sd - self._term_min[i]) * self._scale

    def mark_position(self, variable: str, points: float) -> tuple[float, bool]:
        """Where to draw a patient's ``points`` on ``variable``'s axis: the position itself, or, for a value outside
        the range the nomogram was fitted on (``model.axes``, as ``outside_fitted_range``), the nearer end of that
        range and True, so the dot stays on its own axis instead of landing on the labels beside it. A value
        inside the fitted range but beyond the outermost tick (age 25 with ticks 40-80) is drawn where it is."""
        lo, hi = self.model["axes"][variable]
        a, b = sorted((self.points_of(variable, lo), self.points_of(variable, hi)))
        held = min(max(points, a), b)
        return held, abs(held - points) > 1e-9

    def axes(self, ticks: int = 6) -> list[NomogramAxis]:
        """The variable axes to draw (the GUI and the PDF report draw the same thing): round ticks, and unlabelled
        ones ("") at the ends of the fitted range where it goes beyond them."""
        out = []
        for name in self.model["variables"]:
            lo, hi = self.model["axes"][name]
            if name in CATEGORIES:
                values = [(label, v) for v, label in CATEGORIES[name].items() if lo <= v <= hi]
            else:
                step = _nice_step((hi - lo) / max(1, ticks - 1))
                start = math.ceil(lo / step) * step
                values = [(f"{v:g}", v) for v in (round(start + k * step, 6) for k in range(ticks * 2))
                          if v <= hi + 1e-9]
                # unlabelled end marks: the axis covers the whole fitted range (age 24-83 was drawn 40-80 and an
                # age of 30, inside the range, floated beside it); labels stay on round values
                values = ([("", lo)] if values[0][1] - lo > 1e-9 else []) + values + (
                    [("", hi)] if hi - values[-1][1] > 1e-9 else [])
            out.append(NomogramAxis(name, LABELS.get(name, name), [(t, self.points_of(name, v)) for t, v in values]))
        return out

    @property
    def max_total_points(self) -> float:
        return sum(max(self.points_of(n, v) for v in self.model["axes"][n]) for n in self.model["variables"])

    def total_ticks(self, most: int = 6) -> list[tuple[str, float]]:
        """(label, total points) for round ticks of the total-points axis: 0, 50, 100 ... rather than 0, 47, 95 ...
        (the sixths of the maximum, hard to read a patient's total off); at most ``most`` intervals."""
        top = self.max_total_points
        step = _nice_step(top / most)
        ticks = [(f"{step * i:g}", step * i) for i in range(int(top / step + 1e-9) + 1)]
        if top - ticks[-1][1] > 1e-6:  # the axis runs to the maximum: an unlabelled end mark there
            ticks.append(("", top))
        return ticks

    def probability_ticks(self, probabilities=(0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
                          ) -> list[tuple[str, float]]:
        """(label, total points) for probability ticks that fall on the total-points axis."""
        base = self.model["intercept"] + sum(self._term_min)
        out = []
        for p in probabilities:
            total = (math.log(p / (1 - p)) - base) * self._scale
            if 0 <= total <= self.max_total_points:
                out.append((f"{p:g}", total))
        return out


def _nice_step(raw: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
