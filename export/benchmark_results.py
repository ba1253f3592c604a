"""Reading ``otscc benchmark --json`` results back for ``--compare``: a file that is not one, or lacks what the
comparison reads, is refused with one line (``InputError``) instead of a traceback.

Schema versions (``"version"``):

* 1: ``size_mb`` in MiB (2^20 bytes), as ``otscc benchmark`` wrote it until 2026-11-30 (the shipped
  ``docs/benchmarks/epyc_avx2only_2core.json``). ``load_results`` converts it to decimal MB and says so in ``_notes``.
* 2: ``size_mb`` in decimal MB (10^6 bytes), like ``otscc export``; the result names every field's unit
  (``UNITS``).

Any other version is refused: a comparison of numbers whose meaning is unknown would mislead.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path

#: the schema version ``run_benchmark`` writes (bump it whenever a field's meaning changes)
RESULT_VERSION = 2


def ms_value(ms: float) -> float:
    """A latency as stored: 2 decimals, or 3 significant digits below 1 ms, so a fast GPU's 0.004 ms is not
    stored as 0.0 (a result ``--compare`` then refused as not a positive number)."""
    return round(ms, 2) if ms >= 1 else float(f"{ms:.3g}")


def ms_text(ms: float) -> str:
    """A latency as shown: one decimal from 1 ms up (6.7, 271.0), more below (0.34, 0.045): GPU rows of a light
    model take fractions of a millisecond, and "0.3" against "0.2" hid a 40 % difference."""
    return f"{ms:.1f}" if ms >= 1 or ms <= 0 else f"{ms:.2f}" if ms >= 0.1 else f"{ms:.3f}"
#: versions ``load_results`` reads (older ones converted to the current meaning)
KNOWN_VERSIONS = (1, 2)
#: the fewest timed runs whose 95th percentile is reported (``slice_ms_p95``; null below, "n/a" in the table): 5 % of
#: the runs lie above a p95, which is under one run for fewer than 20, so it would be the slowest run (or a value
#: interpolated towards it), not a percentile; 1-3 runs printed their maximum as "p95"
MIN_P95_RUNS = 20
#: the unit of every number of a version-2 result (written into it as ``"units"``). Memory differs on purpose:
#: model file sizes in decimal MB as ``otscc export`` prints them, process memory in MiB as the OS reports it.
UNITS = {"size_mb": "MB (10^6 bytes)", "rss_mb": "MiB (2^20 bytes)", "peak_rss_mb": "MiB (2^20 bytes)",
         "slice_ms_p50": "ms",
         "slice_ms_p95": f"ms; null with fewer than {MIN_P95_RUNS} timed runs (it would be their maximum, not a "
                         "percentile)",
         "load_s": "s", "volume_s": "s", "pipeline_s": "s",
         "input_size": "pixels across the model's square input", "fov_mm": "mm"}


def load_results(paths: list[Path]) -> list[dict]:
    """Read benchmark results for a comparison, each with ``_source`` (its path, as given), ``_notes`` (what was
    converted on reading, for the user) and ``_copy_of`` (the first path given whose contents are identical: itself,
    unless the file is a copy of another given).

    Raises:
        InputError: a file is unreadable, not a benchmark result, of an unknown version, altered (a field the
            comparison reads that is not of the type ``otscc benchmark`` writes, a latency that is not a positive
            number of ms under ``MAX_LATENCY_MS``, a (format, runtime) row twice), or given twice (the same file).
    """
    from inference.errors import InputError

    results, seen, contents = [], {}, {}
    for p in paths:
        try:
            data = json.loads(_read_result(Path(p)).decode("utf-8"))
            identity = _identity(Path(p))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            kind = "OSError" if isinstance(exc, NotAResultFile) else type(exc).__name__
            raise InputError(f"{p}: not a readable benchmark JSON ({kind}: {exc})"[:300]) from exc
        if identity in seen:
            raise InputError(f"{p}: the same file as {seen[identity]}, given twice; give each result once")
        seen[identity] = p
        content = json.dumps(data, sort_keys=True)  # before _upgrade changes it
        if not isinstance(data, dict) or data.get("kind") != "otscc-benchmark":
            raise InputError(f"{p}: not an otscc benchmark result (run otscc benchmark --json FILE)")
        version = data.get("version")
        if isinstance(version, bool) or version not in KNOWN_VERSIONS:
            raise InputError(f"{p}: benchmark result version {version!r}, this otscc-edge reads versions "
                             f"{', '.join(map(str, KNOWN_VERSIONS))}; compare it with the otscc-edge that wrote it, "
                             "or measure again with this one")
        problem = _result_problem(data)
        if problem:
            raise InputError(f"{p}: an incomplete or altered benchmark result ({problem}); use the file "
                             "otscc benchmark --json wrote")
        notes = _upgrade(data, p)
        # two measurements never agree to the millisecond and second: equal contents are one result copied (into two
        # laptops' folders by mistake), which would show as two devices
        results.append({**data, "_source": str(p), "_notes": notes, "_copy_of": contents.setdefault(content, str(p))})
    return results


#: the most of an existing ``--json`` file read to tell whether it is a benchmark result (one is a few kB)
MAX_RESULT_BYTES = 4 * 2**20


def replace_problem(path: Path) -> str | None:
    """Why ``otscc benchmark --json path`` must not replace the file there without ``--overwrite``, or None: there is
    none, or it is an earlier benchmark result (a re-run replaces its own results, as ``otscc predict`` does).

    Only a regular file is read, and at most ``MAX_RESULT_BYTES`` of it: reading a named pipe blocked for ever.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return None
    try:
        head = _read_result(path)
    except NotAResultFile as exc:
        return str(exc)
    except OSError as exc:  # a link to nothing, no permission: refused too, saying why instead of "not JSON"
        reason = "a link to a missing file" if path.is_symlink() and not path.exists() else "a file"
        return f"{reason} that cannot be read ({type(exc).__name__}: {exc.strerror or exc})"
    try:
        data = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "a file that is not an otscc benchmark result (not JSON)"
    if isinstance(data, dict) and data.get("kind") == "otscc-benchmark":
        return None
    kind = f"kind {data.get('kind')!r}" if isinstance(data, dict) and "kind" in data else "no otscc benchmark kind"
    return f"a JSON file that is not an otscc benchmark result ({kind})"


class NotAResultFile(OSError):
    """A path that cannot hold a benchmark result: not a regular file, or over ``MAX_RESULT_BYTES``."""


def _read_result(path: Path) -> bytes:
    """The bytes of a result (named for ``--compare``, or found at ``--json``): a regular file of at most
    ``MAX_RESULT_BYTES`` (reading a named pipe blocked for ever; a large file is not a result).

    Raises:
        NotAResultFile: not a regular file (nothing of it was read), or too large.
        OSError: unreadable (the caller says which file).
    """
    if not stat.S_ISREG(path.stat().st_mode):
        raise NotAResultFile("not a regular file (a named pipe, device or socket); nothing of it was read")
    with path.open("rb") as f:
        data = f.read(MAX_RESULT_BYTES + 1)
    if len(data) > MAX_RESULT_BYTES:
        raise NotAResultFile(f"a file over {MAX_RESULT_BYTES // 2**20} MB, not an otscc benchmark result "
                             "(they are a few kB)")
    return data


def _identity(path: Path) -> tuple:
    """What makes two paths one file: the same inode (``./a.json`` and ``a.json``, links, other case on Windows
    and macOS), else the resolved path."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino) if st.st_ino else (os.path.normcase(path.resolve()),)


def _upgrade(data: dict, path: Path) -> list[str]:
    """Bring a result to the current version's meaning in place; returns a note per conversion (for a caller that
    shows the converted field: ``--compare`` shows slice latencies only, so it prints none of them)."""
    if data["version"] == 1:
        for row in data["rows"]:
            if row.get("size_mb") is not None:
                row["size_mb"] = round(row["size_mb"] * 2**20 / 1e6, 2)
        return [f"{path}: a version-1 result, whose size_mb is in MiB (2^20 bytes); converted to MB (10^6 bytes)"]
    return []


#: the largest slice latency taken for a measurement: 1000 s per slice is no runtime, and 1e308 ms overflowed the
#: chart's axis and printed 300 digits in the table
MAX_LATENCY_MS = 1e6
#: what each row's status can be
STATUSES = ("ok", "skipped", "failed")


def _result_problem(data: dict) -> str | None:
    """What a result lacks that the comparison reads, or a field of it (one the table, the chart or their labels read)
    that is not of the type ``otscc benchmark`` writes; None when there is nothing."""
    device = data.get("device")
    if not isinstance(device, dict) or not isinstance(device.get("cpu"), str):
        return "no device.cpu"
    isa = device.get("isa", [])
    if not (isinstance(isa, list) and all(isinstance(f, str) for f in isa)):
        return f"device.isa is {_short(isa)}, not a list of ISA flags"
    for key in ("gpu", "onednn_max_cpu_isa"):  # "" or null: none
        if device.get(key) is not None and not isinstance(device[key], str):
            return f"device.{key} is {_short(device[key])}, not a name"
    problem = _provenance_problem(data)
    if problem:
        return problem
    rows = data.get("rows")
    if not isinstance(rows, list):
        return "no rows"
    seen = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("format", "runtime", "status")):
            return f"row {i} lacks format, runtime or status"
        name = f"row {i} ({row['format']} / {row['runtime']})"
        if (row["format"], row["runtime"]) in seen:  # the table showed the first, the chart the last
            return f"{name} is there twice; a result has one row per format and runtime"
        seen.add((row["format"], row["runtime"]))
        if row["status"] not in STATUSES:
            return f"{name}: status is {_short(row['status'])}, not one of {', '.join(STATUSES)}"
        p50 = row.get("slice_ms_p50")
        if row["status"] == "ok" and not _is_number(p50):
            return f"{name} is ok but has no numeric slice_ms_p50"
        if row["status"] == "ok" and not (math.isfinite(p50) and 0 < p50 < MAX_LATENCY_MS):
            return (f"{name}: slice_ms_p50 is {p50!r}, not a positive number of milliseconds under "
                    f"{MAX_LATENCY_MS:g}")
        size = row.get("size_mb")
        if size is not None and not (_is_number(size) and math.isfinite(size) and size >= 0):
            return f"{name}: size_mb is {size!r}, not a size"
        threads = row.get("threads")
        if threads is not None and not (_is_int(threads) and threads >= 1):
            return f"{name}: threads is {_short(threads)}, not a thread count"
    return None


def _provenance_problem(data: dict) -> str | None:
    """A top-level field the labels and the notes on what was measured read (each may be absent or null: older
    results lack them) that is not of its type."""
    checks = {"threads": (lambda v: _is_int(v) and v >= 1, "a thread count"),
              "runs": (lambda v: _is_int(v) and v >= 1, "a count of runs"),
              "warmup": (lambda v: _is_int(v) and v >= 0, "a count of runs"),
              "pipeline_runs": (lambda v: _is_int(v) and v >= 1, "a count of runs"),
              "input_size": (lambda v: _is_int(v) and 1 <= v <= 100_000, "a size in pixels"),
              "fov_mm": (lambda v: _is_number(v) and math.isfinite(v) and 0 < v < 10_000, "a field of view in mm"),
              "patient": (lambda v: isinstance(v, str) and v.isprintable(), "a patient folder's name"),
              "model_manifest_sha256": (lambda v: isinstance(v, str) and re.fullmatch("[0-9a-f]{64}", v) is not None,
                                        "a SHA-256")}
    for key, (valid, what) in checks.items():
        value = data.get(key)
        if value is not None and not valid(value):
            return f"{key} is {_short(value)}, not {what}"
    return None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def source_labels(sources: list[str]) -> list[str]:
    """The shortest tails of the files' paths that tell them apart: ``result.json`` when the names differ,
    ``laptopA/result.json`` and ``laptopB/result.json`` when only their folders do (one file per laptop, collected
    into folders, all named alike)."""
    parts = [Path(os.path.abspath(s)).parts for s in sources]
    labels = []
    for i, mine in enumerate(parts):
        others = [p for j, p in enumerate(parts) if j != i]
        depth = next((d for d in range(1, len(mine) + 1) if all(p[-d:] != mine[-d:] for p in others)), None)
        # tails of different depths never read alike (one more folder); None: the same path twice (not from
        # load_results, which refuses it)
        labels.append("/".join(mine[-depth:]) if depth else f"{sources[i]} #{i + 1}")
    return labels


#: what a result records about what was measured, beyond the device: (field, what it is, its name in a label, how a
#: label says a value)
MEASURED = (
    ("model_manifest_sha256", "the model timed (model_manifest_sha256)", "model", lambda v: f"model {v[:8]}"),
    ("input_size", "the model's input size", "size", lambda v: f"{v}x{v}"),
    ("fov_mm", "the model's field of view", "fov", lambda v: f"fov {v:g} mm"),
    ("patient", "the patient of the pipeline timings", "patient", lambda v: f"patient {v}"),
    ("runs", "the timed runs per slice (--runs)", "runs", lambda v: f"runs {v}"),
    ("warmup", "the warm-up runs (--warmup)", "warmup", lambda v: f"warmup {v}"),
    ("pipeline_runs", "the pipeline runs (--pipeline-runs)", "pipeline runs", lambda v: f"pipeline runs {v}"),
    ("threads", "the CPU threads of the rows measured (each row's threads; --threads where rows lack it)", "threads",
     lambda v: f"threads {'/'.join(map(str, v))}" if v else "threads none (GPU rows only)"),
)
#: fields whose difference makes two results' latencies those of different models, not of different devices
OTHER_MODEL = ("model_manifest_sha256", "input_size", "fov_mm")


def threads_of(result: dict) -> tuple[int, ...] | None:
    """The CPU threads a result's measured rows used, distinct and sorted: each row's ``threads`` (none on a GPU), or
    for an older result whose rows lack it the ``--threads`` every runtime was given; None when neither is recorded
    (an older result measured without ``--threads``: each runtime's choice, unknown)."""
    rows = [r for r in result["rows"] if r["status"] == "ok"]
    if any("threads" in r for r in rows):
        return tuple(sorted({r["threads"] for r in rows if r.get("threads") is not None}))
    return None if result.get("threads") is None else (result["threads"],)


def measurement_differences(results: list[dict]) -> dict:
    """What the results differ in, beyond the device (``MEASURED``): ``--compare`` merged a 64 px model's result
    with the shipped 256 px model's, and results of 3 and 30 runs, without a word.

    Returns:
        ``notes``: one line per field that differs (its value in each file; "not recorded" where an older result
        lacks it); ``warning``: a line when two known values of a field of ``OTHER_MODEL`` differ (the latencies are
        then of different models), else ""; ``tags``: per result, its values of the fields that differ, for its label
        ("" where none differ).
    """
    names = source_labels([str(r.get("_source") or f"#{i + 1}") for i, r in enumerate(results)])
    notes, models, tags = [], [], [[] for _ in results]
    for key, what, short, say in MEASURED:
        values = [threads_of(r) if key == "threads" else r.get(key) for r in results]
        if len(set(values)) < 2:  # validated (_provenance_problem): numbers, strings or None
            continue
        groups: dict[str, list[str]] = {}
        for i, value in enumerate(values):
            groups.setdefault("not recorded" if value is None else say(value), []).append(names[i])
            tags[i].append(f"{short} ?" if value is None else say(value))
        notes.append(f"the results differ in {what}: "
                     + "; ".join(f"{text} in {', '.join(files)}" for text, files in groups.items()))
        if key in OTHER_MODEL and len(set(values) - {None}) > 1:
            models.append(key)
    warning = (f"WARNING: these results timed different models (their {', '.join(models)} differ: see the labels); "
               "the gaps between their columns are not the devices' alone") if models else ""
    return {"notes": notes, "warning": warning, "tags": [", ".join(t) for t in tags]}
