"""train-seg reuses a split.json already in --out only when it is the split asked for: the patients it was drawn
from (--max-patients), and a split of unknown origin is said to be reused as is. Fast: the fake cohorts' patients
fail to load, so train() stops once the split is settled."""

from __future__ import annotations

import json
import logging

import pytest

from inference.assets import ASSETS
from inference.errors import InputError
from tests.training.test_seg_run_folder import SMALL, fake_cohort, snapshot
from training.seg import data
from training.seg.train import train

LOADING = "cohort patient"  # where train() stops: the split was accepted


def test_a_left_over_split_drawn_from_fewer_patients_is_refused(tmp_path):
    """A split drawn with --max-patients 4 was reused by a run asked for the whole cohort of 8 (or --max-patients 8):
    it trained and validated on the 4 patients only, without a word."""
    cohort = fake_cohort(tmp_path / "c", 8)
    out = tmp_path / "m"
    with pytest.raises(InputError, match=LOADING):
        train(cohort, out, SMALL, max_patients=4)
    assert json.loads((out / "split.json").read_text())["drawn_from_patients"] == 4
    before = snapshot(out)
    for max_patients, asked in ((None, "no --max-patients"), (8, "--max-patients 8"), (20, "--max-patients 20")):
        with pytest.raises(InputError, match=rf"drawn from 4 patients, not the 8 this run has \({asked}\); "
                                             r"to keep it give --max-patients 4, or pass --no-resume "
                                             r".*or choose another --out") as err:
            train(cohort, out, SMALL, max_patients=max_patients)
        assert "\n" not in str(err.value)
    assert snapshot(out) == before
    with pytest.raises(InputError, match=LOADING):  # the same patients: reused
        train(cohort, out, SMALL, max_patients=4)
    with pytest.raises(InputError, match=LOADING):  # --no-resume: moved aside, a split of all 8 drawn
        train(cohort, out, SMALL, resume=False)
    assert json.loads((out / "split.json").read_text())["drawn_from_patients"] == 8


def test_an_older_split_without_the_patient_count_is_reused(tmp_path, caplog):
    """split.json files written before the count was recorded (train/validation/test/seed, as shipped) still work."""
    cohort = fake_cohort(tmp_path / "c", 8)
    out = tmp_path / "m"
    out.mkdir()
    ids = data.list_patients(cohort)
    (out / "split.json").write_text(json.dumps({**data.make_split(ids[:4], SMALL.seed), "seed": SMALL.seed}))
    with caplog.at_level(logging.WARNING), pytest.raises(InputError, match=LOADING):
        train(cohort, out, SMALL)
    assert "origin" not in caplog.text  # its seed says where it came from


def test_a_split_of_unknown_origin_is_reused_with_a_note(tmp_path, caplog):
    """A split.json with neither a seed nor a --split-from record was reused without a word."""
    cohort = fake_cohort(tmp_path / "c", 8)
    out = tmp_path / "m"
    out.mkdir()
    (out / "split.json").write_text(json.dumps(data.make_split(data.list_patients(cohort), 7)))
    with caplog.at_level(logging.WARNING), pytest.raises(InputError, match=LOADING):
        train(cohort, out, SMALL)
    said = [r.getMessage() for r in caplog.records if "origin" in r.getMessage()]
    assert len(said) == 1 and str(out / "split.json") in said[0]
    assert "neither the --seed it was drawn with nor a --split-from file" in said[0] and "reused as is" in said[0]


def test_the_shipped_split_is_still_reused_with_split_from(tmp_path, caplog):
    """--split-from assets/models/seg/split.json (train/validation/test/seed, no patient count): copied, then reused on
    the next run with or without --split-from, with no note."""
    shipped = ASSETS / "models" / "seg" / "split.json"
    ids = [pid for key in ("train", "validation", "test") for pid in json.loads(shipped.read_text())[key]]
    cohort = tmp_path / "c"
    for pid in ids:
        (cohort / pid).mkdir(parents=True)
        (cohort / pid / "mask.nii.gz").write_bytes(b"")
    out = tmp_path / "m"
    with caplog.at_level(logging.WARNING):
        for kwargs in ({"split_from": shipped}, {"split_from": shipped}, {}, {"max_patients": len(ids) + 5}):
            with pytest.raises(InputError, match=LOADING):
                train(cohort, out, SMALL, **kwargs)
    assert json.loads((out / "split.json").read_text())["from"] == str(shipped)
    assert "origin" not in caplog.text
