"""The few array operations the runtime needs, without SciPy.

SciPy was in the runtime only for ``ndimage.affine_transform`` (axis-aligned, linear), ``ndimage.label``,
``ndimage.binary_fill_holes``, ``ndimage.center_of_mass`` and ``spatial.ConvexHull``; with its OpenBLAS it
was 85 MB of the 903 MB desktop bundle (75.5 MB of files, plus its modules in both executables' archives).
These replacements use numpy and SimpleITK (already a runtime dependency) and are tested against SciPy (a
training/test dependency): the resampling is bit-identical to ``affine_transform(..., order=1,
mode="constant", prefilter=False)`` for float input, labels and filled holes are identical, and the hull
candidates give the same largest diameter. Masks are read as "nonzero"; weights are not supported.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk


def center_of_mass(mask: np.ndarray) -> tuple[float, ...]:
    """Mean index of the nonzero voxels of a mask (unweighted) per axis, exact: integer sums, one rounding."""
    mask = np.asarray(mask) != 0
    count = int(np.count_nonzero(mask))
    if count == 0:
        raise ValueError("center_of_mass of an empty mask")
    centre = []
    for axis in range(mask.ndim):  # voxels per index along the axis, weighted by the index
        others = tuple(a for a in range(mask.ndim) if a != axis)
        per_index = np.count_nonzero(mask, axis=others).astype(np.int64)
        centre.append(float(int(per_index @ np.arange(mask.shape[axis], dtype=np.int64))) / float(count))
    return tuple(centre)


def _axis_taps(n_out: int, n_in: int, scale: float, offset: float):
    """Per output index: the two input taps, their linear weights, and whether it lies inside the input.

    The coordinate is ``(k + offset / scale) * scale`` and the weights ``1 - |d|``, ``1 - |d + 1|`` with
    ``d = floor(c) - c``, the same double-precision steps as SciPy's zoom/shift path, so the results match
    it to the last bit.
    """
    if not scale > 0:
        raise ValueError(f"resampling needs a positive scale, got {scale}")
    shift = offset / scale
    coord = (np.arange(n_out, dtype=np.float64) + shift) * scale
    inside = (coord >= 0.0) & (coord <= n_in - 1)
    start = np.floor(coord)
    d = start - coord
    w0, w1 = 1.0 - np.abs(d), 1.0 - np.abs(d + 1.0)
    i0 = np.clip(start, 0, n_in - 1).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, w0, w1, inside


def resample_inplane(volume: np.ndarray, scale: tuple[float, float], offset: tuple[float, float],
                     out_yx: tuple[int, int], out_dtype=np.float32) -> np.ndarray:
    """Linear in-plane resampling of a (z, y, x) stack: ``in = scale * out + offset`` on y and x.

    Points outside the input take 0. Slice by slice, so a large volume needs no float64 copy of itself.
    ``out_dtype`` must be a float type (SciPy would round into an integer one; nothing here needs that).
    Unlike SciPy, a NaN in the next slice does not leak in through its zero weight along z.
    """
    if not np.issubdtype(np.dtype(out_dtype), np.floating):
        raise ValueError(f"resample_inplane writes floats, not {np.dtype(out_dtype)}")
    nz, ny, nx = volume.shape
    y0, y1, wy0, wy1, iny = _axis_taps(out_yx[0], ny, float(scale[0]), float(offset[0]))
    x0, x1, wx0, wx1, inx = _axis_taps(out_yx[1], nx, float(scale[1]), float(offset[1]))
    out = np.zeros((nz, *out_yx), dtype=out_dtype)
    ys, xs = np.flatnonzero(iny), np.flatnonzero(inx)
    if len(ys) == 0 or len(xs) == 0:
        return out
    # only the output points inside the input are computed (the rest stay 0)
    y0, y1, wy0, wy1 = y0[ys], y1[ys], wy0[ys, None], wy1[ys, None]
    x0, x1, wx0, wx1 = x0[xs], x1[xs], wx0[xs], wx1[xs]
    block = np.ix_(ys, xs)
    for z in range(nz):
        plane = volume[z].astype(np.float64, copy=False)
        top, bottom = plane[y0], plane[y1]
        # summed in SciPy's order: (y0, x0), (y0, x1), (y1, x0), (y1, x1), each value * wy * wx
        acc = top[:, x0] * wy0 * wx0
        acc += top[:, x1] * wy0 * wx1
        acc += bottom[:, x0] * wy1 * wx0
        acc += bottom[:, x1] * wy1 * wx1
        out[z][block] = acc
    return out


def _to_image(array: np.ndarray) -> sitk.Image:
    return sitk.GetImageFromArray((np.asarray(array) != 0).view(np.uint8))


def _components(binary: np.ndarray, full: bool) -> tuple[np.ndarray, int]:
    """Connected components as ITK numbers them (int32 labels, count)."""
    if np.asarray(binary).size == 0:  # ITK crashes on an empty image
        return np.zeros(np.shape(binary), np.int32), 0
    labels = sitk.GetArrayFromImage(sitk.ConnectedComponent(_to_image(binary), bool(full))).view(np.int32)
    return labels, int(labels.max())


def label(binary: np.ndarray, *, full: bool = True) -> tuple[np.ndarray, int]:
    """Connected components of the nonzero voxels, numbered 1..n in raster order of their first voxel (as
    ``ndimage.label``).

    Args:
        full: 26-/8-connectivity (faces, edges and corners); False: faces only.
    """
    labels, n = _components(binary, full)
    if n > 1:
        present = labels.ravel()
        present = present[present > 0]
        ids, first = np.unique(present, return_index=True)
        if np.any(np.diff(first) < 0):  # ITK numbers in raster order already; renumber if it ever does not
            lut = np.zeros(n + 1, np.int32)
            lut[ids[np.argsort(first)]] = np.arange(1, len(ids) + 1, dtype=np.int32)
            labels = lut[labels]
    return labels, n


def fill_holes_2d(mask: np.ndarray) -> np.ndarray:
    """Fill background regions of a 2D mask that do not reach the border through 4-connected background."""
    if mask.ndim != 2:
        raise ValueError(f"fill_holes_2d needs a 2D mask, got shape {mask.shape}")
    if mask.size == 0:
        return np.zeros(mask.shape, bool)
    background, _ = _components(np.asarray(mask) == 0, full=False)  # numbering order does not matter here
    edge = np.unique(np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]]))
    outside = np.isin(background, edge[edge > 0])
    return ~outside


def fill_holes_by_slice(mask: np.ndarray) -> np.ndarray:
    """``fill_holes_2d`` on every non-empty slice of a boolean (z, y, x) mask, in place; returns ``mask``."""
    for z in range(mask.shape[0]):
        if mask[z].any():
            mask[z] = fill_holes_2d(mask[z])
    return mask


def hull_candidates(zyx: np.ndarray) -> np.ndarray:
    """Rows of ``zyx`` (integer voxel indices) that include every vertex of their 3D convex hull.

    A vertex of the 3D hull is a vertex of the 2D hull of its own index plane (axis 0), and a vertex of a
    2D hull is the first or last voxel of its row, so: row ends, then a monotone-chain hull per plane.
    """
    if len(zyx) == 0:
        return zyx
    order = np.lexsort((zyx[:, 2], zyx[:, 1], zyx[:, 0]))
    pts = zyx[order]
    starts = np.flatnonzero(np.r_[True, (pts[1:, :2] != pts[:-1, :2]).any(axis=1)])
    ends = np.r_[starts[1:] - 1, len(pts) - 1]
    ends_of_rows = pts[np.unique(np.r_[starts, ends])]
    keep = []
    for z in np.unique(ends_of_rows[:, 0]):
        plane = ends_of_rows[ends_of_rows[:, 0] == z]
        keep.append(plane[_hull_2d(plane[:, 1:])])
    return np.concatenate(keep)


def _hull_2d(yx: np.ndarray) -> np.ndarray:
    """Indices of the convex hull vertices of distinct integer 2D points sorted by y, then x."""
    if len(yx) <= 2:
        return np.arange(len(yx))
    pts = [tuple(map(int, p)) for p in yx]

    def chain(indices):
        out: list[int] = []
        for i in indices:
            while len(out) >= 2:
                (ay, ax), (by, bx), (cy, cx) = pts[out[-2]], pts[out[-1]], pts[i]
                if (by - ay) * (cx - ax) - (bx - ax) * (cy - ay) <= 0:
                    out.pop()
                else:
                    break
            out.append(i)
        return out

    idx = range(len(pts))
    return np.unique(chain(idx) + chain(reversed(idx)))


def max_pairwise_distance(points: np.ndarray) -> float:
    """Largest Euclidean distance between two rows of ``points``, in blocks of at most ~24 MB of differences."""
    if len(points) < 2:
        return 0.0
    block = max(1, min(1024, 1_000_000 // len(points)))
    best = 0.0
    for start in range(0, len(points), block):
        diff = points[start:start + block, None, :] - points[None, :, :]
        best = max(best, float((diff ** 2).sum(-1).max()))
    return float(np.sqrt(best))
