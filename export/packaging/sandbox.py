"""Run an installed bundle the way a clinic PC would: clean environment, no network.

* Clean environment: ``env -i`` with only ``PATH=/usr/bin:/bin``, a temporary ``HOME`` and what the caller
  adds (e.g. ``QT_QPA_PLATFORM``): no virtualenv, no ``PYTHONPATH``, no ``LD_LIBRARY_PATH``.
* No network: ``unshare -n`` (a new network namespace whose only interface, loopback, is down) where the
  kernel and our privileges allow it, else ``unshare -rn`` (the same inside a user namespace), else an
  ``LD_PRELOAD`` shim that makes ``connect()``/``sendto()`` fail with ENETUNREACH (compiled with ``cc``),
  else nothing (``Isolation.method`` says "none" and callers must report or skip). Each method is proved
  by a probe that tries to connect to 127.0.0.1 and must see ENETUNREACH.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SHIM_C = r"""
#include <errno.h>
#include <sys/socket.h>
int connect(int fd, const struct sockaddr *addr, socklen_t len) { (void)fd; (void)addr; (void)len;
  errno = ENETUNREACH; return -1; }
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len) {
  (void)fd; (void)buf; (void)n; (void)flags; (void)addr; (void)len; errno = ENETUNREACH; return -1; }
"""
PROBE = ("import errno, socket, sys\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=2)\n"
         "except OSError as e:\n    sys.exit(0 if e.errno == errno.ENETUNREACH else 3)\nsys.exit(4)\n")


@dataclass
class Isolation:
    method: str  # "unshare -n" | "unshare -rn" | "LD_PRELOAD shim" | "none"
    prefix: list[str] = field(default_factory=list)  # command put in front of env -i
    env: dict[str, str] = field(default_factory=dict)  # variables added inside the clean environment


def _probe(prefix: list[str], env: dict[str, str]) -> bool:
    cmd = [*prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-c", PROBE]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _shim(workdir: Path) -> Path | None:
    cc = shutil.which("cc")
    if cc is None:
        return None
    src, lib = workdir / "nonet.c", workdir / "libnonet.so"
    src.write_text(SHIM_C)
    proc = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(lib), str(src)], capture_output=True)
    return lib if proc.returncode == 0 else None


def offline(workdir: Path | None = None) -> Isolation:
    """The strongest network isolation available here, proved by the probe."""
    if shutil.which("unshare"):
        for flags in ("-n", "-rn"):
            if _probe(["unshare", flags], {}):
                return Isolation(f"unshare {flags}", ["unshare", flags])
    lib = _shim(Path(workdir or tempfile.mkdtemp(prefix="otscc-nonet-")))
    if lib is not None and _probe([], {"LD_PRELOAD": str(lib)}):
        return Isolation("LD_PRELOAD shim", [], {"LD_PRELOAD": str(lib)})
    return Isolation("none")


def clean_command(args: list[str], home: Path, isolation: Isolation, **extra: str) -> list[str]:
    """``args`` wrapped in the isolation prefix and ``env -i PATH=/usr/bin:/bin HOME=home ...``."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), **isolation.env, **extra}
    return [*isolation.prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()), *args]


def extract_deb(deb: Path, dest: Path) -> Path:
    """``dpkg-deb -x`` into ``dest`` (the package's files as they would be installed, under ``dest``)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True, capture_output=True)
    return dest
