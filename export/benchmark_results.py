"""Reading ``otscc benchmark --json`` results back for ``--compare``: a file that is not one, or lacks what the
comparison reads, is refused with one line (``InputError``) instead of a traceback."""

from __future__ import annotations

import json
from pathlib import Path


def load_results(paths: list[Path]) -> list[dict]:
    from inference.errors import InputError

    results = []
    for p in paths:
        try:
            data = json.loads(Path(p).read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{p}: not a readable benchmark JSON ({type(exc).__name__}: {exc})"[:300]) from exc
        if not isinstance(data, dict) or data.get("kind") != "otscc-benchmark":
            raise InputError(f"{p}: not an otscc benchmark result (run otscc benchmark --json FILE)")
        problem = _result_problem(data)
        if problem:
            raise InputError(f"{p}: an incomplete or altered benchmark result ({problem}); use the file "
                             "otscc benchmark --json wrote")
        results.append({**data, "_source": Path(p).name})
    return results


def _result_problem(data: dict) -> str | None:
    """What a result lacks that the comparison reads, or None."""
    device = data.get("device")
    if not isinstance(device, dict) or not isinstance(device.get("cpu"), str):
        return "no device.cpu"
    rows = data.get("rows")
    if not isinstance(rows, list):
        return "no rows"
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("format", "runtime", "status")):
            return f"row {i} lacks format, runtime or status"
        p50 = row.get("slice_ms_p50")
        if row["status"] == "ok" and (isinstance(p50, bool) or not isinstance(p50, (int, float))):
            return f"row {i} ({row['format']} / {row['runtime']}) is ok but has no numeric slice_ms_p50"
    return None
