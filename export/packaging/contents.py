"""``python -m export.packaging.contents [BUNDLE]``: list what a built bundle holds and what it must not.

A bundle holds Python modules in two places: files under ``_internal/`` (extension modules, data, shared
libraries) and the ``PYZ`` archive embedded in each executable (pure-Python modules). Both are listed, so a
training library cannot hide in either. Needs PyInstaller (the ``dev`` extra) to read the archives.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from export.packaging.spec import FORBIDDEN, NAME, ROOT

EXECUTABLES = ("otscc", "otscc-gui")
#: Qt modules and data the bundle leaves out (their presence means the spec's excludes stopped working)
QT_UNUSED = ("QtQml", "QtQuick", "QtWebEngine", "Qt3D", "QtMultimedia", "QtNetwork", "QtPdf", "QtTest")
#: distribution names of the forbidden packages (their .dist-info folders)
FORBIDDEN_DISTS = ("tensorflow", "tf_keras", "keras", "scikit_learn", "scipy", "tensorboard", "nncf", "tf2onnx",
                   "torch")


@dataclass
class BundleContents:
    root: Path
    files: list[str]  # paths relative to root, '/'-separated
    modules: dict[str, list[str]]  # executable -> module names in its embedded PYZ archive

    @property
    def size_bytes(self) -> int:
        return sum((self.root / f).stat().st_size for f in self.files if not (self.root / f).is_symlink())


def executable(root: Path, name: str) -> Path:
    """``root/name`` (``name.exe`` on Windows)."""
    path = root / name
    return path if path.exists() else path.with_suffix(".exe")


def list_bundle(root: Path) -> BundleContents:
    """Every file under ``root`` and every module of each executable's PYZ archive."""
    from PyInstaller.archive.readers import CArchiveReader

    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    modules = {}
    for name in EXECUTABLES:
        archive = CArchiveReader(str(executable(root, name)))
        modules[name] = sorted(archive.open_embedded_archive("PYZ.pyz").toc)
    return BundleContents(root, files, modules)


def _top(name: str) -> str:
    return name.split("/")[0].split(".")[0]


def forbidden(contents: BundleContents) -> list[str]:
    """Files and modules of TensorFlow, tf-keras, Keras, scikit-learn, SciPy (and the training package)."""
    hits = []
    for f in contents.files:
        parts = f.split("/")
        inner = parts[1:] if parts[0] == "_internal" else parts
        if not inner:
            continue
        top = inner[0].lower()
        if top.split(".")[0] in FORBIDDEN or top.split("-")[0] in FORBIDDEN_DISTS or "libtensorflow" in top:
            hits.append(f)
    for exe, modules in contents.modules.items():
        hits += [f"{exe}:PYZ/{m}" for m in modules if _top(m) in (*FORBIDDEN, "training")]
    return hits


def unused_qt(contents: BundleContents) -> list[str]:
    """Qt modules/libraries/translations that should have been left out."""
    hits = [f for f in contents.files if "/translations/" in f and "PySide6" in f]
    qt_files = [f for f in contents.files if "PySide6/" in f or "libQt6" in f]
    names = [*QT_UNUSED, *(q.replace("Qt", "Qt6", 1) for q in QT_UNUSED)]  # QtQuick module, libQt6Quick library
    hits += [f for f in qt_files if any(q in Path(f).name for q in names)]
    for exe, modules in contents.modules.items():
        hits += [f"{exe}:PYZ/{m}" for m in modules if m.startswith("PySide6.") and any(q in m for q in QT_UNUSED)]
    return hits


def top_sizes(contents: BundleContents, n: int = 15) -> list[tuple[str, int]]:
    """The ``n`` largest top-level entries of ``_internal`` (packages, libraries) by size."""
    sizes: dict[str, int] = {}
    for f in contents.files:
        parts = f.split("/")
        key = parts[1] if parts[0] == "_internal" and len(parts) > 1 else parts[0]
        if not (contents.root / f).is_symlink():  # PyInstaller links some libraries to the top: count them once
            sizes[key] = sizes.get(key, 0) + (contents.root / f).stat().st_size
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:n]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]) if argv else ROOT / "dist" / NAME
    contents = list_bundle(root)
    report = {"bundle": str(root), "files": len(contents.files), "size_mb": round(contents.size_bytes / 1e6, 1),
              "modules": {k: len(v) for k, v in contents.modules.items()}, "forbidden": forbidden(contents),
              "unused_qt": unused_qt(contents),
              "largest_mb": {k: round(v / 1e6, 1) for k, v in top_sizes(contents)}}
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 1 if report["forbidden"] or report["unused_qt"] else 0


if __name__ == "__main__":
    sys.exit(main())
