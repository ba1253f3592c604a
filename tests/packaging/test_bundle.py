"""Checks of the built bundle (dist/otscc-edge) and its Debian package, run by ``make bundle-test``.

The package is extracted into a temporary root (what ``dpkg -i`` would install, under that root) and run
from there with a clean environment (``env -i``, PATH=/usr/bin:/bin, a temporary HOME, no virtualenv or
PYTHONPATH) and without network (``export.packaging.sandbox.offline``: ``unshare -n`` where allowed).
Measured sizes and times go to ``dist/bundle-test.json`` (docs/packaging.md quotes them).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from export.packaging import contents as bundle_contents
from export.packaging.sandbox import clean_command, extract_deb, offline
from export.packaging.spec import NAME, ROOT, project_version
from inference.assets import SAMPLE_PATIENT

pytestmark = [pytest.mark.bundle, pytest.mark.slow]

BUNDLE = Path(os.environ.get("OTSCC_BUNDLE", ROOT / "dist" / NAME))
ENABLED = os.environ.get("OTSCC_BUNDLE_TEST") == "1"
if not ENABLED:
    pytest.skip("bundle checks run with `make bundle-test` (it rebuilds dist/otscc-edge and the .deb first, then "
                "sets OTSCC_BUNDLE_TEST=1)", allow_module_level=True)

GUI_FIRST_WINDOW_S = 5.0
#: frozen `predict` may be at most this much slower than the virtualenv's before the test fails (the goal,
#: "no slower", is judged on the medians in docs/packaging.md; this margin absorbs a shared CI machine)
PREDICT_SLOWDOWN_ALLOWED = 1.25
MEASURED: dict = {}


def _arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def deb() -> Path:
    path = ROOT / "dist" / f"{NAME}_{project_version()}_{_arch()}.deb"
    assert path.is_file(), f"{path} missing: `make bundle-test` builds it (make installer)"
    return path


@pytest.fixture(scope="module")
def installed(deb, tmp_path_factory) -> Path:
    """The package extracted into a temporary root."""
    return extract_deb(deb, tmp_path_factory.mktemp("root"))


@pytest.fixture(scope="module")
def isolation(tmp_path_factory):
    iso = offline(tmp_path_factory.mktemp("nonet"))
    MEASURED["network_isolation"] = iso.method
    assert iso.method != "none", "no way to take the network away here (unshare -n, unshare -rn, LD_PRELOAD shim)"
    return iso


@pytest.fixture(scope="module", autouse=True)
def write_measurements():
    yield
    out = ROOT / "dist" / "bundle-test.json"
    previous = json.loads(out.read_text()) if out.is_file() else {}
    out.write_text(json.dumps({**previous, **MEASURED}, indent=2))


def _run(cmd: list[str], timeout: int = 300) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return proc, time.perf_counter() - start


def test_bundle_holds_no_training_libraries_and_no_unused_qt():
    listing = bundle_contents.list_bundle(BUNDLE)
    assert listing.files and all(listing.modules.values()), "empty listing: the check would prove nothing"
    assert any(m.startswith("radiomics.glcm") for m in listing.modules["otscc"])  # the listing sees modules
    assert bundle_contents.forbidden(listing) == []
    assert bundle_contents.unused_qt(listing) == []
    MEASURED["bundle_mb"] = round(listing.size_bytes / 1e6, 1)
    MEASURED["bundle_files"] = len(listing.files)
    MEASURED["bundle_largest_mb"] = {k: round(v / 1e6, 1) for k, v in bundle_contents.top_sizes(listing, 12)}


def test_slim_icu_data_answers_qt_as_the_full_data_does(tmp_path):
    """build.spec slims Qt's ICU data (export/packaging/icu.py checks ICU's answers); here Qt itself runs with
    the bundle's library preloaded in place of the full one: collation, case mapping, zone names, codecs and
    Qt's own file dialog must answer the same."""
    slim = next((BUNDLE / "_internal").rglob("libicudata.so.*"))
    MEASURED["icu_data_mb"] = round(slim.stat().st_size / 1e6, 1)
    assert slim.stat().st_size < 20e6, "ICU data not slimmed: see 'otscc-edge bundle ICU data' in the build log"
    names = tmp_path / "names"
    names.mkdir()
    for name in ("apple", "Äpfel", "zebra", "Ångström", "file10", "file9", "čaj", "Zürich"):
        (names / f"{name}.nii.gz").write_bytes(b"")
    probe = [sys.executable, str(Path(__file__).with_name("qt_icu_probe.py")), str(names)]
    full = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=True).stdout
    preloaded = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=True,
                               env={**os.environ, "LD_PRELOAD": str(slim)}).stdout
    assert len(json.loads(full)["dialog listing"]) == 8 and json.loads(full)["zone names"][0]
    assert preloaded == full


def test_package_metadata_and_layout(deb, installed):
    fields = {k: subprocess.run(["dpkg-deb", "-f", str(deb), k], capture_output=True, text=True).stdout.strip()
              for k in ("Package", "Version", "Architecture")}
    assert fields == {"Package": NAME, "Version": project_version(), "Architecture": _arch()}
    for exe in ("otscc", "otscc-gui"):
        assert os.readlink(installed / "usr" / "bin" / exe) == f"/opt/{NAME}/{exe}"
        assert os.access(installed / "opt" / NAME / exe, os.X_OK)
    # Linux: one executable (one module archive); the GUI's name is a relative link to it (build.spec)
    assert os.readlink(installed / "opt" / NAME / "otscc-gui") == "otscc"
    desktop = (installed / "usr/share/applications" / f"{NAME}.desktop").read_text()
    assert "Exec=otscc-gui" in desktop and f"Icon={NAME}" in desktop
    assert (installed / "usr/share/icons/hicolor/256x256/apps" / f"{NAME}.png").is_file()
    MEASURED["package_mb"] = round(deb.stat().st_size / 1e6, 1)


#: environment variables that choose a numeric library's kernels or threads: the frozen run's ``env -i`` has none
NUMERIC_LIBRARY_SETTINGS = ("OPENBLAS_", "GOTO", "OMP_", "MKL_", "NPY_")


def test_self_test_from_the_package_offline(installed, isolation, tmp_path):
    exe = str(installed / "opt" / NAME / "otscc")
    features = tmp_path / "frozen_features.json"
    proc, seconds = _run(clean_command([exe, "self-test", "--json", "--save-features", str(features)], tmp_path,
                                       isolation))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads(proc.stdout)
    rows = {c["name"]: c for c in report["checks"]}
    assert report["passed"] and report["environment"]["frozen"] is True
    assert rows["radiomics"]["status"] == rows["nomogram"]["status"] == "pass"
    segments = [c for c in report["checks"] if c["name"].startswith("segment ")]
    assert any(c["status"] == "pass" for c in segments)
    MEASURED["frozen_self_test_s"] = round(seconds, 2)
    MEASURED["frozen_self_test_rows"] = {c["name"]: c["status"] for c in report["checks"]}

    # frozen radiomics == unfrozen radiomics, feature by feature, on the same inputs and the same BLAS kernels: the
    # frozen run's clean environment drops settings such as OPENBLAS_CORETYPE (one CI machine set it to Haswell, and
    # OpenBLAS's own choice there, SkylakeX, rounds 14 of the features differently in the last digit)
    venv_features = tmp_path / "venv_features.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(NUMERIC_LIBRARY_SETTINGS)}
    proc = subprocess.run([sys.executable, "-m", "inference.cli", "self-test", "--json", "--backends", "tflite-fp32",
                           "--save-features", str(venv_features)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    frozen, unfrozen = json.loads(features.read_text()), json.loads(venv_features.read_text())
    assert len(frozen) > 1000 and frozen == unfrozen
    MEASURED["frozen_equals_unfrozen_features"] = len(frozen)


def _predict(cmd: list[str], out: Path) -> tuple[dict, float]:
    proc, seconds = _run([*cmd, "--out", str(out), "--json"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout), seconds


def _assert_same_result(frozen: dict, unfrozen: dict) -> None:
    """Frozen and virtualenv ``predict --register never`` on the same inputs: the same conclusions, bit for bit."""
    for key in ("status", "probability", "risk_group", "radscore", "points", "features_used", "tumor", "mask_sha256",
                "input_sha256"):
        assert frozen[key] == unfrozen[key], key


def test_predict_from_the_package_offline_matches_the_virtualenv(installed, isolation, tmp_path):
    import numpy as np

    from inference.commands.self_test import dice, read_mask

    exe = str(installed / "opt" / NAME / "otscc")
    sample = installed / "opt" / NAME / "_internal" / "assets" / "sample_patient"
    frozen_cmd = clean_command([exe, "predict", str(sample)], tmp_path, isolation)
    venv_cmd = [sys.executable, "-m", "inference.cli", "predict", str(SAMPLE_PATIENT)]

    # 1. the same inputs (no registration: it is reproducible only to the last bits) -> the same results
    frozen, _ = _predict([*frozen_cmd, "--register", "never"], tmp_path / "fixed-f")
    unfrozen, _ = _predict([*venv_cmd, "--register", "never"], tmp_path / "fixed-v")
    pid = frozen["patient_id"]
    _assert_same_result(frozen, unfrozen)
    masks = [read_mask(tmp_path / side / pid / "mask.nii.gz").array for side in ("fixed-f", "fixed-v")]
    assert np.array_equal(*masks)
    assert (tmp_path / "fixed-f" / pid / "report.pdf").stat().st_size > 10_000

    # 2. the real path (registration on), timed; alternate the two so machine load hits both alike
    frozen_times, venv_times = [], []
    for i in range(3):
        frozen, t = _predict(frozen_cmd, tmp_path / f"f{i}")
        frozen_times.append(t)
        unfrozen, t = _predict(venv_cmd, tmp_path / f"v{i}")
        venv_times.append(t)
        assert frozen["status"] == unfrozen["status"] == "ok"
        assert frozen["backend"]["backend"] == unfrozen["backend"]["backend"]
        # last-bit registration differences move an int8 mask by a few voxels from run to run, in the virtualenv
        # as much as frozen (measured: 191 or 200 voxels, Dice 0.977): compare outcomes, not bits
        assert abs(frozen["probability"] - unfrozen["probability"]) < 0.01
        masks = [read_mask(tmp_path / f"{side}{i}" / pid / "mask.nii.gz").array for side in ("f", "v")]
        assert dice(*masks) >= 0.95
    MEASURED["predict_frozen_s"] = [round(t, 2) for t in frozen_times]
    MEASURED["predict_venv_s"] = [round(t, 2) for t in venv_times]
    assert statistics.median(frozen_times) <= PREDICT_SLOWDOWN_ALLOWED * statistics.median(venv_times)


def test_benchmark_runs_frozen_as_the_gui_starts_it(installed, isolation, tmp_path):
    """Help > Benchmark this device runs ``sys.executable -m inference.cli benchmark`` (sys.executable is
    otscc-gui in the bundle) after checking that export/commands/benchmark.py is installed."""
    internal = installed / "opt" / NAME / "_internal"
    assert (internal / "export" / "commands" / "benchmark.py").is_file()
    gui = str(installed / "opt" / NAME / "otscc-gui")
    out = tmp_path / "bench.json"
    proc, seconds = _run(clean_command([gui, "-m", "inference.cli", "benchmark", "--formats", "tflite-fp32",
                                        "--runs", "2", "--warmup", "1", "--pipeline-runs", "1", "--json", str(out)],
                                       tmp_path, isolation))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "tflite-fp32" in out.read_text() and out.with_suffix(".png").stat().st_size > 1000
    MEASURED["frozen_benchmark_one_format_s"] = round(seconds, 1)


@pytest.mark.parametrize("exe", ["otscc", "otscc-gui"])
def test_model_test_load_runs_frozen_as_the_gui_starts_it(installed, isolation, tmp_path, exe):
    """Before loading a model the GUI test-loads it in ``sys.executable -m inference.isolation`` (the
    executable itself in the bundle): both launchers must answer it, with the bundle's model verified."""
    model = installed / "opt" / NAME / "_internal" / "assets" / "models" / "seg"
    proc, seconds = _run(clean_command([str(installed / "opt" / NAME / exe), "-m", "inference.isolation",
                                        "--backend", "auto", "--model", str(model)], tmp_path, isolation))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    events = [json.loads(line.split(" ", 1)[1]) for line in proc.stdout.splitlines()
              if line.startswith("OTSCC-PROBE ")]
    ok = [e for e in events if e["event"] == "ok"]
    assert ok and ok[0]["describe"]["integrity"].startswith("sha256 verified"), events
    MEASURED[f"frozen_model_probe_{exe}_s"] = round(seconds, 2)


def _first_window(exe: Path, home: Path, isolation, *args: str) -> float:
    log = home / ".local" / "share" / NAME / "otscc-edge.log"
    cmd = clean_command([str(exe), *args], home, isolation, QT_QPA_PLATFORM="offscreen")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while time.perf_counter() - start < 60:
            if log.is_file() and "window shown" in log.read_text(errors="replace"):
                return time.perf_counter() - start
            if proc.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.terminate()
        output = proc.communicate(timeout=30)[0]
    raise AssertionError(f"no window within 60 s (exit {proc.returncode}): {output[-3000:]}")


def test_gui_opens_offscreen_from_the_package(installed, isolation, tmp_path):
    exe = installed / "opt" / NAME / "otscc-gui"
    times = [_first_window(exe, tmp_path / f"home{i}", isolation) for i in range(3)]
    MEASURED["gui_first_window_s"] = [round(t, 2) for t in times]
    assert statistics.median(times) < GUI_FIRST_WINDOW_S, times
    # `otscc gui` from the console executable, which runs without PySide6's run-time hook (build.spec)
    MEASURED["gui_from_cli_first_window_s"] = round(_first_window(installed / "opt" / NAME / "otscc",
                                                                  tmp_path / "home-cli", isolation, "gui"), 2)
    assert MEASURED["gui_from_cli_first_window_s"] < GUI_FIRST_WINDOW_S


def test_the_cpu_only_bundle_lacks_the_gpu_parts_and_passes_its_self_test(isolation, tmp_path):
    """``make bundle-cpu`` (bundle-test builds it too): the size option docs/packaging.md offers for the 700 MB
    goal. Run from its folder, offline, in a clean environment; its GPU rows must say the plugin is missing."""
    from fnmatch import fnmatch

    from export.packaging.spec import CPU_ONLY_DROP

    cpu = ROOT / "dist-cpu" / NAME
    assert cpu.is_dir(), f"{cpu} missing: `make bundle-test` builds it (make bundle-cpu)"
    listing = bundle_contents.list_bundle(cpu)
    inner = [f.removeprefix("_internal/") for f in listing.files]
    assert any(fnmatch(f, "openvino/libs/libopenvino_intel_cpu_plugin*") for f in inner)
    assert not [f for f in inner if any(fnmatch(f, pattern) for pattern in CPU_ONLY_DROP)]
    assert bundle_contents.forbidden(listing) == []
    proc, seconds = _run(clean_command([str(cpu / "otscc"), "self-test", "--json"], tmp_path, isolation))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    rows = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert "no LiteRT GPU accelerator library" in rows["segment litert-gpu/tflite-fp16"]["detail"]
    assert "no OpenVINO GPU plugin" in rows["segment openvino on gpu"]["detail"]
    MEASURED["cpu_only_bundle_mb"] = round(listing.size_bytes / 1e6, 1)
    MEASURED["cpu_only_self_test_s"] = round(seconds, 2)

    # the main job: predict on its own sample picks a CPU backend and gives the virtualenv's result
    sample = cpu / "_internal" / "assets" / "sample_patient"
    frozen, seconds = _predict(clean_command([str(cpu / "otscc"), "predict", str(sample), "--register", "never"],
                                             tmp_path / "home-p", isolation), tmp_path / "cpu-predict")
    assert frozen["backend"]["format"] == "tflite-int8"  # auto, with no GPU part left to try
    # the virtualenv names it: on a machine with a GPU runtime installed, its auto would pick that instead
    unfrozen, _ = _predict([sys.executable, "-m", "inference.cli", "predict", str(SAMPLE_PATIENT), "--register",
                            "never", "--backend", "tflite-int8"], tmp_path / "venv-predict")
    _assert_same_result(frozen, unfrozen)
    assert unfrozen["backend"]["format"] == "tflite-int8"
    MEASURED["cpu_only_predict_s"] = round(seconds, 2)
    times = [_first_window(cpu / "otscc-gui", tmp_path / f"home-g{i}", isolation) for i in range(3)]
    MEASURED["cpu_only_gui_first_window_s"] = [round(t, 2) for t in times]
    assert statistics.median(times) < GUI_FIRST_WINDOW_S, times
