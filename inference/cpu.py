"""What this CPU is and which instruction-set extensions it has, read once per process.

One place for the facts that the OpenVINO int8 check (``inference.backends.ov``), the benchmark's device facts and
the latency report need. Environment limits (``ONEDNN_MAX_CPU_ISA``) are not applied here: they can change within a
process (tests, child processes), the hardware cannot.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["CpuInfo", "cpu_info", "default_threads", "schedulable_cpus"]


@dataclass(frozen=True)
class CpuInfo:
    model: str  # "model name" from /proc/cpuinfo, else what the platform module says
    flags: frozenset[str]  # /proc/cpuinfo "flags" (x86) or "Features" (ARM), lower case as the kernel writes them
    dispatch: frozenset[str]  # numpy's runtime CPU dispatch features that are present (upper case: AVX512VNNI ...)

    def has(self, *names: str) -> str | None:
        """The first of ``names`` found in either set (the kernel's lower-case flags or numpy's upper-case
        dispatch names; pass both spellings where both exist), or None."""
        return next((name for name in names if name in self.flags or name in self.dispatch), None)


@lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    """This CPU's model name and feature flags; empty flags where neither /proc/cpuinfo nor numpy tells."""
    model, flags = "", frozenset()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and not model:
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = frozenset(value.split())
    except OSError:
        pass
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        features = {}
    dispatch = frozenset(name for name, present in features.items() if present)
    return CpuInfo(model=model or platform.processor() or platform.machine() or "unknown", flags=flags,
                   dispatch=dispatch)


def schedulable_cpus() -> int:
    """The CPUs this process may run on (its affinity: fewer than the machine's under ``taskset`` or a container's
    cpuset), else the machine's logical CPUs (Windows, macOS)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_threads() -> int:
    """The runtimes' thread count when the user gives none (LiteRT, ONNX Runtime, OpenVINO): the schedulable CPUs, at
    most 4 (the cap these backends always had; it was applied to ``os.cpu_count``, which ignores the affinity)."""
    return min(4, schedulable_cpus())
