"""inference/imageops.py against SciPy (an independent implementation, installed with the train extra) and
hand-made cases; and the runtime running with SciPy made unimportable (that test needs no SciPy)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from inference import imageops

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.fixture
def ndimage():
    return pytest.importorskip("scipy.ndimage")


def _cases(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        shape = (int(rng.integers(1, 5)), int(rng.integers(2, 200)), int(rng.integers(2, 200)))
        scale = tuple(rng.uniform(0.2, 4.0, 2))
        offset = tuple(rng.uniform(-80, 80, 2))
        out = (int(rng.integers(1, 220)), int(rng.integers(1, 220)))
        yield rng.random(shape).astype(np.float32), scale, offset, out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resampling_is_bit_identical_to_scipy_affine_transform(seed, ndimage):
    for vol, scale, offset, out in _cases(25, seed):
        ref = ndimage.affine_transform(vol, np.array([1.0, *scale]), np.array([0.0, *offset]),
                                       output_shape=(vol.shape[0], *out), order=1, mode="constant", cval=0.0,
                                       prefilter=False)
        assert np.array_equal(imageops.resample_inplane(vol, scale, offset, out), ref)


def test_resampling_by_hand():
    vol = np.array([[[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]]], np.float32)
    half = imageops.resample_inplane(vol, (0.5, 0.5), (0.0, 0.0), (3, 5))
    assert half[0, 0].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert half[0, 1].tolist() == [5.0, 5.5, 6.0, 6.5, 7.0]
    assert half[0, 2].tolist() == [10.0, 10.5, 11.0, 11.5, 12.0]
    # outside the input (one step past the last sample, or before the first) is 0, never extrapolated
    shifted = imageops.resample_inplane(vol, (1.0, 1.0), (0.0, 0.5), (2, 3))
    assert shifted[0].tolist() == [[0.5, 1.5, 0.0], [10.5, 11.5, 0.0]]
    assert not imageops.resample_inplane(vol, (1.0, 1.0), (5.0, 0.0), (2, 3)).any()


@pytest.mark.parametrize("full", [True, False])
def test_labels_match_scipy(full, ndimage):
    rng = np.random.default_rng(3)
    structure = np.ones((3, 3, 3), bool) if full else None
    for _ in range(20):
        binary = rng.random((int(rng.integers(1, 10)), 40, 30)) < rng.uniform(0.05, 0.6)
        ref, n = ndimage.label(binary, structure=structure)
        mine, m = imageops.label(binary, full=full)
        assert m == n and np.array_equal(mine, ref)


def test_labels_by_hand():
    diagonal = np.zeros((1, 3, 3), bool)
    diagonal[0, 0, 0] = diagonal[0, 1, 1] = True
    assert imageops.label(diagonal, full=True)[1] == 1
    assert imageops.label(diagonal, full=False)[1] == 2
    assert imageops.label(np.zeros((2, 2, 2), bool))[1] == 0


def test_fill_holes_matches_scipy_and_hand_cases(ndimage):
    rng = np.random.default_rng(4)
    for _ in range(40):
        mask = rng.random((int(rng.integers(1, 50)), int(rng.integers(1, 50)))) < rng.uniform(0.2, 0.8)
        assert np.array_equal(imageops.fill_holes_2d(mask), ndimage.binary_fill_holes(mask))
    ring = np.zeros((5, 5), bool)
    ring[1:4, 1:4] = True
    ring[2, 2] = False
    assert imageops.fill_holes_2d(ring)[2, 2]
    notch = ring.copy()
    notch[2, 3] = False  # opens the hole to (2, 4), background on the border: no longer a hole
    assert not imageops.fill_holes_2d(notch)[2, 2]
    corner = np.ones((3, 3), bool)
    corner[1, 1] = False
    corner[0, 0] = False  # touches the hole diagonally only: 4-connected background keeps it a hole
    assert imageops.fill_holes_2d(corner)[1, 1] and not imageops.fill_holes_2d(corner)[0, 0]
    with pytest.raises(ValueError):
        imageops.fill_holes_2d(np.zeros((2, 2, 2), bool))


def test_center_of_mass_matches_scipy_exactly(ndimage):
    rng = np.random.default_rng(5)
    for _ in range(20):
        mask = rng.random((7, 60, 50)) < rng.uniform(0.01, 0.9)
        assert imageops.center_of_mass(mask) == tuple(ndimage.center_of_mass(mask))
    assert imageops.center_of_mass(np.eye(3, dtype=bool)) == (1.0, 1.0)
    with pytest.raises(ValueError):
        imageops.center_of_mass(np.zeros((3, 3), bool))


def test_edge_cases_are_errors_or_empty_never_a_crash():
    assert imageops.label(np.zeros((0, 3, 3), bool))[1] == 0  # SimpleITK itself segfaults on an empty image
    assert imageops.fill_holes_2d(np.zeros((0, 4), bool)).shape == (0, 4)
    halves = np.zeros((1, 2, 3))
    halves[0, 0, 0] = halves[0, 1, 2] = 0.5  # nonzero counts as foreground, whatever the dtype
    assert imageops.label(halves, full=False)[1] == 2
    assert imageops.center_of_mass(halves) == (0.0, 0.5, 1.0)
    vol = np.ones((1, 4, 4), np.int16)
    with pytest.raises(ValueError, match="floats"):
        imageops.resample_inplane(vol, (1.0, 1.0), (0.0, 0.0), (4, 4), out_dtype=np.int16)
    with pytest.raises(ValueError, match="positive scale"):
        imageops.resample_inplane(vol, (0.0, 1.0), (0.0, 0.0), (4, 4))


def _brute_diameter(points):
    return float(np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1)).max()) if len(points) > 1 else 0.0


def test_hull_candidates_keep_the_largest_diameter():
    rng = np.random.default_rng(6)
    spacing = np.array([4.0, 0.5, 0.6])
    shapes = []
    for _ in range(25):  # blobs, with stray voxels
        zz, yy, xx = np.ogrid[:int(rng.integers(1, 7)), :30, :30]
        c, r = rng.uniform(8, 22, 3), rng.uniform(1.5, 10, 3)
        blob = ((zz - c[0] / 6) / (r[0] / 3)) ** 2 + ((yy - c[1]) / r[1]) ** 2 + ((xx - c[2]) / r[2]) ** 2 < 1
        shapes.append(blob | (rng.random(blob.shape) < 0.01))
    line = np.zeros((1, 1, 9), bool)
    line[..., ::2] = True
    single = np.zeros((2, 2, 2), bool)
    single[1, 1, 1] = True
    shapes += [line, single, np.ones((3, 4, 5), bool)]
    for shape in shapes:
        zyx = np.argwhere(shape)
        if len(zyx) == 0:
            continue
        cand = imageops.hull_candidates(zyx)
        assert set(map(tuple, cand)) <= set(map(tuple, zyx))
        assert imageops.max_pairwise_distance(cand * spacing) == pytest.approx(_brute_diameter(zyx * spacing),
                                                                                 abs=1e-9)
    big = np.argwhere(np.ones((8, 40, 40), bool))
    assert len(imageops.hull_candidates(big)) < len(big) / 20  # the pairwise search stays small


@pytest.mark.slow
def test_the_runtime_runs_without_scipy(tmp_path):
    """predict on the sample patient and the GUI window, in a process where ``import scipy`` fails."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules["scipy"] = None  # any import of scipy or a submodule now raises ImportError
        from pathlib import Path
        from desktop import app
        qt = app.application([])
        window = app.create_window(folder=Path({str(tmp_path / "gui")!r}))  # the GUI's imports and main window
        window.show()
        qt.processEvents()
        window.close()
        from inference.cli import main
        code = main(["predict", {str(ROOT / "assets" / "sample_patient")!r}, "--out", {str(tmp_path)!r},
                     "--backend", "litert", "--json"])
        sys.exit(code)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "sample_patient" / "result.json").read_text())
    assert result["status"] == "ok" and 0.0 <= result["probability"] <= 1.0


def test_fill_holes_by_slice_fills_each_slice_in_place(ndimage):
    mask = np.zeros((3, 5, 5), bool)
    mask[0, 1:4, 1:4] = True
    mask[0, 2, 2] = False  # a hole in slice 0
    mask[2, 0:3, 0:3] = True
    mask[2, 1, 1] = False  # and one in slice 2; slice 1 is empty
    expected = np.stack([ndimage.binary_fill_holes(m) for m in mask])
    out = imageops.fill_holes_by_slice(mask)
    assert out is mask and np.array_equal(out, expected) and out[0, 2, 2] and out[2, 1, 1]
