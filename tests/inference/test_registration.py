"""Rigid co-registration: known transforms are recovered, skips and failures behave, resampling is exact."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from inference.errors import CancelledError, MissingSequenceError, RegistrationError
from inference.registration import (
    RegistrationResult,
    RegistrationSettings,
    _plausibility_warnings,
    coregister,
    register_rigid,
    resample_to,
)
from inference.registration_phantom import (
    RigidMotion,
    centred_geometry,
    head_points,
    render_volume,
    transform_residual,
)
from inference.volume import Geometry, Volume

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pyradiomics"

# Thick slices (4-5 mm) like the clinic, but a coarser matrix than the 512^2 benchmark to stay fast.
FIXED_GRID = centred_geometry((256, 256, 30), (0.9, 0.9, 4.0))
T2_GRID = centred_geometry((160, 160, 24), (1.4, 1.4, 5.0), (4.0, -3.0, 2.5))
T1_GRID = centred_geometry((224, 224, 28), (1.0, 1.0, 4.5), (-3.0, 2.0, -2.0))
T2_MOTION = RigidMotion((2.5, -2.0, 3.0), (2.0, -2.5, 1.5))
T1_MOTION = RigidMotion((-3.0, 2.5, -1.5), (-2.5, 1.0, -3.0))


@pytest.fixture(scope="module")
def study() -> dict[str, Volume]:
    """CE-T1 reference plus a T2 and a T1 on their own grids, each moved by a known transform."""
    return {
        "cet1": render_volume(FIXED_GRID, "cet1", seed=1),
        "t2": render_volume(T2_GRID, "t2", T2_MOTION, seed=2),
        "t1": render_volume(T1_GRID, "t1", T1_MOTION, seed=3),
    }


@pytest.fixture(scope="module")
def t2_result(study: dict[str, Volume]) -> RegistrationResult:
    return register_rigid(study["cet1"], study["t2"], seed=0)


def _assert_recovered(result: RegistrationResult, truth: sitk.Transform, points: np.ndarray) -> None:
    error_mm, error_deg = transform_residual(result.transform, truth, points)
    assert error_mm < 1.0, f"max displacement error {error_mm:.2f} mm"
    assert error_deg < 1.0, f"residual rotation {error_deg:.2f} degrees"
    assert result.quality_final > result.quality_initial
    assert result.metric_final < result.metric_initial
    assert not result.skipped and not result.warnings


def test_recovers_known_motion_t2(study: dict[str, Volume], t2_result: RegistrationResult) -> None:
    _assert_recovered(t2_result, T2_MOTION.to_sitk(), head_points(FIXED_GRID))


def test_recovers_known_motion_t1(study: dict[str, Volume]) -> None:
    result = register_rigid(study["cet1"], study["t1"], seed=0)
    _assert_recovered(result, T1_MOTION.to_sitk(), head_points(FIXED_GRID))


def test_reported_parameters_describe_the_transform(t2_result: RegistrationResult) -> None:
    tx = t2_result.transform
    assert t2_result.translation_mm == pytest.approx(tx.GetTranslation())
    assert np.deg2rad(t2_result.rotation_deg) == pytest.approx([tx.GetAngleX(), tx.GetAngleY(), tx.GetAngleZ()])
    # The motion was applied about the origin; the result is centred on the head, but the rotation is shared.
    assert t2_result.rotation_deg == pytest.approx(T2_MOTION.rotation_deg, abs=1.0)
    assert 0.0 < t2_result.quality_initial < t2_result.quality_final <= 1.0
    assert t2_result.iterations > 0 and t2_result.seconds > 0
    json.dumps(t2_result.to_dict())


def test_same_seed_is_deterministic(study: dict[str, Volume], t2_result: RegistrationResult) -> None:
    again = register_rigid(study["cet1"], study["t2"], seed=0)
    assert again.iterations == t2_result.iterations
    # Bit-identical: the optimizer's last-digit jitter is rounded away (registration.snap_transform).
    assert again.transform.GetParameters() == t2_result.transform.GetParameters()


@pytest.mark.skipif(not DATA.is_dir(), reason=f"shared MR data not found at {DATA}")
def test_recovers_known_motion_real_mr() -> None:
    image = sitk.Cast(sitk.ReadImage(str(DATA / "brain1_image.nrrd")), sitk.sitkFloat32)
    fixed = Volume.from_image(image)
    array = fixed.array
    zz, yy, xx = np.nonzero(array[:, ::8, ::8] > 0.1 * np.percentile(array, 99))
    points = fixed.geometry.index_to_physical(np.stack([xx * 8, yy * 8, zz], axis=1).astype(float))
    motion = RigidMotion((2.0, -2.5, 3.0), (2.5, -1.5, 2.0), tuple(points.mean(axis=0)))
    # Its own grid (other pixel size, slice thickness, origin); a non-linear intensity map and noise make
    # it a different "contrast" from the fixed image.
    grid = Geometry(
        size=(224, 224, 22),
        spacing=(0.9, 0.9, 7.0),
        origin=tuple(np.asarray(fixed.geometry.origin) + (-3.0, 4.0, 5.0)),
        direction=fixed.geometry.direction,
    )
    moved = resample_to(fixed, grid, motion.to_sitk().GetInverse())
    rng = np.random.default_rng(0)
    mapped = 30.0 * np.sqrt(np.maximum(moved.array, 0.0)) + rng.normal(0.0, 10.0, moved.array.shape)
    result = register_rigid(fixed, moved.with_array(np.abs(mapped).astype(np.float32)), seed=0)
    _assert_recovered(result, motion.to_sitk(), points)


def test_coregister_puts_everything_on_the_reference_grid(study: dict[str, Volume]) -> None:
    fractions: list[float] = []
    aligned, results = coregister(study, mode="always", progress=fractions.append)
    assert set(aligned) == {"cet1", "t2", "t1"} and set(results) == {"t2", "t1"}
    assert aligned["cet1"] is study["cet1"]
    for name in ("t2", "t1"):
        assert aligned[name].geometry == FIXED_GRID
        assert aligned[name].array.shape == FIXED_GRID.shape_zyx
        assert not results[name].skipped
    assert fractions and fractions[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in fractions)


def test_coregister_skips_sequences_that_share_the_space(study: dict[str, Volume]) -> None:
    same = study["cet1"].with_array(study["cet1"].array[::-1].copy())
    aligned, results = coregister({"cet1": study["cet1"], "t2": same}, mode="auto")
    assert results["t2"].skipped
    assert results["t2"].reason == "already share a physical space"
    assert aligned["t2"].array is same.array
    assert json.loads(json.dumps(results["t2"].to_dict()))["skipped"] is True


def test_coregister_never_resamples_with_identity(study: dict[str, Volume]) -> None:
    aligned, results = coregister(study, mode="never")
    assert all(r.skipped and "never" in r.reason for r in results.values())
    expected = resample_to(study["t2"], FIXED_GRID)
    np.testing.assert_array_equal(aligned["t2"].array, expected.array)


def test_coregister_rejects_bad_arguments(study: dict[str, Volume]) -> None:
    with pytest.raises(ValueError, match="mode"):
        coregister(study, mode="sometimes")
    with pytest.raises(MissingSequenceError, match="cet1"):
        coregister({"t2": study["t2"]})


def test_blank_moving_image_raises(study: dict[str, Volume]) -> None:
    blank = study["t2"].with_array(np.zeros_like(study["t2"].array))
    with pytest.raises(RegistrationError, match="blank"):
        register_rigid(study["cet1"], blank)
    with pytest.raises(RegistrationError, match="registering t2 to cet1"):
        coregister({"cet1": study["cet1"], "t2": blank})


def test_moving_image_elsewhere_raises(study: dict[str, Volume]) -> None:
    far = centred_geometry(T2_GRID.size, T2_GRID.spacing, (400.0, 0.0, 0.0))
    with pytest.raises(RegistrationError, match="overlap"):
        register_rigid(study["cet1"], Volume(study["t2"].array, far))


def test_implausible_results_are_flagged() -> None:
    result = RegistrationResult(
        transform=sitk.Euler3DTransform(),
        translation_mm=(25.0, 0.0, 0.0),
        rotation_deg=(0.0, 12.0, 0.0),
        quality_initial=0.4,
        quality_final=0.3,
    )
    warnings = " ".join(_plausibility_warnings(result))
    assert "translation" in warnings and "rotation" in warnings and "decreased" in warnings


def _blob(geometry: Geometry, centre_mm: np.ndarray, sigma_mm: float = 4.0) -> Volume:
    """A Gaussian blob at a physical point, rendered on ``geometry``."""
    nx, ny, nz = geometry.size
    kk, jj, ii = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    points = geometry.index_to_physical(np.stack([ii, jj, kk], axis=-1).astype(float))
    dist2 = np.sum((points - centre_mm) ** 2, axis=-1)
    return Volume(np.exp(-dist2 / (2 * sigma_mm**2)).astype(np.float32), geometry)


def _centroid_mm(volume: Volume) -> np.ndarray:
    kk, jj, ii = np.indices(volume.array.shape)
    w = volume.array / volume.array.sum()
    index = np.array([(ii * w).sum(), (jj * w).sum(), (kk * w).sum()])
    return volume.geometry.index_to_physical(index)


def test_resample_to_puts_a_landmark_where_the_transform_says() -> None:
    tilt = np.deg2rad(8.0)
    direction = (1.0, 0.0, 0.0, 0.0, np.cos(tilt), -np.sin(tilt), 0.0, np.sin(tilt), np.cos(tilt))
    moving_grid = Geometry(
        size=(48, 40, 30), spacing=(1.5, 1.5, 2.0), origin=(-30.0, -25.0, -28.0), direction=direction
    )
    reference = Geometry(size=(60, 50, 16), spacing=(1.0, 1.2, 4.0), origin=(-28.0, -30.0, -30.0))
    landmark = np.array([6.0, -4.0, 5.0])  # in moving space
    motion = RigidMotion((3.0, -2.0, 4.0), (3.0, -2.0, 1.5), (0.0, 0.0, 0.0)).to_sitk()
    out = resample_to(_blob(moving_grid, landmark), reference, motion)
    assert out.geometry == reference and out.array.dtype == np.float32
    expected = np.asarray(motion.GetInverse().TransformPoint(tuple(landmark)))
    assert np.linalg.norm(_centroid_mm(out) - expected) < 0.3


def test_resample_to_nearest_keeps_labels_and_dtype() -> None:
    grid = Geometry(size=(20, 20, 10), spacing=(1.0, 1.0, 3.0), origin=(0.0, 0.0, 0.0))
    mask = np.zeros(grid.shape_zyx, dtype=bool)
    mask[4:6, 8:12, 8:12] = True
    finer = Geometry(size=(40, 40, 10), spacing=(0.5, 0.5, 3.0), origin=(-0.25, -0.25, 0.0))
    out = resample_to(Volume(mask, grid), finer, interpolator="nearest")
    assert out.array.dtype == bool
    assert out.array.sum() == mask.sum() * 4
    with pytest.raises(ValueError, match="interpolator"):
        resample_to(Volume(mask, grid), finer, interpolator="cubic")


def test_integer_volumes_are_registered_like_float(study: dict[str, Volume], t2_result: RegistrationResult) -> None:
    """int16 arrays (as a generator or a raw reader may give) must not break the head-mask thresholds."""
    as_int = [Volume(study[r].array.astype(np.int16), study[r].geometry, study[r].meta) for r in ("cet1", "t2")]
    result = register_rigid(*as_int, seed=0)
    _assert_recovered(result, T2_MOTION.to_sitk(), head_points(FIXED_GRID))


#: far slower than the defaults (thousands of tiny steps per level, ~10^2 s): only a cancellation ends it soon
SLOW = RegistrationSettings(min_step=1e-7, relaxation=0.99, max_iterations=3000)


def test_a_cancelled_registration_stops_within_an_iteration(study: dict[str, Volume]) -> None:
    """Cancel took effect only after the sequence's whole registration (5 s and more in the GUI): the optimizer
    now checks at every iteration, stops and raises; ``coregister`` returns no volumes."""
    iterations: list[float] = []
    asked: list[float] = []

    def cancelled() -> bool:
        if len(iterations) >= 5 and not asked:  # the optimizer is running: the user presses Esc
            asked.append(time.perf_counter())
        return bool(asked)

    with pytest.raises(CancelledError, match="registration cancelled"):
        coregister(study, mode="always", settings=SLOW, progress=iterations.append, cancelled=cancelled)
    stopped = time.perf_counter() - asked[0]
    assert stopped < 1.0, f"stopped {stopped:.2f} s after the cancel"
    assert len(iterations) <= 7  # the iteration under way when it was asked, then none (the cap is 3000 a level)


#: run in a fresh interpreter: the Ctrl+C test needs Python's own SIGINT handler, SIGINT deliverable, in the main
#: thread, which a pytest-xdist worker that ran other tests does not reliably have (forcing the handler there crashed
#: the worker in make test: a SIGINT left pending is delivered later, when its default action kills the process)
CTRL_C_CHILD = """
import os, signal, sys, time
from inference.registration import register_rigid
from inference.registration_phantom import render_volume
from tests.inference.test_registration import FIXED_GRID, SLOW, T2_GRID, T2_MOTION

# As in a terminal: Python's own handler, SIGINT not blocked. A child inherits an ignored or blocked SIGINT, and in
# make test the worker that starts this child had one of the two (not found which test leaves it so; loky, under
# joblib, blocks SIGINT while it spawns a process): the child was then never interrupted.
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
fixed, moving = render_volume(FIXED_GRID, "cet1", seed=1), render_volume(T2_GRID, "t2", T2_MOTION, seed=2)
iterations = []

def progress(fraction):
    iterations.append(fraction)
    if len(iterations) == 5:  # the optimizer is running: the user presses Ctrl+C
        os.kill(os.getpid(), signal.SIGINT)

start = time.perf_counter()
try:
    register_rigid(fixed, moving, settings=SLOW, progress=progress)
except KeyboardInterrupt:
    restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    print(f"interrupted after {len(iterations)} iterations in {time.perf_counter() - start:.1f} s; handler {restored}")
    sys.exit(0)
print("not interrupted")
"""


def test_ctrl_c_while_optimizing_stops_it_and_is_raised_as_an_interrupt() -> None:
    """Ctrl+C arrived in the progress observer: SimpleITK printed the traceback and raised "error executing the
    Python Callable", reported as a failed registration (exit code 1; a batch went on to its next patient)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", CTRL_C_CHILD], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    said = done.stdout.strip().splitlines()[-1]
    assert said.startswith("interrupted after ") and said.endswith("; handler True"), said  # Python's handler back
    iterations, seconds = int(said.split()[2]), float(said.split()[5])
    assert iterations <= 7 and seconds < 30  # stopped, not run to its 3000 iterations a level
