"""``otscc fit-nomogram``: progress during the minute of fitting, and the refusal of a fit below chance (found by a
review, 2026-11-30: the command said nothing for ~75 s, and the refusal had no test)."""

from __future__ import annotations

from inference.cli import main
from inference.errors import InputError
from tests.training.test_nomogram_eval import study  # noqa: F401 (the shared fixture)
from tests.training.test_nomogram_fit import table
from training.progress import PatientProgress


def _fit_args(study, out) -> list[str]:  # noqa: F811
    return ["fit-nomogram", "--cohort", str(study["cohort"]), "--masks", "manual", "--model", str(study["model"]),
            "--out", str(out), "--features", str(study["runs"] / "features_manual.csv")]


def test_the_fit_reports_each_of_its_steps_as_it_starts():
    from training.nomogram.fit import FIT_STEPS, OOF_FOLDS, fit_nomogram

    x, names, clinical, y = table(n=120)
    steps = []
    fit_nomogram(x, names, clinical, y, mask_source="manual", progress=lambda i, n, what: steps.append((i, n, what)))
    assert [(i, n) for i, n, _ in steps] == [(i, FIT_STEPS) for i in range(1, FIT_STEPS + 1)]
    assert FIT_STEPS == OOF_FOLDS + 2
    assert steps[0][2] == "rad-score: cross-validated LASSO on 120 patients"
    assert steps[1][2] == f"out-of-fold rad-scores: LASSO without fold 1 of {OOF_FOLDS}"
    assert steps[-1][2] == "fusion and clinical-only models"


def test_fit_nomogram_shows_its_steps_on_stderr(study, tmp_path, capsys):  # noqa: F811
    assert main(_fit_args(study, tmp_path / "n.json")) == 0
    err = capsys.readouterr().err  # not a terminal: a plain line per step (tests/training/test_progress.py)
    assert "\nfitting [1/7] rad-score: cross-validated LASSO on " in err
    assert "\nfitting [4/7] out-of-fold rad-scores: LASSO without fold 3 of 5\n" in err
    assert "\nfitting [7/7] fusion and clinical-only models\n" in err and "\r" not in err


def test_a_fit_below_chance_is_refused_and_nothing_is_written(study, tmp_path, monkeypatch, capsys):  # noqa: F811
    """A fusion model whose AUC on its own training patients is below 0.5 is a failed fit, not a model."""
    from training.nomogram import fit

    def below_chance(*args, **kwargs):
        nomogram, clinical_only = fit.fit_nomogram(*args, **kwargs)
        nomogram["training_metrics"]["auc_fusion"] = 0.42
        return nomogram, clinical_only

    monkeypatch.setattr("training.nomogram.commands.fit_nomogram.fit_nomogram", below_chance)
    out = tmp_path / "n.json"
    assert main(_fit_args(study, out)) == InputError.exit_code
    err = capsys.readouterr().err
    assert "error: the fit failed: training AUC of the fusion model 0.420 (below chance" in err
    assert "nothing was written" in err
    assert not out.exists() and not out.with_suffix(".clinical.json").exists()


def test_a_shorter_status_line_is_padded_over_the_longer_one_before_it():
    from tests.training.test_progress import Terminal

    stream = Terminal()  # rewritten in place on a terminal only
    with PatientProgress("fitting ", stream) as progress:
        progress(1, 2, "a long step name")
        progress(2, 2, "short")
    first, second = stream.getvalue().split("\r")[1:]
    assert len(second.rstrip("\n")) >= len(first) and second.startswith("fitting [2/2] short ")


def test_ctrl_c_while_computing_features_says_they_are_cached(study, tmp_path, monkeypatch, capsys):  # noqa: F811
    """It said only "interrupted", though the features computed so far are kept and a re-run reuses them."""
    import shutil

    cache = tmp_path / "features_manual.csv"
    shutil.copy(study["runs"] / "features_manual.csv", cache)  # every training patient's features, cached

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("training.nomogram.commands.fit_nomogram.feature_table", interrupted)
    args = _fit_args(study, tmp_path / "n.json")
    args[args.index("--features") + 1] = str(cache)
    assert main(args) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "otscc fit-nomogram: interrupted"
    assert err[-2].startswith("stopped with the features of ") and err[-2].endswith(
        f"patients cached in {cache}; the same command reuses them")
    done, total = (int(n) for n in err[-2].split("features of ")[1].split(" patients")[0].split(" of "))
    assert done == total > 0


def test_ctrl_c_in_eval_nomogram_says_the_features_are_cached(study, tmp_path, monkeypatch, capsys):  # noqa: F811
    manual = tmp_path / "nomogram_manual.json"
    assert main(_fit_args(study, manual)) == 0

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("training.nomogram.commands.eval_nomogram.feature_table", interrupted)
    capsys.readouterr()
    assert main(["eval-nomogram", "--cohort", str(study["cohort"]), "--nomogram", str(manual), "--model",
                 str(study["model"]), "--features", str(study["runs"] / "features_manual.csv")]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "otscc eval-nomogram: interrupted"
    assert err[-2].startswith("stopped with the features of ") and "the same command reuses them" in err[-2]
