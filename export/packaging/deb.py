"""``python -m export.packaging.deb``: the Debian package of a built bundle (``make installer``).

Layout of the package::

    /opt/otscc-edge/                      the PyInstaller folder (dist/otscc-edge: otscc, otscc-gui, _internal/)
    /usr/bin/otscc, /usr/bin/otscc-gui    symbolic links into /opt/otscc-edge
    /usr/share/applications/otscc-edge.desktop
    /usr/share/icons/hicolor/256x256/apps/otscc-edge.png, .../scalable/apps/otscc-edge.svg
    /usr/share/doc/otscc-edge/copyright

``Version`` comes from ``[project] version`` in pyproject.toml, ``Architecture`` from
``dpkg --print-architecture``. The links are absolute (Debian policy for links between top-level
folders). Nothing runs at install time: the desktop and icon caches are refreshed by dpkg triggers.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from export.packaging.spec import NAME, ROOT, project_version

log = logging.getLogger(__name__)

PREFIX = Path("/opt") / NAME
EXECUTABLES = ("otscc", "otscc-gui")
PACKAGING = ROOT / "assets" / "packaging"
#: shared libraries the bundle loads from the system: PyInstaller bundles everything else, but leaves out libc
#: and the GL stack (they must match the host's drivers). Found with ``ldd`` over every library of the bundle
#: with LD_LIBRARY_PATH on _internal (docs/packaging.md). libc6 gets the build machine's version as minimum
#: (a PyInstaller bundle needs at least the glibc it was built on).
DEPENDS = ("libgl1", "libegl1", "libxcb1")
#: Wayland sessions (else Qt uses X11/XWayland) and a font for the GUI's text
RECOMMENDS = ("libwayland-client0", "libwayland-cursor0", "libwayland-egl1", "fonts-dejavu-core")
DESCRIPTION = """offline OTSCC MRI tumor segmentation and nodal-risk prediction (research software)
 Segments the tumor of oral tongue squamous cell carcinoma on CE-T1/T2/T1 MRI and estimates the
 risk of cervical lymph-node metastasis with a radiomics + clinical nomogram, on the local machine,
 without network access. Commands: otscc (CLI, including `otscc self-test`) and otscc-gui.
 .
 The models were trained on SYNTHETIC data: the output is not a clinical prediction."""


class PackagingError(RuntimeError):
    """The package cannot be built (missing bundle, dpkg-deb failure); the message says why."""


def dpkg_architecture() -> str:
    """``dpkg --print-architecture`` (amd64, arm64, ...)."""
    try:
        return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PackagingError(f"dpkg --print-architecture failed ({exc}); build the package on Debian/Ubuntu") from exc


def depends() -> str:
    """``Depends:`` value: this machine's glibc as the minimum, then ``DEPENDS``."""
    libc, glibc = platform.libc_ver()
    return ", ".join([f"libc6 (>= {glibc})" if libc == "glibc" and glibc else "libc6", *DEPENDS])


def control_text(version: str, arch: str, installed_kb: int) -> str:
    fields = {"Package": NAME, "Version": version, "Architecture": arch,
              "Maintainer": "otscc-edge maintainers <otscc-edge@invalid>", "Section": "science",
              "Priority": "optional", "Installed-Size": str(installed_kb), "Depends": depends(),
              "Recommends": ", ".join(RECOMMENDS), "Description": DESCRIPTION}
    return "".join(f"{k}: {v}\n" for k, v in fields.items())


def desktop_entry() -> str:
    """The .desktop file (template in assets/packaging)."""
    return (PACKAGING / f"{NAME}.desktop").read_text()


def stage(bundle: Path, root: Path, version: str, arch: str) -> None:
    """Lay out the package tree under ``root`` (``root/DEBIAN`` included)."""
    missing = [e for e in EXECUTABLES if not (bundle / e).is_file()]
    if missing:
        raise PackagingError(f"{bundle} is not a built bundle (no {', '.join(missing)}); run `make bundle` first")
    target = root / PREFIX.relative_to("/")
    shutil.copytree(bundle, target, symlinks=True)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for exe in EXECUTABLES:
        (bin_dir / exe).symlink_to(PREFIX / exe)
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{NAME}.desktop").write_text(desktop_entry())
    for size_dir, name in (("256x256", f"{NAME}.png"), ("scalable", f"{NAME}.svg")):
        icon_dir = share / "icons" / "hicolor" / size_dir / "apps"
        icon_dir.mkdir(parents=True)
        shutil.copy(PACKAGING / name, icon_dir / name)
    doc = share / "doc" / NAME
    doc.mkdir(parents=True)
    (doc / "copyright").write_text((PACKAGING / "copyright").read_text())
    for path in [root, *root.rglob("*")]:  # dpkg wants 0755 folders and no group/other write bits
        if path.is_symlink():
            continue
        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    debian = root / "DEBIAN"
    debian.mkdir(mode=0o755)
    installed_kb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024 + 1
    (debian / "control").write_text(control_text(version, arch, installed_kb))
    (debian / "md5sums").write_text(_md5sums(root))


def _md5sums(root: Path) -> str:
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and "DEBIAN" not in p.parts):
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root).as_posix()}")
    return "\n".join(lines) + "\n"


def build_deb(bundle: Path, out_dir: Path, *, version: str | None = None, arch: str | None = None,
              compression: str = "xz", level: int | None = None) -> Path:
    """Build ``out_dir/otscc-edge_<version>_<arch>.deb`` from a bundle folder; returns its path.

    Args:
        bundle: ``dist/otscc-edge`` (built by ``make bundle``).
        out_dir: where the .deb goes.
        version, arch: default from pyproject.toml and dpkg.
        compression: ``xz`` (smallest; every dpkg reads it), ``zstd`` (faster; dpkg >= 1.21.18) or ``gzip``.
        level: compressor level (default: dpkg-deb's).

    Raises:
        PackagingError: no bundle, no dpkg-deb, or dpkg-deb failed.
    """
    version = version or project_version()
    arch = arch or dpkg_architecture()
    if shutil.which("dpkg-deb") is None:
        raise PackagingError("dpkg-deb not found; build the Debian package on Debian/Ubuntu (apt install dpkg)")
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{NAME}_{version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="otscc-deb-", dir=out_dir) as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        stage(Path(bundle), root, version, arch)
        cmd = ["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(root), str(deb)]
        if level is not None:
            cmd.insert(3, f"-z{level}")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PackagingError(f"dpkg-deb failed ({proc.returncode}): {proc.stderr.strip()}")
    log.info("built %s (%.1f MB)", deb, deb.stat().st_size / 1e6)
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.packaging.deb", description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", default=str(ROOT / "dist" / NAME), help="bundle folder (default: dist/otscc-edge)")
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist)")
    parser.add_argument("--compression", default="xz", choices=("xz", "zstd", "gzip"),
                        help="dpkg-deb compressor (default: xz, the smallest)")
    parser.add_argument("--level", type=int, default=None, help="compression level (default: dpkg-deb's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        deb = build_deb(Path(args.bundle), Path(args.out), compression=args.compression, level=args.level)
    except PackagingError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(f"{deb}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
