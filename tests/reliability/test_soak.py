"""Soak (issue 9, item 1), at make-test size: 10 patients through one ``otscc predict --batch`` process and
8 through one GUI window, resources sampled per patient. The full-size run (50 + 30 patients) is
``python -m tests.reliability.soak`` (docs/reliability.md). The input tree is fingerprinted before and
after both runs (item 4)."""

from __future__ import annotations

import pytest

from tests.reliability import soak
from tests.reliability.tree import diff, fingerprint

CLI_PATIENTS, GUI_PATIENTS, DISTINCT = 10, 8, 3


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("soak")
    batch, clinical = soak.make_cohort(root / "cohort", CLI_PATIENTS, DISTINCT)
    return root, batch, clinical, fingerprint(root / "cohort")


def test_check_flags_growth_and_leaks() -> None:
    """The pass rule itself: flat after warm-up passes; 5% growth, one more fd or a temp file fails."""
    flat = [{"patient": i, "rss_mib": 500.0 + (50 if i < 3 else 0) + (i % 2), "fds": 20, "threads": 9,
             "tmp_files": 0, "stale_tmp_outputs": 0} for i in range(1, 21)]
    assert soak.check(flat) == []
    assert soak.trend_growth(flat) == pytest.approx(0.0, abs=0.002)
    grown = [dict(s, rss_mib=s["rss_mib"] + (27 if s["patient"] == 12 else 0)) for s in flat]
    assert soak.check(grown) == ["resident memory grew 5.2% after patient 5 (501.0 -> 527.0 MiB; limit 5%)"]
    leak = [dict(s, rss_mib=s["rss_mib"] + 2.0 * s["patient"]) for s in flat]  # 2 MiB per patient
    assert soak.check(leak)[0].startswith("resident memory grew 5.7%")
    assert soak.trend_growth(leak) == pytest.approx(30 / 511, abs=0.003)
    leaky = [dict(s, fds=s["fds"] + s["patient"]) for s in flat]
    assert soak.check(leaky) == ["fds grew from 25 (patient 5) to 40"]
    temp = [dict(s, tmp_files=int(s["patient"] == 7)) for s in flat]
    assert soak.check(temp) == ["tmp_files grew from 0 (patient 5) to 1"]
    assert "need more than" in soak.check(flat[:5])[0]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cli_batch_soak(cohort) -> None:
    root, batch, clinical, before = cohort
    result = soak.cli_soak(batch, clinical, root / "out_cli")
    samples = result["samples"]
    assert result["returncode"] == 0, result["stderr_tail"]
    assert len(samples) == CLI_PATIENTS
    assert soak.check(samples) == [], soak.summary(samples)
    assert result["counts"] == {"pipelines": 1, "select_backend": 1, "load_backend": 1}, result["counts"]
    assert len(list((root / "out_cli").glob("P*/result.json"))) == CLI_PATIENTS
    assert diff(before, fingerprint(root / "cohort")) == []
    print("cli soak:", soak.summary(samples))


@pytest.mark.slow
@pytest.mark.gui
@pytest.mark.timeout(900)
def test_gui_soak(qapp, cohort) -> None:
    from desktop.qt_compat import guard

    guard()
    root, batch, clinical, before = cohort
    result = soak.gui_soak(batch, clinical, root / "out_gui", root / "userdata", patients=GUI_PATIENTS)
    samples = result["samples"]
    assert result["errors"] == []
    assert len(samples) == GUI_PATIENTS
    assert soak.check(samples) == [], soak.summary(samples)
    assert result["counts"]["load_backend"] == 1, result["counts"]  # created at the first segmentation only
    assert len(list((root / "out_gui").glob("P*/result.json"))) == GUI_PATIENTS
    assert diff(before, fingerprint(root / "cohort")) == []
    print("gui soak:", soak.summary(samples))
