"""The phase-head rewrite used by ``export.stage_latency`` is the same linear map as upsample-then-convolve."""

from __future__ import annotations

import numpy as np

from export.stage_latency import bilinear_conv_as_phases


def _upsample2(x: np.ndarray) -> np.ndarray:
    """Bilinear x2, half-pixel centres, edges clamped (TensorFlow's resize with half_pixel_centers)."""
    def along(a, axis):
        n = a.shape[axis]
        pos = np.clip((np.arange(2 * n) + 0.5) / 2 - 0.5, 0, n - 1)
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        w = (pos - i0).reshape([-1 if k == axis else 1 for k in range(a.ndim)])
        return np.take(a, i0, axis) * (1 - w) + np.take(a, i1, axis) * w
    return along(along(x, 0), 1)


def _conv3x3(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """'same' 3x3 convolution (cross-correlation, zero padding): (H, W, C) x (3, 3, C, O) -> (H, W, O)."""
    h, w, _ = x.shape
    p = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    return sum(np.einsum("hwc,co->hwo", p[dy:dy + h, dx:dx + w], k[dy, dx]) for dy in range(3) for dx in range(3))


def test_phase_kernel_reproduces_upsample_then_conv_inside_the_image():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 10, 5))
    k = rng.normal(size=(3, 3, 5, 1)).astype(np.float32)
    reference = _conv3x3(_upsample2(x), k)[..., 0]
    phases = _conv3x3(x, bilinear_conv_as_phases(k))  # (12, 10, 4), channel 2a+b = phase (a, b)
    rewritten = phases.reshape(12, 10, 2, 2).transpose(0, 2, 1, 3).reshape(24, 20)  # depth-to-space
    np.testing.assert_allclose(rewritten[2:-2, 2:-2], reference[2:-2, 2:-2], atol=1e-5)
    # the outermost two rows and columns differ (bilinear clamps at the border, the rewrite zero-pads)
    assert np.abs(rewritten - reference).max() > 1e-3
