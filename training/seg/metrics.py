"""Segmentation metrics on physical grids.

* Dice and IoU over voxels.
* HD95 (mm): the 95th percentile of the pooled symmetric surface distances, where a surface voxel is a
  foreground voxel with a background 6-neighbour (the MedPy/nnU-Net-style definition), distances measured
  with the voxel spacing. Hausdorff (HD100) is the maximum of the same distances.
* Volume error: predicted minus true volume (ml) and relative to the truth.

Empty masks: Dice/IoU are 1 when both are empty, 0 when only one is; distances are NaN then (``null`` in JSON,
``json_safe``), and summaries say over how many patients HD95 was averaged (``hd95_n``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = pred.astype(bool), truth.astype(bool)
    denom = p.sum() + t.sum()
    return 1.0 if denom == 0 else float(2.0 * np.logical_and(p, t).sum() / denom)


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = pred.astype(bool), truth.astype(bool)
    union = np.logical_or(p, t).sum()
    return 1.0 if union == 0 else float(np.logical_and(p, t).sum() / union)


def surface(mask: np.ndarray) -> np.ndarray:
    """Foreground voxels with at least one background face-neighbour (image border counts as background)."""
    m = mask.astype(bool)
    eroded = ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(3, 1), border_value=0)
    return m & ~eroded


def surface_distances(pred: np.ndarray, truth: np.ndarray, spacing_zyx) -> np.ndarray:
    """Pooled distances (mm) from each surface voxel of one mask to the nearest surface voxel of the other."""
    sp, st = surface(pred), surface(truth)
    if not sp.any() or not st.any():
        return np.array([], dtype=float)
    to_truth = ndimage.distance_transform_edt(~st, sampling=spacing_zyx)
    to_pred = ndimage.distance_transform_edt(~sp, sampling=spacing_zyx)
    return np.concatenate([to_truth[sp], to_pred[st]])


def hd95(pred: np.ndarray, truth: np.ndarray, spacing_zyx) -> float:
    d = surface_distances(pred, truth, spacing_zyx)
    return float(np.percentile(d, 95)) if d.size else float("nan")


def hausdorff(pred: np.ndarray, truth: np.ndarray, spacing_zyx) -> float:
    d = surface_distances(pred, truth, spacing_zyx)
    return float(d.max()) if d.size else float("nan")


def case_metrics(pred: np.ndarray, truth: np.ndarray, spacing_zyx) -> dict[str, float]:
    """All per-patient metrics for one pair of masks on the same grid."""
    voxel_ml = float(np.prod(spacing_zyx)) / 1000.0
    v_pred, v_true = float(pred.astype(bool).sum()) * voxel_ml, float(truth.astype(bool).sum()) * voxel_ml
    return {
        "dice": dice(pred, truth),
        "iou": iou(pred, truth),
        "hd95_mm": hd95(pred, truth, spacing_zyx),
        "volume_true_ml": v_true,
        "volume_pred_ml": v_pred,
        "volume_error_ml": v_pred - v_true,
        "volume_error_rel": (v_pred - v_true) / v_true if v_true > 0 else float("nan"),
    }


STRATA = (("<1 ml", 0.0, 1.0), ("1-5 ml", 1.0, 5.0), (">5 ml", 5.0, float("inf")))


def summarize(rows: list[dict]) -> dict:
    """Mean/median/SD of Dice, IoU, HD95 overall and by tumor-volume stratum.

    HD95 has no value when a mask is empty, so its figures cover only ``hd95_n`` of the ``n`` patients; the
    missing ones include every missed tumor (``n_missed``: a true tumor, an empty prediction), which would otherwise
    make a model that misses tumors look better on HD95.
    """
    def stats(sub: list[dict]) -> dict:
        out = {"n": len(sub)}
        for key in ("dice", "iou", "hd95_mm", "volume_error_ml"):
            vals = np.array([np.nan if r[key] is None else r[key] for r in sub], dtype=float)
            vals = vals[np.isfinite(vals)]
            out[key] = ({"mean": float(vals.mean()), "median": float(np.median(vals)), "sd": float(vals.std())}
                        if vals.size else None)
            if key == "hd95_mm":
                out["hd95_n"] = int(vals.size)
        out["n_missed"] = sum(1 for r in sub if r["volume_true_ml"] > 0 and r["volume_pred_ml"] == 0)
        return out

    result = {"all": stats(rows)}
    for name, lo, hi in STRATA:
        result[name] = stats([r for r in rows if lo <= r["volume_true_ml"] < hi])
    return result


def json_safe(value):
    """``value`` with every non-finite float (NaN, inf) replaced by None, so it serialises as strict JSON (``null``);
    ``json.dumps`` writes ``NaN``, which ``JSON.parse`` and strict parsers reject."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
