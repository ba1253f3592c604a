"""Registered volumes -> tumor mask on the original CE-T1 grid.

Post-processing (stated, so results can be reproduced): threshold the probabilities at 0.5 on the CE-T1
grid; keep the largest 3D connected component (26-connectivity) plus any other component of at least
``KEEP_COMPONENT_ML`` (multifocal tumors); fill holes slice by slice (necrotic centres are tumor).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from inference.backends.base import SegBackend
from inference.imageops import fill_holes_by_slice, label
from inference.preprocess import ModelGrid, SlicePlan, from_model_stack, to_model_stack
from inference.volume import Volume

THRESHOLD = 0.5
#: extra components at least this large are kept besides the largest (ml)
KEEP_COMPONENT_ML = 0.5


@dataclass
class SegmentationResult:
    mask: Volume  # uint8 on the CE-T1 grid
    probability: np.ndarray  # float32 on the CE-T1 grid
    plan: SlicePlan
    volume_ml: float
    components_kept: int
    components_removed: int
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def found_tumor(self) -> bool:
        return self.volume_ml > 0


def postprocess(prob: np.ndarray, voxel_ml: float, threshold: float = THRESHOLD,
                keep_ml: float = KEEP_COMPONENT_ML,
                main_by: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, int, int]:
    """Binary mask from probabilities: largest component + large others, holes filled.

    ``main_by(labels, sizes)`` -> one value per component picks the main component instead of its voxel
    count (post-processing studies; the runtime uses the size).

    Returns:
        (mask uint8, components kept, components removed)
    """
    binary = prob >= threshold
    labels, n = label(binary, full=True)
    if n == 0:
        return np.zeros(prob.shape, np.uint8), 0, 0
    sizes = np.bincount(labels.ravel())[1:]
    main = sizes if main_by is None else main_by(labels, sizes)
    keep = {int(np.argmax(main)) + 1} | {i + 1 for i, s in enumerate(sizes) if s * voxel_ml >= keep_ml}
    mask = fill_holes_by_slice(np.isin(labels, list(keep)))
    return mask.astype(np.uint8), len(keep), n - len(keep)


def segment(volumes: dict[str, Volume], backend: SegBackend, *, fov_mm: float | None = None,
            progress: Callable[[float], None] | None = None,
            cancelled: Callable[[], bool] | None = None) -> SegmentationResult:
    """Segment the tumor from registered CE-T1/T2/T1 volumes (all on the CE-T1 grid), on the model's grid
    (``backend.fov_mm`` unless ``fov_mm`` is given)."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    grid = ModelGrid(backend.input_size, backend.fov_mm if fov_mm is None else fov_mm)
    stack, plan, warnings = to_model_stack(volumes, grid)
    seconds["preprocess"] = time.perf_counter() - t
    t = time.perf_counter()
    probs = backend.predict_stack(stack, progress=progress, cancelled=cancelled)
    seconds["inference"] = time.perf_counter() - t
    t = time.perf_counter()
    prob = from_model_stack(probs, plan)
    reference = volumes["cet1"]
    voxel_ml = reference.geometry.voxel_volume_ml
    mask, kept, removed = postprocess(prob, voxel_ml)
    seconds["postprocess"] = time.perf_counter() - t
    return SegmentationResult(
        mask=reference.with_array(mask, source="segmentation"), probability=prob, plan=plan,
        volume_ml=float(mask.sum() * voxel_ml), components_kept=kept, components_removed=removed,
        seconds=seconds, warnings=warnings,
    )
