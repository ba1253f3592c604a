"""Soak runs: many synthetic patients through one ``otscc predict --batch`` process and through one GUI
window, with resident memory, open files, threads and temporary files sampled after every patient.

Pass criteria (issue 9, item 1): after the first ``WARMUP`` patients, resident memory grows by less than
``MAX_GROWTH`` in total, and open file descriptors, threads and temporary files do not grow at all; the
segmentation backend is created once per process and reused.

On demand (the full-size run quoted in docs/reliability.md)::

    .venv/bin/python -m tests.reliability.soak --cli-patients 50 --gui-patients 30 --distinct 50 \\
        --json docs/reliability/soak.json --plot docs/img/reliability/soak_memory.png

``make test`` runs a smaller version (tests/reliability/test_soak.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WARMUP = 5
MAX_GROWTH = 0.05
SEED = 9009  # cohort seed of the soak patients (never used for training)


# -- resources ---------------------------------------------------------------------------------------
def count_files(folder: str | Path) -> int:
    return sum(len(files) + len(dirs) for _, dirs, files in os.walk(folder))


def sample(index: int, start: float, tmpdir: str | Path, out: str | Path | None = None) -> dict:
    """Resources of this process now, after patient ``index`` (1-based)."""
    import psutil

    proc = psutil.Process()
    stale = 0 if out is None else sum(1 for p in Path(out).rglob(".tmp-*"))
    return {"patient": index, "seconds": round(time.perf_counter() - start, 2),
            "rss_mib": round(proc.memory_info().rss / 2**20, 1),
            "fds": proc.num_fds() if hasattr(proc, "num_fds") else proc.num_handles(),
            "threads": proc.num_threads(), "tmp_files": count_files(tmpdir), "stale_tmp_outputs": stale}


def growth(samples: list[dict], warmup: int = WARMUP) -> float:
    """The pass figure: highest resident memory after patient ``warmup``, relative to patient ``warmup``'s."""
    base = samples[warmup - 1]["rss_mib"]
    return (max(s["rss_mib"] for s in samples[warmup:]) - base) / base


def trend_growth(samples: list[dict], warmup: int = WARMUP) -> float:
    """Reported next to ``growth``: the least-squares line through patients ``warmup``..N, its rise over that
    span relative to patient ``warmup`` (a steady leak shows here even when single samples are noisy)."""
    import numpy as np

    later = samples[warmup - 1:]
    x = np.array([s["patient"] for s in later], float)
    y = np.array([s["rss_mib"] for s in later], float)
    slope = np.polyfit(x, y, 1)[0] if len(later) > 1 else 0.0
    return float(slope * (x[-1] - x[0]) / y[0])


def check(samples: list[dict], warmup: int = WARMUP, max_growth: float = MAX_GROWTH) -> list[str]:
    """Problems in a run's samples (empty: it passed). Samples are taken after each patient is closed
    (GUI) or done (batch), so a patient's own arrays are not counted; what stays is what leaks."""
    if len(samples) <= warmup:
        return [f"only {len(samples)} samples: need more than the {warmup} warm-up patients"]
    base, later = samples[warmup - 1], samples[warmup:]
    problems = []
    if growth(samples, warmup) >= max_growth:
        problems.append(f"resident memory grew {growth(samples, warmup):.1%} after patient {warmup} "
                        f"({base['rss_mib']} -> {max(s['rss_mib'] for s in later)} MiB; limit {max_growth:.0%})")
    for key in ("fds", "threads", "tmp_files", "stale_tmp_outputs"):
        top = max(s[key] for s in later)
        if top > base[key]:
            problems.append(f"{key} grew from {base[key]} (patient {warmup}) to {top}")
    return problems


def summary(samples: list[dict], warmup: int = WARMUP) -> dict:
    base, last = samples[warmup - 1], samples[-1]
    later = samples[warmup:]
    return {"patients": len(samples), "rss_first_mib": samples[0]["rss_mib"],
            f"rss_after_{warmup}_mib": base["rss_mib"], "rss_last_mib": last["rss_mib"],
            "rss_max_after_warmup_mib": max(s["rss_mib"] for s in later),
            "growth_after_warmup": round(growth(samples, warmup), 4),
            "growth_after_warmup_trend": round(trend_growth(samples, warmup), 4),
            "last_vs_warmup_end": round((last["rss_mib"] - base["rss_mib"]) / base["rss_mib"], 4),
            "fds": [samples[0]["fds"], base["fds"], last["fds"]],
            "threads": [samples[0]["threads"], base["threads"], last["threads"]],
            "tmp_files": [samples[0]["tmp_files"], base["tmp_files"], last["tmp_files"]],
            "seconds_per_patient": round(last["seconds"] / len(samples), 2)}


# -- cohort ------------------------------------------------------------------------------------------
def make_cohort(root: str | Path, patients: int, distinct: int, seed: int = SEED) -> tuple[Path, Path]:
    """``patients`` patient folders under ``root/batch`` (copies of ``distinct`` synthetic ones, hard-linked)
    and a ``root/clinical.csv`` for them. Returns (batch folder, clinical CSV)."""
    root = Path(root)
    source = root / "source"
    if not (source / "clinical.csv").is_file():
        code = ("import sys; from inference.cli import main; "
                f"sys.exit(main(['synth', '--patients', '{distinct}', '--seed', '{seed}', '--out', sys.argv[1]]))")
        subprocess.run([sys.executable, "-c", code, str(source)], cwd=REPO, check=True, capture_output=True)
    rows = list(csv.DictReader(open(source / "clinical.csv")))  # noqa: SIM115
    batch = root / "batch"
    batch.mkdir(parents=True, exist_ok=True)
    out_rows = []
    for i in range(patients):
        row = rows[i % len(rows)]
        folder = batch / f"P{i + 1:03d}"
        if not folder.is_dir():
            folder.mkdir()
            for f in sorted((source / row["patient_id"]).glob("*.nii.gz")):
                if f.name != "mask.nii.gz":
                    _link_or_copy(f, folder / f.name)
        out_rows.append({**row, "patient_id": folder.name})
    clinical = root / "clinical.csv"
    with open(clinical, "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(out_rows[0]))
        writer.writeheader()
        writer.writerows(out_rows)
    return batch, clinical


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# -- CLI soak ----------------------------------------------------------------------------------------
def cli_soak(batch: Path, clinical: Path, out: Path, *, timeout: float = 3600) -> dict:
    """``otscc predict --batch`` over ``batch`` in one child process (its own TMPDIR), sampled per patient."""
    tmpdir = Path(tempfile.mkdtemp(prefix="otscc-soak-tmp-"))
    env = {**os.environ, "TMPDIR": str(tmpdir), "TEMP": str(tmpdir), "TMP": str(tmpdir),
           "OTSCC_EDGE_DATA_DIR": str(out.parent / f"{out.name}.userdata")}  # pseudonym key: not in ~
    code = "import sys, json; from tests.reliability.soak import _cli_child; _cli_child(*sys.argv[1:])"
    report = out.parent / f"{out.name}.soak.json"
    try:
        done = subprocess.run([sys.executable, "-c", code, str(batch), str(clinical), str(out), str(report)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if not report.is_file():
            raise RuntimeError(f"soak child failed (exit {done.returncode}): {done.stderr[-3000:]}")
        result = json.loads(report.read_text())
        result["exit_code"] = done.returncode
        result["stderr_tail"] = done.stderr[-1500:]
        return result
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _cli_child(batch: str, clinical: str, out: str, report: str) -> None:
    """Inside the child: count backend creations, sample after each patient is done, run the CLI.

    The sample is taken where the batch loop hands the finished patient's memory back (``release_memory``,
    failed patients included), so the patient just done is not counted as growth.
    """
    import inference.backends as backends
    import inference.commands.predict as predict_command
    from inference.backends import base
    from inference.cli import main
    from inference.pipeline import Pipeline

    counts = {"pipelines": 0, "select_backend": 0, "load_backend": 0}
    samples: list[dict] = []
    start = time.perf_counter()
    tmpdir = tempfile.gettempdir()

    def counted(name, fn):  # successful calls only (auto tries unavailable candidates first)
        def wrapper(*args, **kwargs):
            result = fn(*args, **kwargs)
            counts[name] += 1
            return result
        return wrapper

    backends.select_backend = counted("select_backend", backends.select_backend)
    base.load_backend = counted("load_backend", base.load_backend)
    original_init, original_release = Pipeline.__init__, predict_command.release_memory

    def init(self, *args, **kwargs):
        counts["pipelines"] += 1
        original_init(self, *args, **kwargs)

    def release():
        trimmed = original_release()
        samples.append(sample(len(samples) + 1, start, tmpdir, out))
        return trimmed

    Pipeline.__init__, predict_command.release_memory = init, release
    code = main(["predict", batch, "--out", out, "--batch", "--clinical", clinical])
    Path(report).write_text(json.dumps({"samples": samples, "counts": counts, "returncode": code}))


# -- GUI soak ----------------------------------------------------------------------------------------
def gui_soak(batch: Path, clinical: Path, out: Path, userdata: Path, *, patients: int | None = None,
             export: bool = True) -> dict:
    """One window: open, segment (with the CSV's clinical values), export and close each patient in turn.

    Runs in this process (a QApplication must be possible: offscreen is fine). Returns samples and counts.
    """
    from desktop.session import normalize_clinical
    from inference import backends
    from inference.backends import base
    from tests.desktop.conftest import close_window, make_window, wait_job

    rows = {r["patient_id"]: r for r in csv.DictReader(open(clinical))}  # noqa: SIM115
    folders = sorted(p for p in batch.iterdir() if p.is_dir())[:patients]
    counts = {"load_backend": 0}
    original = base.load_backend

    def counted(*args, **kwargs):  # successful creations only (auto tries unavailable candidates first)
        backend = original(*args, **kwargs)
        counts["load_backend"] += 1
        return backend

    tmpdir = Path(tempfile.mkdtemp(prefix="otscc-gui-soak-tmp-"))
    old_tempdir = tempfile.tempdir
    base.load_backend = counted
    tempfile.tempdir = str(tmpdir)
    window = make_window(userdata, None)
    samples, errors, start = [], [], time.perf_counter()
    try:
        for i, folder in enumerate(folders, 1):
            assert window.open_patient(folder)
            outcome = wait_job(window)
            if outcome != ("load", "finished"):
                errors.append(f"{folder.name}: load {outcome[1]}: {window.presenter.reports[-1:]}")
                continue
            row = rows[folder.name]
            window.session.set_clinical(normalize_clinical(row))  # as the clinical panel would
            window.segment()
            outcome = wait_job(window)
            if outcome != ("segment", "finished") or window.session.prediction is None:
                errors.append(f"{folder.name}: segment {outcome[1]}: {window.presenter.reports[-1:]}")
            elif export:
                assert window.export(out)
                outcome = wait_job(window)
                if outcome != ("export", "finished"):
                    errors.append(f"{folder.name}: export {outcome[1]}: {window.presenter.reports[-1:]}")
            assert window.close_patient()
            samples.append(sample(i, start, tmpdir, out))
        pipeline = window.engine.loaded_pipeline
        counts["pipeline_backend"] = None if pipeline is None else pipeline.backend.describe().get("backend")
    finally:
        close_window(window)
        base.load_backend = original
        tempfile.tempdir = old_tempdir
        shutil.rmtree(tmpdir, ignore_errors=True)
    _ = backends  # imported so the shared backend registry is initialised before counting
    return {"samples": samples, "counts": counts, "errors": errors}


# -- figure ------------------------------------------------------------------------------------------
def plot(runs: dict[str, list[dict]], path: str | Path, warmup: int = WARMUP, max_growth: float = MAX_GROWTH) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 3.6), squeeze=False)
    for ax, (name, samples) in zip(axes[0], runs.items(), strict=True):
        x = [s["patient"] for s in samples]
        y = [s["rss_mib"] for s in samples]
        ax.plot(x, y, marker="o", ms=3, lw=1.2, label="resident memory")
        if len(samples) > warmup:
            base = samples[warmup - 1]["rss_mib"]
            ax.axhline(base * (1 + max_growth), color="tab:red", ls="--", lw=1,
                       label=f"limit: +{max_growth:.0%} of patient {warmup}")
            ax.axvline(warmup, color="grey", ls=":", lw=1)
        ax.set_title(name)
        ax.set_xlabel("patient")
        ax.set_ylabel("RSS (MiB)")
        ax.set_ylim(0, max(y) * 1.25)
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("Soak: resident memory per patient (SYNTHETIC patients)", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli-patients", type=int, default=50)
    parser.add_argument("--gui-patients", type=int, default=30)
    parser.add_argument("--distinct", type=int, default=50, help="distinct synthetic patients (the rest are copies)")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="otscc-soak-"))
    n = max(args.cli_patients, args.gui_patients)
    t = time.perf_counter()
    batch, clinical = make_cohort(work / "cohort", n, min(args.distinct, n))
    print(f"cohort: {n} patient folders ({min(args.distinct, n)} distinct) in {time.perf_counter() - t:.0f} s",
          flush=True)
    from tests.reliability.tree import diff, fingerprint

    before = fingerprint(work / "cohort")
    results: dict[str, dict] = {}
    if args.cli_patients:
        cli_batch = work / "cli_batch"
        cli_batch.mkdir(exist_ok=True)
        for folder in sorted(batch.iterdir())[: args.cli_patients]:
            target = cli_batch / folder.name
            if not target.exists():
                target.symlink_to(folder.resolve(), target_is_directory=True)
        results["cli"] = cli_soak(cli_batch, clinical, work / "out_cli")
        print("cli:", summary(results["cli"]["samples"]), results["cli"]["counts"], flush=True)
    if args.gui_patients:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from desktop.qt_compat import guard

        guard()
        results["gui"] = gui_soak(batch, clinical, work / "out_gui", work / "userdata", patients=args.gui_patients)
        print("gui:", summary(results["gui"]["samples"]), results["gui"]["counts"], flush=True)
    changed = diff(before, fingerprint(work / "cohort"))
    report = {"command": "python -m tests.reliability.soak " + " ".join(argv or sys.argv[1:]),
              "warmup": WARMUP, "max_growth": MAX_GROWTH, "inputs_changed": changed,
              **{name: {"summary": summary(r["samples"]), "problems": check(r["samples"]), **r}
                 for name, r in results.items()}}
    for name in results:
        print(f"{name}: {'PASS' if not report[name]['problems'] else 'FAIL'} {report[name]['problems']}")
    print("inputs unchanged" if not changed else f"INPUTS CHANGED: {changed[:5]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    if args.plot:
        plot({f"{name.upper()} ({len(r['samples'])} patients)": r["samples"] for name, r in results.items()},
             args.plot)
    ok = not changed and all(not report[n]["problems"] for n in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
