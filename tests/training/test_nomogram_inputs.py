"""``fit-nomogram`` / ``eval-nomogram`` refuse bad inputs up front, with one line naming the patient and the fix:
they used to crash with tracebacks (KeyError, int(''), scikit-learn's n_splits), fit a degenerate nomogram from a
handful of patients, or reuse another cohort's cached features."""

from __future__ import annotations

import json

import pytest

from inference.cli import main
from inference.errors import InputError
from tests.training.test_nomogram_eval import study  # noqa: F401 (the shared fixture)
from training.nomogram.features import cache_source, check_cache_source, check_clinical, read_clinical


def _fit(study, cohort=None, model=None, out=None, features=None) -> list[str]:  # noqa: F811
    return ["fit-nomogram", "--cohort", str(cohort or study["cohort"]), "--masks", "manual", "--model",
            str(model or study["model"]), "--out", str(out), "--features",
            str(features or study["runs"] / "features_manual.csv")]


def _cohort_with(study, tmp_path, edit) -> object:  # noqa: F811
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    lines = (study["cohort"] / "clinical.csv").read_text().splitlines()
    (cohort / "clinical.csv").write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return cohort


def test_a_spreadsheet_export_is_read_and_a_bad_value_names_its_patient_and_line(study, tmp_path):  # noqa: F811
    cohort = _cohort_with(study, tmp_path, lambda lines: [line.replace(",", ";") for line in lines])
    (cohort / "clinical.csv").write_bytes(b"\xef\xbb\xbf" + (cohort / "clinical.csv").read_bytes())  # Excel's BOM
    rows = read_clinical(cohort)
    assert len(rows) == len(study["ids"]) and rows["P0001"]["_line"] == 2
    ids = study["ids"][:5]
    assert len(check_clinical(rows, ids, cohort)) == 5
    rows["P0003"]["lnm"] = ""
    with pytest.raises(InputError, match=r"line 4, patient P0003: lnm must be 0 or 1, got ''"):
        check_clinical(rows, ids, cohort)
    rows["P0003"]["lnm"], rows["P0004"]["ct_stage"] = "1", "T9"
    with pytest.raises(InputError, match=r"line 5, patient P0004: .*T9"):
        check_clinical(rows, ids, cohort)


def test_fit_refuses_bad_inputs_before_any_work(study, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out" / "n.json"
    no_column = _cohort_with(study, tmp_path, lambda lines: [lines[0].replace("patient_id", "pid"), *lines[1:]])
    assert main(_fit(study, cohort=no_column, out=out)) == InputError.exit_code
    assert "no patient_id column" in capsys.readouterr().err
    assert main(_fit(study, out=study["cohort"] / "n.json")) == InputError.exit_code
    assert "inside the cohort" in capsys.readouterr().err
    few = tmp_path / "few"
    few.mkdir()
    split = json.loads((study["model"] / "split.json").read_text())
    (few / "split.json").write_text(json.dumps({**split, "train": split["train"][:8], "validation": []}))
    assert main(_fit(study, model=few, out=out)) == InputError.exit_code
    assert "needs at least 10 of each outcome" in capsys.readouterr().err
    other = tmp_path / "other_split"
    other.mkdir()
    (other / "split.json").write_text(json.dumps({**split, "train": ["SYN0001", "SYN0002"]}))
    assert main(_fit(study, model=other, out=out, features=tmp_path / "f.csv")) == InputError.exit_code
    assert "split was drawn from another cohort" in capsys.readouterr().err
    assert not out.exists()


def test_cached_features_of_another_cohort_are_refused(study, tmp_path):  # noqa: F811
    from training.nomogram.features import _read_cache, _write_cache

    cache = tmp_path / "features_manual.csv"
    source = cache_source(study["cohort"], "manual", None)
    _write_cache(cache, _read_cache(study["runs"] / "features_manual.csv"), source)  # rows and their record
    check_cache_source(cache, source)  # the same cohort again: fine
    swapped = _cohort_with(study, tmp_path, lambda lines: [lines[0], *reversed(lines[1:])])  # ids moved around
    with pytest.raises(InputError, match="computed from another cohort_clinical_csv_sha256"):
        check_cache_source(cache, cache_source(swapped, "manual", None))
    cache.unlink()  # deleting the cache is enough to start afresh: its left-over record does not block
    check_cache_source(cache, cache_source(swapped, "manual", None))
