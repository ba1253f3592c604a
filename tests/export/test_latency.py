"""The side-by-side latency helper (docs/export.md numbers): round-robin timing and the ratio bookkeeping."""

from __future__ import annotations

import time

import numpy as np
import pytest

from export.benchmark import time_slices
from inference.backends.base import SegBackend


class _Sleepy(SegBackend):
    def __init__(self, seconds: float):
        self.seconds, self.calls = seconds, 0

    def predict(self, batch):
        self.calls += 1
        time.sleep(self.seconds)
        return np.zeros(batch.shape[:3], np.float32)


def test_rotating_blocks_time_every_backend_equally_and_order_them():
    fast, slow = _Sleepy(0.001), _Sleepy(0.01)
    table = time_slices({"fast": fast, "slow": slow}, np.zeros((3, 8, 8, 3), np.float32), runs=6, warmup=1,
                        block=3)
    assert fast.calls == slow.calls == 8  # 2 rounds x (1 warm-up + 3 timed)
    assert table["fast"]["runs"] == table["slow"]["runs"] == 6
    assert table["fast"]["median_ms"] < table["slow"]["median_ms"] <= table["slow"]["p95_ms"]
    assert table["slow"]["median_ms"] >= 10


def test_a_backend_that_fails_mid_measurement_is_dropped_with_its_reason():
    class Broken(_Sleepy):
        def predict(self, batch):
            super().predict(batch)
            if self.calls > 2:
                raise RuntimeError("device lost")
            return np.zeros(batch.shape[:3], np.float32)

    good, broken, failed = _Sleepy(0.0), Broken(0.0), {}
    table = time_slices({"good": good, "broken": broken}, np.zeros((2, 4, 4, 3), np.float32), runs=4, warmup=1,
                        block=2, failed=failed)
    assert set(table) == {"good"} and table["good"]["runs"] == 4
    assert failed == {"broken": "RuntimeError: device lost"}
    with pytest.raises(RuntimeError):  # without ``failed`` the error is the caller's
        time_slices({"broken": Broken(0.0)}, np.zeros((2, 4, 4, 3), np.float32), runs=4, warmup=1, block=2)
