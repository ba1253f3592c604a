"""What goes into the PyInstaller bundle: the lists ``build.spec`` uses, kept here so tests can check them.

The bundle is the runtime only (inference/, desktop/, ``otscc benchmark``): LiteRT, ONNX Runtime, OpenVINO,
SimpleITK, pyradiomics, PySide6 (Essentials), pyqtgraph, numpy and the shipped assets. No matplotlib or Pillow:
the report is drawn by inference/pdf.py, the benchmark chart by export/raster.py.
Training and export code and their libraries (TensorFlow, tf-keras, scikit-learn, SciPy, NNCF, tf2onnx) stay out.

Lazy imports (``importlib``: CLI commands, backends, pyradiomics' feature classes) are invisible to
PyInstaller's analysis, hence ``hidden_imports()``. This module imports PyInstaller only inside the
functions that need it (the ``dev`` extra).
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
from pathlib import Path

from inference.backends.base import GPU_PARTS

ROOT = Path(__file__).resolve().parents[2]
NAME = "otscc-edge"

#: never in the bundle: training-only libraries and their heavy friends (a test lists the bundle for them);
#: SciPy with its own OpenBLAS was 85 MB of the bundle, and the runtime does without it (inference/imageops.py)
FORBIDDEN = ("tensorflow", "tf_keras", "keras", "sklearn", "scipy")
EXCLUDES = (
    *FORBIDDEN, "tensorboard", "tensorflow_model_optimization", "tensorflow_estimator", "torch", "jax", "nncf",
    "tf2onnx", "onnx", "h5py", "training", "IPython", "jupyter_client", "notebook", "tkinter", "_tkinter",
    "pytest", "_pytest", "pytestqt", "pandas", "nibabel", "pydicom_data",
    # build tools (something in the graph names setuptools; its run-time hook then costs start-up time)
    "setuptools", "pkg_resources", "distutils", "_distutils_hack", "pip", "wheel",
    # OpenVINO: the runtime (openvino.Core) only; its model-conversion tools, framework frontends' Python
    # parts and the telemetry package (used by those tools) stay out
    "openvino_telemetry", "openvino.tools", "openvino.torch", "openvino.frontend.pytorch",
    "openvino.frontend.tensorflow", "openvino.frontend.jax", "openvino.frontend.paddle",
    # LiteRT: model analysis/AOT/NPU-vendor tooling, not the interpreter
    "ai_edge_litert.aot", "ai_edge_litert.tools",
    # pyradiomics' batch command line (pandas, multiprocessing): the runtime calls the extractor directly
    "radiomics.scripts",
    # development-only parts of our own packages
    "desktop.screenshot",
    # Qt modules the GUI does not use (PySide6-Essentials ships them; PyInstaller would follow imports)
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuick3D", "PySide6.Qt3DCore",
    "PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets", "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets",
    "PySide6.QtNetwork", "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtDesigner", "PySide6.QtHelp",
    "PySide6.QtUiTools", "PySide6.QtXml", "PySide6.QtConcurrent", "PySide6.QtDBus", "PySide6.QtPdf",
    "PySide6.QtPdfWidgets", "PySide6.QtCharts", "PySide6.QtDataVisualization", "PySide6.QtBluetooth",
    "PySide6.QtPositioning", "PySide6.QtSerialPort", "PySide6.QtStateMachine", "PySide6.QtTextToSpeech",
    "PyQt5", "PyQt6", "PySide2",
    # matplotlib, its stack and Pillow (training's charts only; ~35 MB): inference/pdf.py draws the report and
    # export/raster.py the benchmark chart (DICOM pixels are decoded by SimpleITK, not by pydicom's Pillow path)
    "matplotlib", "mpl_toolkits", "fontTools", "contourpy", "kiwisolver", "cycler", "PIL",
)

#: binaries/data dropped after analysis (glob on the destination path inside the bundle)
DROP = (
    # OpenVINO frontends for frameworks we never read (IR and ONNX stay: openvino-int8 and model.onnx)
    "openvino/libs/libopenvino_tensorflow_frontend*", "openvino/libs/libopenvino_tensorflow_lite_frontend*",
    "openvino/libs/libopenvino_pytorch_frontend*", "openvino/libs/libopenvino_paddle_frontend*",
    "openvino/libs/libopenvino_jax_frontend*", "openvino/libs/libopenvino_gguf_frontend*",
    "openvino/libs/openvino_tensorflow_frontend*", "openvino/libs/openvino_pytorch_frontend*",
    "openvino/libs/openvino_paddle_frontend*", "openvino/libs/openvino_jax_frontend*",
    "openvino/libs/openvino_tensorflow_lite_frontend*", "openvino/libs/openvino_gguf_frontend*",
    "openvino/frontend/pytorch/*", "openvino/frontend/tensorflow/*", "openvino/frontend/jax/*",
    "openvino/frontend/paddle/*", "openvino/include/*", "openvino/cmake/*", "openvino/libs/libopenvino_c.so*",
    "ai_edge_litert/tools/*", "ai_edge_litert/aot/*", "ai_edge_litert/vendors/*",
    # Qt: translations (the GUI is English only and installs no QTranslator) and libraries of the modules above
    "PySide6/Qt/translations/*", "PySide6/translations/*",
    "*Qt6Qml*", "*Qt6Quick*", "*Qt6Pdf*", "*Qt6Network*", "*Qt6VirtualKeyboard*", "*Qt6WebEngine*",
    "*Qt63D*", "*Qt6Multimedia*", "*Qt6Sql*", "*Qt6Test*",
    "PySide6/Qt/plugins/qmltooling/*", "PySide6/Qt/plugins/networkinformation/*", "PySide6/Qt/plugins/tls/*",
    "PySide6/Qt/plugins/platforminputcontexts/*", "PySide6/Qt/plugins/virtualkeyboard/*",
    "PySide6/Qt/plugins/sqldrivers/*", "PySide6/Qt/plugins/multimedia/*",
    "PySide6/qml/*", "PySide6/Qt/qml/*",
    # Qt platform plugins for embedded/kiosk displays and the GTK theme (needs GTK, pulls cairo/glib): a desktop
    # PC uses xcb or wayland (offscreen for tests); the xdg-desktop-portal theme stays
    "PySide6/Qt/plugins/platforms/libqeglfs*", "PySide6/Qt/plugins/platforms/libqlinuxfb*",
    "PySide6/Qt/plugins/platforms/libqvnc*", "PySide6/Qt/plugins/platforms/libqvkkhrdisplay*",
    "PySide6/Qt/plugins/platforms/libqminimalegl*", "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/generic/*", "PySide6/Qt/plugins/platformthemes/libqgtk3*", "*Qt6EglFS*", "*Qt6EglFs*",
    # Qt image formats nothing here reads or writes (the GUI's images are arrays; icons are PNG, built into
    # QtGui, and SVG; pyqtgraph's image export then offers PNG/BMP/PPM/XBM/XPM)
    *(f"PySide6/*plugins/imageformats/*q{f}*" for f in ("jpeg", "webp", "tiff", "tga", "wbmp", "icns", "gif", "ico")),
    # OpenVINO's virtual devices (AUTO, HETERO, BATCH): the openvino backends compile for CPU, GPU or NPU by name
    "openvino/libs/libopenvino_auto_plugin*", "openvino/libs/libopenvino_hetero_plugin*",
    "openvino/libs/libopenvino_auto_batch_plugin*",
    # the GPU plugin's kernel tuning cache (8.8 MB): kernel choices collected for the layer shapes of public
    # benchmark networks, keyed by kernel-parameter hashes; for other shapes the plugin uses its heuristics, and
    # OpenVINO's maintainers call it functionally optional ("might improve the performance a little in some
    # cases"). Not measurable here (no Intel GPU); docs/packaging.md
    "openvino/libs/cache.json",
)

#: distributions whose metadata (version, license files) goes into the bundle
METADATA = ("ai-edge-litert", "onnxruntime", "openvino", "SimpleITK", "pyradiomics", "numpy", "PyWavelets",
            "pydicom", "PyYAML", "PySide6-Essentials", "shiboken6", "pyqtgraph", "psutil")

#: PyInstaller run-time hooks the console executable ``otscc`` leaves out: PySide6's imports QtCore at every
#: start (+0.06-0.07 s per command, the frozen CLI's main start-up cost); ``frozen.qt_environment`` sets its
#: environment instead, so ``otscc gui`` still starts the viewer
GUI_ONLY_RUNTIME_HOOKS = ("pyi_rth_pyside6",)

#: files of the model folder that are never shipped (training logs; the Keras weights need TensorFlow)
MODEL_TRAINING_ONLY = ("best.weights.h5", "history*.json", "split.json", "learning_curves.png", "eval_fresh.json",
                       "saved_model", "*.engine", "tf_trt", "training_patients.json")


#: left out as well by ``make bundle-cpu`` (``OTSCC_BUNDLE_CPU_ONLY=1``): the GPU/NPU parts of the runtimes. That
#: bundle runs every CPU backend; `--backend auto` then never finds an Intel iGPU/NPU (OpenVINO) or a WebGPU
#: device (LiteRT) and says so. A size option for the product decision in docs/packaging.md, not the default.
CPU_ONLY_DROP = tuple(f"{package}/{part[0]}" for (package, _), part in GPU_PARTS.items())


def cpu_only() -> bool:
    return os.environ.get("OTSCC_BUNDLE_CPU_ONLY") == "1"


def dropped(dest: str) -> bool:
    """True when a bundle path (``dest`` of a TOC entry, '/'-separated) matches ``DROP`` (and, for a CPU-only
    bundle, ``CPU_ONLY_DROP``)."""
    dest = dest.replace("\\", "/")
    patterns = DROP + CPU_ONLY_DROP if cpu_only() else DROP
    return any(fnmatch.fnmatch(dest, pattern) for pattern in patterns)


def model_files(model_dir: Path) -> list[Path]:
    """Files of the shipped model folder that go into the bundle.

    With a manifest: the files of every variant it marks shipped that can run without a GPU build step,
    plus ``config.json``, ``eval_test.json`` (the report quotes its Dice) and ``model_card.md``. Without
    one (a development folder): every file except the training-only ones.
    """
    from inference.backends.manifest import find_manifest

    manifest = find_manifest(model_dir)
    keep = {model_dir / n for n in ("config.json", "eval_test.json", "model_card.md") if (model_dir / n).is_file()}
    if manifest is not None:
        keep.add(manifest.path)
        for variant in manifest.shipped().values():
            keep.update(manifest.root / r["path"] for r in variant.get("files", []))
        return sorted(p for p in keep if p.is_file())
    files = [p for p in model_dir.iterdir() if p.is_file()
             and not any(fnmatch.fnmatch(p.name, pat) for pat in MODEL_TRAINING_ONLY)]
    return sorted(set(files) | keep)


def asset_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """``(source, destination folder)`` pairs for the shipped assets (destinations mirror ``assets/``)."""
    assets = root / "assets"
    # manifest.json: the SHA-256s of the parameter files, checked before they are used (without it a bundle
    # would load them as "unverified")
    from inference.assets import PARAMETER_FILES

    datas = [(str(assets / n), "assets") for n in (*PARAMETER_FILES, "manifest.json")]
    for folder in ("sample_patient", "sample_patient_dicom", "selftest"):
        datas += [(str(p), p.parent.relative_to(root).as_posix()) for p in sorted((assets / folder).rglob("*"))
                  if p.is_file()]
    seg = assets / "models" / "seg"
    for path in model_files(seg):
        datas.append((str(path), path.parent.relative_to(root).as_posix()))
    datas += [(str(assets / "packaging" / f"{NAME}.{ext}"), "assets/packaging") for ext in ("png", "svg")]
    return datas


def hidden_imports() -> list[str]:
    """Modules imported with ``importlib`` (invisible to the analysis)."""
    from PyInstaller.utils.hooks import collect_submodules

    def runtime(name: str) -> bool:
        return not any(name == e or name.startswith(e + ".") for e in EXCLUDES)

    mods = collect_submodules("inference") + collect_submodules("desktop", filter=runtime)
    # `otscc benchmark` (also behind the GUI's Help > Benchmark this device); it imports no TensorFlow
    mods += ["export", "export.commands", "export.commands.benchmark", "export.benchmark"]
    mods += ["export.packaging", "export.packaging.frozen"]  # the launchers' start-up adjustments
    # pyradiomics loads its feature classes by name (radiomics.getFeatureClasses walks the package)
    mods += collect_submodules("radiomics", filter=runtime)
    mods += ["pykwalify", "pykwalify.core", "pywt", "ai_edge_litert.interpreter", "ai_edge_litert.compiled_model",
             "ai_edge_litert.hardware_accelerator", "ai_edge_litert.options", "onnxruntime", "openvino", "psutil"]
    return sorted(set(mods))


def library_files() -> tuple[list, list]:
    """(binaries, datas) of the runtime libraries that load parts of themselves at run time."""
    from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, copy_metadata

    # OpenVINO finds its plugins and model-format frontends by scanning its libs folder at run time; the
    # frontends and oneTBB's helpers are versioned (libopenvino_onnx_frontend.so.2641), hence "lib*.so.*"
    patterns = ["*.dll", "*.dylib", "lib*.so", "lib*.so.*"]
    binaries = [b for b in collect_dynamic_libs("openvino", search_patterns=patterns)
                + collect_dynamic_libs("ai_edge_litert", search_patterns=patterns)
                if not dropped(f"{b[1]}/{Path(b[0]).name}")]
    datas = collect_data_files("radiomics", include_py_files=True, subdir="schemas")  # pykwalify loads schemaFuncs.py
    datas += collect_data_files("openvino", includes=["libs/*.json", "libs/*.xml"])
    # distribution metadata: backends report runtime versions (importlib.metadata) in results and provenance,
    # and the wheels' license files travel with it
    for dist in METADATA:
        datas += copy_metadata(dist)
    return binaries, datas


def version_file(version: str, workpath: Path) -> Path:
    """The Windows version resource (``assets/packaging/version_info.txt`` with the version filled in)."""
    parts = [int(p) for p in version.split(".")[:3] if p.isdigit()]
    numbers = tuple(parts + [0] * (4 - len(parts)))
    template = (ROOT / "assets" / "packaging" / "version_info.txt").read_text()
    text = template.replace("@VERSION_TUPLE@", repr(numbers)).replace("@VERSION@", version)
    out = Path(workpath) / "version_info.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


def project_version(root: Path = ROOT) -> str:
    import tomllib

    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def summary(datas: list[tuple[str, str]]) -> str:
    """One line for the build log: how many asset files and their size."""
    size = sum(Path(src).stat().st_size for src, _ in datas)
    return json.dumps({"asset_files": len(datas), "asset_mb": round(size / 1e6, 1)})


def link_gui_alias(folder: Path) -> Path:
    """``folder/otscc-gui`` as a relative symbolic link to ``folder/otscc`` (Linux bundles).

    On Linux a console and a windowed PyInstaller executable differ in nothing but their embedded module
    archive, one copy each (2 x 14.1 MB); ``launch_cli.py`` starts the viewer when called as ``otscc-gui``.
    """
    from export.packaging.frozen import GUI_EXECUTABLE

    link = Path(folder) / GUI_EXECUTABLE
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to("otscc")
    return link


def _needed(path: str, readelf: str) -> set[str]:
    """The DT_NEEDED library names of an ELF file (empty for anything else)."""
    import re
    import subprocess

    out = subprocess.run([readelf, "-d", path], capture_output=True, text=True).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out))


def drop_orphan_libraries(binaries: list) -> tuple[list, list[str]]:
    """Leave out the system libraries that no other bundled binary needs (Linux; ``binutils``' readelf).

    PyInstaller collects a binary's dependencies before ``build.spec`` drops the binary itself (``DROP``): the
    GTK theme plugin's GTK stack (cairo, pango, gdk-pixbuf, gio, ...) stayed behind with nothing loading it.
    Candidates are top-level ``BINARY`` entries from outside any Python package (the system's ``/usr/lib``),
    and a candidate stays when any other kept binary lists it as ``NEEDED``, repeated until nothing changes.
    Returns ``(kept entries, dropped names)``; unchanged when ``readelf`` is missing. Only ``DT_NEEDED`` counts:
    a system library that something opens by name at run time (``dlopen``, ``ctypes``) would be dropped too,
    which is why the bundle tests start the GUI, the CLI and every backend after this step.
    """
    import shutil

    readelf = shutil.which("readelf")
    if readelf is None or not sys.platform.startswith("linux"):
        return binaries, []

    def candidate(entry) -> bool:
        dest, src, kind = entry[0].replace("\\", "/"), str(entry[1]), entry[2]
        return (kind == "BINARY" and "/" not in dest and not dest.startswith("libpython")
                and "site-packages" not in src and "dist-packages" not in src)

    needed = {entry[0]: _needed(str(entry[1]), readelf) for entry in binaries}
    kept, dropped_names = list(binaries), []
    while True:
        wanted = set().union(*(needed[e[0]] for e in kept))
        orphans = [e for e in kept if candidate(e) and e[0] not in wanted]
        if not orphans:
            return kept, sorted(dropped_names)
        dropped_names += [e[0] for e in orphans]
        kept = [e for e in kept if e not in orphans]


def strip_symbols(folder: Path) -> dict:
    """Strip the symbol tables of the bundle's ELF files that can take it, in place (Linux; ``binutils``).

    PyInstaller's own ``strip=True`` strips everything and breaks the libraries that auditwheel rewrote with
    patchelf ("ELF load command address/offset not page-aligned" from numpy's OpenBLAS). Left alone here:
    anything in a wheel's ``*.libs`` folder and anything with an ``$ORIGIN`` RPATH/RUNPATH (both marks of
    auditwheel's patchelf; an absolute build-time RUNPATH, as pyenv's libpython has, is the linker's).
    ``--strip-unneeded`` keeps the dynamic symbols, so loading and linking do not change.
    """
    import shutil
    import subprocess

    strip, readelf = shutil.which("strip"), shutil.which("readelf")
    if strip is None or readelf is None:
        return {"stripped": 0, "saved_mb": 0.0, "skipped": "strip/readelf not found (binutils)"}
    done, saved = 0, 0
    for path in sorted(Path(folder).rglob("*.so*")):
        if not path.is_file() or path.is_symlink() or any(p.endswith(".libs") for p in path.parts):
            continue
        dynamic = subprocess.run([readelf, "-d", str(path)], capture_output=True, text=True)
        if dynamic.returncode != 0 or "$ORIGIN" in dynamic.stdout:
            continue
        before = path.stat().st_size
        if subprocess.run([strip, "--strip-unneeded", str(path)], capture_output=True).returncode == 0:
            done, saved = done + 1, saved + before - path.stat().st_size
    return {"stripped": done, "saved_mb": round(saved / 1e6, 1)}
