"""train-seg's cohort and output folder: errors that name what to do in a cohort. Fast: no training."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.errors import InputError, MissingSequenceError
from training.seg import data


def fake_cohort(root: Path, n: int) -> Path:
    """Patient folders with a mask file (so list_patients sees them) whose images cannot be read."""
    for i in range(n):
        (root / f"P{i:02d}").mkdir(parents=True)
        (root / f"P{i:02d}" / "mask.nii.gz").write_bytes(b"")
    return root


def test_a_cohort_patient_error_names_the_patient_and_no_single_patient_option(tmp_path, monkeypatch):
    """C/B8: train-seg suggested '--t1 PATH', which it does not have, and did not name the patient."""
    def missing_t1(folder):
        raise MissingSequenceError(f"{folder.name}: no T1 file.", cli_hint="Or name the file with --t1 PATH.",
                                   batch_hint="or run the patient alone with --t1 PATH.")

    monkeypatch.setattr(data, "prepare_patient", missing_t1)
    cohort = fake_cohort(tmp_path / "c", 3)
    with pytest.raises(InputError) as err:
        data.load_cases(cohort, ["P01"], None, None)
    assert "cohort patient P01: no T1 file" in str(err.value) and "--t1" not in str(err.value)
    assert "move it out of the cohort" in str(err.value)
