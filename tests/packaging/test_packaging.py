"""Fast checks of the packaging code and files (no bundle needed): what the spec keeps out, the Debian package
layout (built from a fake two-file bundle), the content checks, icons, installer script and CI workflow."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from export.packaging import contents, deb, icon, spec
from export.packaging.sandbox import clean_command, offline
from inference import __version__

ROOT = spec.ROOT
PACKAGING = ROOT / "assets" / "packaging"


def test_the_app_reports_the_packaged_version():
    assert __version__ == spec.project_version(), "inference/__init__.py and pyproject.toml disagree"


def test_training_libraries_and_unused_qt_are_excluded():
    for name in (*spec.FORBIDDEN, "training", "torch", "nncf", "tf2onnx", "tensorboard", "openvino_telemetry",
                 "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtWebEngineCore", "PySide6.Qt3DCore",
                 "PySide6.QtMultimedia"):
        assert name in spec.EXCLUDES, name
    assert spec.dropped("PySide6/Qt/translations/qtbase_de.qm")
    assert spec.dropped("openvino/libs/libopenvino_tensorflow_frontend.so.2641")
    assert not spec.dropped("openvino/libs/libopenvino_onnx_frontend.so.2641")
    assert not spec.dropped("openvino/libs/libopenvino_ir_frontend.so.2641")
    assert not spec.dropped("PySide6/Qt/plugins/platforms/libqxcb.so")
    assert not spec.dropped("PySide6/Qt/plugins/platforms/libqoffscreen.so")
    assert spec.dropped("PySide6/Qt/plugins/imageformats/libqjpeg.so")
    assert not spec.dropped("PySide6/Qt/plugins/imageformats/libqsvg.so")  # SVG icons
    assert spec.dropped("openvino/libs/libopenvino_auto_plugin.so")
    assert not spec.dropped("openvino/libs/libopenvino_intel_gpu_plugin.so")  # iGPU support stays


def test_runtime_libraries_that_load_parts_of_themselves_are_collected():
    binaries, datas = spec.library_files()
    names = {Path(src).name for src, _ in binaries}
    # OpenVINO scans its libs folder for plugins and frontends (a frozen build once missed the versioned
    # frontends: OpenVINO could then read neither the IR nor the ONNX file)
    for wanted in ("libopenvino_intel_cpu_plugin.so", "libopenvino_ir_frontend.so", "libopenvino_onnx_frontend.so"):
        assert any(n.startswith(wanted) for n in names), wanted
    assert not any("tensorflow" in n or "pytorch" in n or "paddle" in n for n in names)
    assert any(Path(src).name == "paramSchema.yaml" for src, _ in datas)  # pyradiomics validates params with it
    assert any(Path(src).name == "schemaFuncs.py" for src, _ in datas)
    assert any(Path(src).name.startswith("ai_edge_litert") for src, _ in datas)  # versions in provenance


def test_bundled_assets_include_the_self_test_reference_and_leave_training_files_out():
    dests = {(Path(src).name, dest) for src, dest in spec.asset_datas()}
    for wanted in (("reference.json", "assets/selftest"), ("features.json", "assets/selftest"),
                   ("mask.nii.gz", "assets/selftest"), ("radiomics.yaml", "assets"), ("nomogram.json", "assets"),
                   ("cet1.nii.gz", "assets/sample_patient"), ("model_fp32.tflite", "assets/models/seg")):
        assert wanted in dests, wanted
    names = {name for name, _ in dests}
    assert not names & {"best.weights.h5", "history.json", "split.json", "learning_curves.png"}
    selftest = ROOT / "assets" / "selftest"
    shipped = {Path(src).relative_to(selftest).as_posix() for src, dest in spec.asset_datas()
               if Path(src).is_relative_to(selftest) and dest == Path(src).parent.relative_to(ROOT).as_posix()}
    reference = json.loads((selftest / "reference.json").read_text())
    for entries in reference.get("masks", {}).values():  # every stored per-variant mask ships, where it is read
        assert {e["file"] for e in entries} <= shipped


def test_model_files_follow_the_manifest(tmp_path):
    seg = tmp_path / "seg"
    seg.mkdir()
    for name in ("config.json", "best.weights.h5", "model_int8.tflite", "model.onnx", "history.json"):
        (seg / name).write_text("x")
    record = {"path": "model_int8.tflite", "sha256": "0" * 64, "bytes": 1}
    manifest = {"schema_version": 1, "model_dir": "seg",
                "variants": {"tflite-int8": {"shipped": True, "files": [record]},
                             "onnx": {"shipped": False, "files": [{"path": "model.onnx"}]}}}
    (seg / "manifest.json").write_text(json.dumps(manifest))
    assert [p.name for p in spec.model_files(seg)] == ["config.json", "manifest.json", "model_int8.tflite"]
    (seg / "manifest.json").unlink()  # development folder: everything but the training-only files
    assert [p.name for p in spec.model_files(seg)] == ["config.json", "model.onnx", "model_int8.tflite"]


def test_version_resource_is_filled(tmp_path):
    text = spec.version_file("1.2.3", tmp_path).read_text()
    assert "(1, 2, 3, 0)" in text and "'1.2.3'" in text and "@" not in text


def test_build_spec_uses_the_launchers_and_no_upx():
    text = (ROOT / "build.spec").read_text()
    compile(text, "build.spec", "exec")
    assert "launch_cli.py" in text and "launch_gui.py" in text and "upx=True" not in text
    assert 'name="otscc"' in text and 'name="otscc-gui"' in text and "console=False" in text


def test_the_console_executable_skips_qts_run_time_hook_and_sets_its_environment(monkeypatch, tmp_path):
    """PySide6's run-time hook imports QtCore in every process; the console executable leaves it out."""
    import PyInstaller

    from export.packaging import frozen

    rthooks = Path(PyInstaller.__file__).parent / "hooks" / "rthooks"
    for hook in spec.GUI_ONLY_RUNTIME_HOOKS:  # a renamed hook would silently stay in
        assert (rthooks / f"{hook}.py").is_file(), hook
    assert "spec.GUI_ONLY_RUNTIME_HOOKS" in (ROOT / "build.spec").read_text()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delenv("QT_PLUGIN_PATH", raising=False)
    frozen.qt_environment()
    qt = tmp_path / "PySide6" if sys.platform == "win32" else tmp_path / "PySide6" / "Qt"
    assert os.environ["QT_PLUGIN_PATH"] == str(qt / "plugins")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the link is made on Linux only")
def test_on_linux_otscc_gui_is_a_link_that_the_console_launcher_answers(tmp_path):
    """One module archive instead of two: the link is relative (the folder moves to /opt), replaces what was
    there, and the console launcher starts the viewer when called through it."""
    from export.packaging import frozen

    (tmp_path / "otscc").write_bytes(b"\x7fELF")
    (tmp_path / "otscc-gui").write_bytes(b"stale")
    link = spec.link_gui_alias(tmp_path)
    assert link.is_symlink() and os.readlink(link) == "otscc" and link.read_bytes() == b"\x7fELF"
    assert frozen.gui_alias("/usr/bin/otscc-gui") and frozen.gui_alias("otscc-gui.exe")
    assert not frozen.gui_alias("/opt/otscc-edge/otscc") and not frozen.gui_alias("otscc-gui-old")
    launcher = (ROOT / "export" / "packaging" / "launch_cli.py").read_text()
    assert 'elif gui_alias(sys.argv[0]):\n        args = ["gui", *args]' in launcher
    assert "spec.link_gui_alias(" in (ROOT / "build.spec").read_text()


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed (Debian/Ubuntu only)")
def test_debian_package_layout(tmp_path):
    bundle = tmp_path / "otscc-edge"
    (bundle / "_internal").mkdir(parents=True)
    for exe in deb.EXECUTABLES:
        (bundle / exe).write_text("#!/bin/sh\necho ok\n")
        (bundle / exe).chmod(0o755)
    (bundle / "_internal" / "lib.so").write_bytes(b"\0" * 10)
    path = deb.build_deb(bundle, tmp_path / "out", version="9.8.7", arch="amd64", compression="gzip")
    assert path.name == "otscc-edge_9.8.7_amd64.deb"
    field = lambda k: subprocess.run(["dpkg-deb", "-f", str(path), k], capture_output=True, text=True).stdout.strip()  # noqa: E731
    assert (field("Version"), field("Architecture"), field("Package")) == ("9.8.7", "amd64", "otscc-edge")
    listing = subprocess.run(["dpkg-deb", "-c", str(path)], capture_output=True, text=True).stdout
    assert "./usr/bin/otscc -> /opt/otscc-edge/otscc" in listing
    assert "./usr/bin/otscc-gui -> /opt/otscc-edge/otscc-gui" in listing
    exe_line = next(line for line in listing.splitlines() if line.endswith("/opt/otscc-edge/otscc"))
    assert "rwxr-xr-x root/root" in exe_line
    for wanted in ("./usr/share/applications/otscc-edge.desktop", "./usr/share/doc/otscc-edge/copyright",
                   "./usr/share/icons/hicolor/256x256/apps/otscc-edge.png", "./opt/otscc-edge/_internal/lib.so"):
        assert wanted in listing, wanted


def test_deb_refuses_a_folder_that_is_not_a_bundle(tmp_path):
    with pytest.raises(deb.PackagingError, match="make bundle"):
        deb.build_deb(tmp_path, tmp_path / "out", version="1", arch="amd64")


def test_desktop_entry_is_valid():
    text = (PACKAGING / "otscc-edge.desktop").read_text()
    assert text.startswith("[Desktop Entry]") and "Exec=otscc-gui %f" in text and "Icon=otscc-edge" in text
    validator = shutil.which("desktop-file-validate")
    if validator:
        proc = subprocess.run([validator, str(PACKAGING / "otscc-edge.desktop")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_icons_are_well_formed(tmp_path):
    written = icon.write_icons(tmp_path)
    for path in written:  # the committed icons are what the generator writes
        assert path.read_bytes() == (PACKAGING / path.name).read_bytes(), f"{path.name}: re-run export.packaging.icon"
    png = (PACKAGING / "otscc-edge.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (256, 256)
    ico = (PACKAGING / "otscc-edge.ico").read_bytes()
    assert struct.unpack("<HHH", ico[:6]) == (0, 1, len(icon.ICO_SIZES))
    assert (PACKAGING / "otscc-edge.icns").read_bytes()[:4] == b"icns"


def test_forbidden_finds_files_and_archived_modules(tmp_path):
    listing = contents.BundleContents(tmp_path, ["_internal/tensorflow/__init__.pyc", "_internal/numpy/x.so",
                                                 "_internal/scikit_learn-1.0.dist-info/METADATA"],
                                      {"otscc": ["numpy", "keras.src.layers", "training.seg"], "otscc-gui": []})
    assert contents.forbidden(listing) == ["_internal/tensorflow/__init__.pyc",
                                           "_internal/scikit_learn-1.0.dist-info/METADATA",
                                           "otscc:PYZ/keras.src.layers", "otscc:PYZ/training.seg"]
    clean = contents.BundleContents(tmp_path, ["_internal/numpy/x.so"], {"otscc": ["numpy", "inference.cli"]})
    assert contents.forbidden(clean) == []
    qt = contents.BundleContents(tmp_path, ["_internal/PySide6/Qt/translations/qt_de.qm",
                                            "_internal/PySide6/Qt/lib/libQt6Quick.so.6"], {"otscc": ["PySide6.QtQml"]})
    assert len(contents.unused_qt(qt)) == 3


def test_inno_setup_script_installs_per_user():
    text = (PACKAGING / "otscc-edge.iss").read_text()
    setup = dict(line.split("=", 1) for line in text.split("[Setup]")[1].split("[")[0].splitlines() if "=" in line)
    assert setup["PrivilegesRequired"] == "lowest"  # per-user: {autopf} is %LOCALAPPDATA%\Programs then
    assert "PrivilegesRequiredOverridesAllowed" not in setup  # the user cannot switch to an all-users install
    assert setup["DefaultDirName"].startswith("{autopf}") and "HKLM" not in text
    assert "otscc-gui.exe" in text and setup["SetupIconFile"] == "otscc-edge.ico"


def test_ci_workflow_builds_on_three_systems():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "build.yml").read_text())
    build = workflow["jobs"]["build"]
    assert set(build["strategy"]["matrix"]["os"]) >= {"ubuntu-22.04", "windows-2022", "macos-14"}
    steps = " ".join(json.dumps(s) for s in build["steps"])
    for needed in ("pyinstaller", "build.spec", "self-test", "no-build-isolation", "constraints.txt", "dpkg-deb",
                   "iscc", "upload-artifact", "3.11"):
        assert needed in steps, needed


def test_ci_workflow_is_valid_for_github_actions(tmp_path):
    """Against the GitHub Actions workflow schema that check-jsonschema vendors (no network): the workflow has
    never run (no hosted CI here), so this is the strongest check available before its first run."""
    pytest.importorskip("check_jsonschema")
    workflow = ROOT / ".github" / "workflows" / "build.yml"
    run = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                          str(workflow)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    broken = tmp_path / "build.yml"  # and it can fail: a step with both `uses` and `run` is invalid
    broken.write_text(workflow.read_text().replace("    steps:\n", "    steps:\n      - uses: x/y@v1\n"
                                                   "        run: echo both\n", 1))
    bad = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                          str(broken)], capture_output=True, text=True, timeout=120)
    assert "    steps:\n" in workflow.read_text() and bad.returncode != 0, bad.stdout


@pytest.mark.skipif(os.name != "posix", reason="POSIX sandbox")
def test_sandbox_takes_the_network_away(tmp_path):
    iso = offline(tmp_path)
    if iso.method == "none":
        pytest.skip("neither unshare nor a C compiler for the LD_PRELOAD shim is available here")
    cmd = clean_command(["/bin/sh", "-c", "echo $PATH $HOME $VIRTUAL_ENV $PYTHONPATH"], tmp_path, iso)
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": "x"}).stdout.split()
    assert out == ["/usr/bin:/bin", str(tmp_path)]


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("strip") is None, reason="needs binutils")
def test_strip_symbols_strips_plain_libraries_and_leaves_patchelf_ones(tmp_path):
    """Plain extension modules lose their symbol table and still load; a wheel's ``*.libs`` file and anything
    with a RUNPATH (auditwheel/patchelf rewrote them; strip broke numpy's OpenBLAS) are not touched."""
    import ctypes

    import kiwisolver
    import numpy

    plain = next(Path(kiwisolver.__file__).parent.glob("_cext*.so"))  # built with symbols, no RUNPATH
    patched = next(Path(numpy.__file__).parent.glob("_core/_multiarray_umath*.so"))  # RUNPATH numpy.libs
    (tmp_path / "pkg.libs").mkdir()
    copies = {name: shutil.copy(src, tmp_path / dest) for name, src, dest in
              (("plain", plain, plain.name), ("runpath", patched, patched.name),
               ("vendored", plain, f"pkg.libs/{plain.name}"))}
    before = {name: Path(p).read_bytes() for name, p in copies.items()}
    result = spec.strip_symbols(tmp_path)
    assert result["stripped"] == 1 and result["saved_mb"] > 1
    assert Path(copies["plain"]).stat().st_size < len(before["plain"])
    ctypes.CDLL(str(copies["plain"]))  # still a loadable library
    assert Path(copies["runpath"]).read_bytes() == before["runpath"]
    assert Path(copies["vendored"]).read_bytes() == before["vendored"]


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("readelf") is None,
                    reason="ELF dependencies: Linux with binutils' readelf")
def test_system_libraries_only_a_dropped_binary_needed_are_left_out():
    """libcairo stayed behind when the GTK theme plugin that needs it was dropped; libpixman only libcairo
    needs (dropped on the second pass); libssl and libcrypto, which Python's _ssl needs, stay."""
    import _ssl

    system = Path("/usr/lib/x86_64-linux-gnu")
    libs = ("libssl.so.3", "libcrypto.so.3", "libcairo.so.2", "libpixman-1.so.0")
    if not all((system / n).is_file() for n in libs):
        pytest.skip(f"needs {', '.join(libs)} in {system}")
    ssl_module = Path(_ssl.__file__)
    entries = [(f"python3.11/lib-dynload/{ssl_module.name}", str(ssl_module), "EXTENSION"),
               *((n, str(system / n), "BINARY") for n in libs)]
    kept, dropped = spec.drop_orphan_libraries(entries)
    assert dropped == ["libcairo.so.2", "libpixman-1.so.0"]
    assert [e[0] for e in kept] == [entries[0][0], "libssl.so.3", "libcrypto.so.3"]
    # a library inside a wheel's package folder is never a candidate, needed or not
    wheel_lib = ("PySide6/Qt/lib/libicudata.so.73", str(system / "libpixman-1.so.0"), "BINARY")
    assert spec.drop_orphan_libraries([wheel_lib]) == ([wheel_lib], [])


def test_icu_data_is_slimmed_only_when_every_answer_qt_uses_stays_the_same(tmp_path, monkeypatch):
    """The slim library answers the 272 probes (collation keys, converters, time zones, case mapping) exactly
    as the full one and is half its size; a slimming that drops data Qt reads (collation) is refused and the
    original library stays in place."""
    from export.packaging import icu

    qt_lib = Path(__import__("PySide6").__file__).parent / "Qt" / "lib"
    libs = sorted(qt_lib.glob("libicudata.so.*"))
    if not sys.platform.startswith("linux") or not libs or None in map(shutil.which, ("icupkg", "cc", "readelf")):
        pytest.skip("needs Linux, PySide6's ICU libraries and icupkg (icu-devtools), cc, readelf")
    version = libs[0].name.rsplit(".", 1)[-1]
    broken = {"coll/": "ucol", "zone/": "ucal display", "cnvalias": "ucnv"}  # data Qt's calls do read
    DROP = icu.DROP  # noqa: N806
    for case in ("slim", *broken):
        (tmp_path / case).mkdir()
        for name in ("libicudata", "libicuuc", "libicui18n"):
            shutil.copy2(qt_lib / f"{name}.so.{version}", tmp_path / case / f"{name}.so.{version}")
    result = icu.slim_icu_data(tmp_path / "slim")
    assert result["checks"] > 200 and result["after_mb"] < 0.6 * result["before_mb"], result
    assert (tmp_path / "slim" / libs[0].name).stat().st_size < libs[0].stat().st_size
    original = libs[0].read_bytes()
    for extra, answers in broken.items():
        monkeypatch.setattr(icu, "DROP", (*DROP, extra))
        refused = icu.slim_icu_data(tmp_path / extra)
        assert f"answers differently ({answers}" in refused["skipped"], (extra, refused)
        assert (tmp_path / extra / libs[0].name).read_bytes() == original
    monkeypatch.setattr(icu, "_probe", lambda folder, version: 1 / 0)  # any failure: skipped, never a failed build
    crashed = icu.slim_icu_data(tmp_path / "coll/")
    assert crashed["skipped"].startswith("ZeroDivisionError")
    assert (tmp_path / "coll/" / libs[0].name).read_bytes() == original


def test_the_cpu_only_bundle_leaves_out_the_gpu_parts_and_only_it(monkeypatch):
    gpu = ("openvino/libs/libopenvino_intel_gpu_plugin.so",
           "openvino/libs/libopenvino_intel_npu_plugin.so", "ai_edge_litert/libLiteRtWebGpuAccelerator.so")
    cpu = ("openvino/libs/libopenvino_intel_cpu_plugin.so", "ai_edge_litert/libLiteRt.so")
    monkeypatch.delenv("OTSCC_BUNDLE_CPU_ONLY", raising=False)
    assert not any(map(spec.dropped, gpu + cpu))
    monkeypatch.setenv("OTSCC_BUNDLE_CPU_ONLY", "1")
    assert all(map(spec.dropped, gpu)) and not any(map(spec.dropped, cpu))
