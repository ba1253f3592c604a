"""Check the runtime floors: install each runtime's oldest allowed version beside the venv and run its tests.

    python -m export.oldest_runtimes [--work DIR] [--versions openvino=2024.1,onnxruntime=1.18.1]

For each runtime in ``inference.backends.versions.MINIMUM`` (or the versions given), ``pip install --no-deps
--target`` puts that version in a folder of its own, which then shadows the venv's copy on ``PYTHONPATH`` while
its backend, integrity and ONNX tests run; last, all three floors together run ``otscc self-test`` on the shipped
model. The floor check in each backend is switched off for these runs (``OTSCC_SKIP_RUNTIME_FLOOR=1``), so an
older version given with ``--versions`` shows how it fails, not just that it is refused. This downloads (a
developer tool, like ``make venv``); nothing at run time does. Results: docs/export.md, "Oldest runtimes".
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from inference.backends.versions import MINIMUM

ROOT = Path(__file__).resolve().parents[1]
TESTS = ("tests/inference/test_backends.py", "tests/inference/test_integrity.py", "tests/inference/test_onnx_scan.py")
SELECT = {"openvino": "openvino or ov", "onnxruntime": "onnx or ort", "ai_edge_litert": "litert or tflite"}


def _install(dist: str, version: str, work: Path) -> Path:
    target = work / f"{dist}-{version}"
    if not target.is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                        f"{dist}=={version}"], check=True)
    return target


def _run(cmd: list[str], paths: list[Path]) -> tuple[bool, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths), "OTSCC_SKIP_RUNTIME_FLOOR": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    summary = next((ln for ln in reversed(lines) if "passed" in ln or "failed" in ln or "PASSED" in ln
                    or "FAILED" in ln), lines[-1] if lines else "")
    return done.returncode == 0, summary.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="where the versions are installed (default: a temporary folder)")
    parser.add_argument("--versions", default="", help="module=version pairs instead of the floors")
    args = parser.parse_args(argv)
    chosen = {name: minimum for name, (_, minimum) in MINIMUM.items()}
    for pair in filter(None, args.versions.split(",")):
        name, _, version = pair.partition("=")
        if name not in MINIMUM:
            parser.error(f"unknown runtime {name!r}; choose from {', '.join(MINIMUM)}")
        chosen[name] = version
    work = args.work or Path(tempfile.mkdtemp(prefix="otscc-oldest-"))
    work.mkdir(parents=True, exist_ok=True)
    paths, ok_all = [], True
    for name, version in chosen.items():
        target = _install(MINIMUM[name][0], version, work)
        paths.append(target)
        ok, summary = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS,
                            "-k", SELECT[name]], [target])
        ok_all &= ok
        sys.stdout.write(f"{MINIMUM[name][0]} {version}: {'ok' if ok else 'FAILED'}  {summary}\n")
    ok, summary = _run([sys.executable, "-m", "inference.cli", "self-test"], paths)
    ok_all &= ok
    sys.stdout.write(f"all together, otscc self-test: {'ok' if ok else 'FAILED'}  {summary}\n")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
