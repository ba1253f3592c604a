"""A nomogram records the patients it was fitted on, and eval-nomogram refuses to call them test patients (found by a
review, 2026-11-30: the split came from ``--model`` on trust, so another or no ``--model`` reported a "test" AUC on
fitting patients)."""

from __future__ import annotations

import json
import logging

import pytest

from inference.cli import main
from inference.errors import InputError
from inference.nomogram import Nomogram, NomogramError, validate
from tests.training.test_nomogram_eval import study  # noqa: F401 (the shared fixture)
from training.nomogram.evaluate import read_split


@pytest.fixture(scope="module")
def fitted(study, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("fitted") / "nomogram.json"
    assert main(["fit-nomogram", "--cohort", str(study["cohort"]), "--masks", "manual", "--model",
                 str(study["model"]), "--out", str(out), "--features", str(study["runs"] / "features_manual.csv")]) == 0
    return out


def test_the_fit_records_its_patients_and_split(study, fitted):  # noqa: F811
    record = Nomogram.load(fitted).data["fitted_on"]
    assert record["patients"] == sorted(study["split"]["train"] + study["split"]["validation"])
    assert record["model"] == str(study["model"].resolve()) and len(record["split_sha256"]) == 64


def test_eval_refuses_a_split_whose_test_patients_were_fitted_on(study, fitted, tmp_path, capsys):  # noqa: F811
    other = tmp_path / "other_model"  # another model's split: some of its test patients are fitting patients
    other.mkdir()
    ids = sorted(study["split"]["train"] + study["split"]["validation"] + study["split"]["test"])
    (other / "split.json").write_text(json.dumps({"train": ids[::3], "validation": [],
                                                  "test": [p for p in ids if p not in ids[::3]]}))
    code = main(["eval-nomogram", "--cohort", str(study["cohort"]), "--nomogram", str(fitted), "--model", str(other),
                 "--n-boot", "100"])
    assert code == InputError.exit_code
    err = capsys.readouterr().err
    assert "was fitted on" in err and "they are not held out" in err and str(study["model"].resolve()) in err


def test_its_own_split_passes_and_a_nomogram_without_the_record_gets_a_note(study, fitted, caplog):  # noqa: F811
    from training.nomogram.evaluate import check_fitted_on

    sets = read_split(study["model"])
    nomogram = Nomogram.load(fitted)
    with caplog.at_level(logging.WARNING):
        check_fitted_on(fitted, nomogram, sets, study["model"])
    assert not caplog.text
    old = Nomogram({k: v for k, v in nomogram.data.items() if k != "fitted_on"})  # e.g. the shipped nomogram
    with caplog.at_level(logging.WARNING):
        check_fitted_on(fitted, old, sets, study["model"])
    assert "does not record the patients it was fitted on" in caplog.text and "cannot be verified" in caplog.text


def test_the_record_is_validated(fitted):
    data = json.loads(fitted.read_text())
    with pytest.raises(NomogramError, match="fitted_on.patients"):
        validate({**data, "fitted_on": {**data["fitted_on"], "patients": [1, 2]}})
    with pytest.raises(NomogramError, match="fitted_on"):
        validate({**data, "fitted_on": {"patients": []}})


def test_the_record_names_a_model_inside_the_project_relative_to_it(tmp_path):
    """The shipped nomogram is fitted with assets/models/seg: its record must not carry the fitting machine's path."""
    from inference.assets import DEFAULT_SEG_MODEL
    from training.nomogram.commands.fit_nomogram import fitted_on

    assert fitted_on(["P1"], DEFAULT_SEG_MODEL)["model"] == "assets/models/seg"
    assert fitted_on(["P1"], tmp_path)["model"] == str(tmp_path.resolve())  # outside the project: absolute
