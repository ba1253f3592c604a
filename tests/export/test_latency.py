"""The side-by-side latency helper (docs/export.md numbers): round-robin timing and the ratio bookkeeping."""

from __future__ import annotations

import time

import numpy as np

from export.latency import time_slices
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
