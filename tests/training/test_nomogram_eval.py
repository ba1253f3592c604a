"""``otscc fit-nomogram`` and ``otscc eval-nomogram`` end to end on a small SYNTHETIC feature table.

No radiomics is run: the cohort folder holds only clinical.csv and the feature caches are written here, so
both commands read everything from the caches. Every figure eval-nomogram reports is recomputed
independently (probabilities from the JSON coefficients with numpy, metrics with scikit-learn, DeLong from
the Heaviside kernel) and compared.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, confusion_matrix, recall_score, roc_auc_score, roc_curve

from inference.atomic import write_json
from inference.cli import main
from inference.errors import InputError
from inference.nomogram import Nomogram
from training.nomogram.evaluate import load_clinical_model
from training.nomogram.fit import fit_nomogram

N_TRAIN, N_VAL, N_TEST = 50, 14, 36
NO_AUTO_FEATURES = "P0095"  # a test patient the "model" found no tumor in: no auto features


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Cohort (clinical.csv), model folder (split.json), feature caches, fitted manual and auto nomograms."""
    root = tmp_path_factory.mktemp("nomo")
    rng = np.random.default_rng(42)
    n = N_TRAIN + N_VAL + N_TEST
    ids = [f"P{i:04d}" for i in range(1, n + 1)]
    signal, doi = rng.normal(0, 1, n), np.clip(rng.gamma(3, 2.5, n), 0.5, 30)
    lnm = (2.0 * signal + 0.2 * (doi - 7) + rng.normal(0, 1.0, n) > 0.3).astype(int)
    cohort, model, runs = root / "cohort", root / "model", root / "runs"
    for d in (cohort, model, runs):
        d.mkdir()
    _write_csv(cohort / "clinical.csv", ["patient_id", "age", "sex", "ct_stage", "cn_status", "doi_mm", "lnm"],
               [[pid, int(rng.integers(30, 80)), "M" if rng.random() < 0.7 else "F",
                 "T3" if d > 10 else "T2" if d > 5 else "T1", int(rng.random() < 0.3), round(float(d), 1), int(y)]
                for pid, d, y in zip(ids, doi, lnm, strict=True)])
    order = [str(p) for p in rng.permutation([p for p in ids if p != NO_AUTO_FEATURES])]
    split = {"train": sorted(order[:N_TRAIN]), "validation": sorted(order[N_TRAIN:N_TRAIN + N_VAL]),
             "test": sorted([*order[N_TRAIN + N_VAL:], NO_AUTO_FEATURES]), "seed": 0}
    (model / "split.json").write_text(json.dumps(split))
    names = ["cet1_signal", "t2_noise1", "t2_noise2", "t1_noise3", "mask_volume_ml"]
    for masks, blur in (("manual", 0.3), ("auto", 0.7)):
        x = np.column_stack([50 + 10 * (signal + rng.normal(0, blur, n)), rng.normal(0, 1, (n, 3)),
                             rng.uniform(0.5, 5, n)])
        rows = [[pid, *("" if masks == "auto" and pid == NO_AUTO_FEATURES else repr(float(v)) for v in row)]
                for pid, row in zip(ids, x, strict=True)]
        _write_csv(runs / f"features_{masks}.csv", ["patient_id", *names], rows)
    return {"root": root, "cohort": cohort, "model": model, "runs": runs, "split": split, "ids": ids}


def _fit_auto(study) -> dict:
    """The auto-mask nomogram, fitted through the same code (the CLI would load the shipped segmenter)."""
    out = study["runs"] / "nomogram_auto.json"
    if not out.exists():
        from training.nomogram.features import as_matrix, feature_table, read_clinical

        clinical = read_clinical(study["cohort"])
        train = sorted(study["split"]["train"] + study["split"]["validation"])
        table = feature_table(study["cohort"], train, "auto", study["runs"] / "features_auto.csv",
                              model_dir=study["model"])
        x, names = as_matrix(table)
        y = np.array([int(clinical[p]["lnm"]) for p in table])
        nomo, clin = fit_nomogram(x, names, [clinical[p] for p in table], y, mask_source="auto")
        write_json(out, nomo)
        write_json(out.with_suffix(".clinical.json"), {"kind": "clinical", "model": clin})
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def evaluated(study):
    _fit_auto(study)
    manual = study["runs"] / "nomogram_manual.json"
    if not manual.exists():
        assert main(["fit-nomogram", "--cohort", str(study["cohort"]), "--masks", "manual", "--model",
                     str(study["model"]), "--out", str(manual)]) == 0
    out = study["root"] / "eval.json"
    plots = study["root"] / "plots"
    code = main(["eval-nomogram", "--cohort", str(study["cohort"]), "--nomogram",
                 str(study["runs"] / "nomogram_auto.json"), "--compare", str(manual), "--model", str(study["model"]),
                 "--json", str(out), "--plots", str(plots), "--n-boot", "300", "--seed", "4"])
    assert code == 0
    return json.loads(out.read_text()), plots


# ---------------------------------------------------------------- fit-nomogram


def test_fit_nomogram_cli_writes_valid_nomogram_and_clinical_model(study, tmp_path, capsys):
    out = tmp_path / "nomogram.json"
    assert main(["fit-nomogram", "--cohort", str(study["cohort"]), "--masks", "manual", "--model",
                 str(study["model"]), "--out", str(out), "--features", str(study["runs"] / "features_manual.csv")]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    nomo = Nomogram.load(out)  # schema-validated on load
    assert nomo.data["mask_source"] == "manual" and nomo.data["synthetic_training_data"] is True
    assert nomo.data["training_metrics"]["n"] == N_TRAIN + N_VAL  # fitted on train + validation only
    assert "cet1_signal" in nomo.data["radscore"]["features"]
    clinical = load_clinical_model(tmp_path / "nomogram.clinical.json")
    assert clinical["variables"] == ["age", "sex", "ct_stage", "cn_status", "doi_mm"]
    assert json.loads((tmp_path / "nomogram.clinical.json").read_text())["kind"] == "clinical"


def test_fit_nomogram_refuses_a_cohort_without_clinical_csv(study, tmp_path, capsys):
    (tmp_path / "cohort").mkdir()
    argv = ["fit-nomogram", "--cohort", str(tmp_path / "cohort"), "--masks", "manual", "--model", str(study["model"]),
            "--out", str(tmp_path / "n.json"), "--features", str(study["runs"] / "features_manual.csv")]
    assert main(argv) == InputError.exit_code
    assert "clinical.csv" in capsys.readouterr().err
    assert not (tmp_path / "n.json").exists()
    with pytest.raises(InputError, match="clinical.csv"):  # the typed error itself, under --debug
        main(["--debug", *argv])


# ---------------------------------------------------------------- eval-nomogram: sets


def test_sets_are_the_split_disjoint_and_sized(evaluated, study):
    results, _ = evaluated
    split = study["split"]
    assert results["synthetic_data"] is True
    assert results["sets"]["train"] == {"n_split": N_TRAIN + N_VAL, "n_evaluated": N_TRAIN + N_VAL, "excluded": []}
    assert results["sets"]["test"] == {"n_split": N_TEST, "n_evaluated": N_TEST - 1, "excluded": [NO_AUTO_FEATURES]}
    assert set(results["models"]) == {"fusion_auto", "fusion_manual", "clinical"}
    for m in results["models"].values():
        train, test = m["sets"]["train"]["ids"], m["sets"]["test"]["ids"]
        assert sorted(train) == sorted(split["train"] + split["validation"])
        assert sorted(test) == sorted(set(split["test"]) - {NO_AUTO_FEATURES})
        assert not set(train) & set(test)
        assert m["sets"]["train"]["n"] == len(train) and m["sets"]["test"]["n"] == len(test)


# ---------------------------------------------------------------- eval-nomogram: numbers


def _encode(row: dict) -> list[float]:
    return [float(row["age"]), 1.0 if row["sex"] == "M" else 0.0, float(row["ct_stage"][-1]),
            float(row["cn_status"]), float(row["doi_mm"])]


def _independent_probabilities(nomo: dict, ids, cohort, runs) -> np.ndarray:
    with open(cohort / "clinical.csv", newline="") as fh:
        clinical = {r["patient_id"]: r for r in csv.DictReader(fh)}
    with open(runs / f"features_{nomo['mask_source']}.csv", newline="") as fh:
        feats = {r["patient_id"]: r for r in csv.DictReader(fh)}
    rad, model = nomo["radscore"], nomo["model"]
    out = []
    for pid in ids:
        f = np.array([float(feats[pid][k]) for k in rad["features"]])
        score = rad["intercept"] + np.dot(rad["weights"], (f - rad["means"]) / np.array(rad["sds"]))
        x = np.array([score, *_encode(clinical[pid])])
        lp = model["intercept"] + np.dot(model["coefficients"], (x - model["means"]) / np.array(model["sds"]))
        out.append(1 / (1 + math.exp(-lp)))
    return np.array(out)


@pytest.mark.parametrize("name", ["fusion_auto", "fusion_manual"])
def test_probabilities_equal_an_independent_scoring(evaluated, study, name):
    results, _ = evaluated
    nomo = json.loads((study["runs"] / f"nomogram_{name.split('_')[1]}.json").read_text())
    for s in ("train", "test"):
        r = results["models"][name]["sets"][s]
        expected = _independent_probabilities(nomo, r["ids"], study["cohort"], study["runs"])
        np.testing.assert_allclose(r["probabilities"], expected, rtol=0, atol=1e-12)
    # the reported threshold is the one chosen on the training set when the nomogram was fitted
    assert results["models"][name]["threshold"] == nomo["training_metrics"]["youden_threshold"]


def _bootstrap(y, p, n_boot, seed):
    rng, values = np.random.default_rng(seed), []
    while len(values) < n_boot:
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) == 2:
            values.append(roc_auc_score(y[idx], p[idx]))
    return np.percentile(values, [2.5, 97.5])


@pytest.mark.parametrize("name", ["fusion_auto", "fusion_manual", "clinical"])
def test_metrics_equal_sklearn(evaluated, name):
    results, _ = evaluated
    model = results["models"][name]
    y_train = np.array(model["sets"]["train"]["outcomes"], bool)
    p_train = np.array(model["sets"]["train"]["probabilities"])
    fpr, tpr, _ = roc_curve(y_train, p_train)
    t = model["threshold"]
    # the threshold is Youden-optimal on the TRAINING set
    assert recall_score(y_train, p_train >= t) + recall_score(~y_train, p_train < t) - 1 == pytest.approx(
        np.max(tpr - fpr), abs=1e-12)
    for s in ("train", "test"):
        r = model["sets"][s]
        y, p = np.array(r["outcomes"], bool), np.array(r["probabilities"])
        assert r["threshold"] == t
        assert r["prevalence"] == pytest.approx(y.mean())
        assert r["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert r["auc_ci95"] == pytest.approx(list(_bootstrap(y, p, 300, 4)), abs=1e-12)
        assert r["sensitivity"] == pytest.approx(recall_score(y, p >= t), abs=1e-12)
        assert r["specificity"] == pytest.approx(recall_score(~y, p < t), abs=1e-12)
        assert r["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
        ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(np.log(p / (1 - p)).reshape(-1, 1), y)
        assert r["calibration_intercept"] == pytest.approx(ref.intercept_[0], abs=1e-4)
        assert r["calibration_slope"] == pytest.approx(ref.coef_[0, 0], abs=1e-4)
        observed, predicted = calibration_curve(y, p, n_bins=5, strategy="quantile")
        assert [c["observed"] for c in r["calibration_curve"]] == pytest.approx(list(observed), abs=1e-12)
        assert [c["predicted"] for c in r["calibration_curve"]] == pytest.approx(list(predicted), abs=1e-12)
        for row in r["decision_curve"]:
            tn, fp, fn, tp = confusion_matrix(y, p >= row["threshold"], labels=[False, True]).ravel()
            odds = row["threshold"] / (1 - row["threshold"])
            assert row["model"] == pytest.approx((tp - fp * odds) / len(y), abs=1e-12)
            assert row["treat_all"] == pytest.approx((tp + fn - (tn + fp) * odds) / len(y), abs=1e-12)
            assert row["treat_none"] == 0.0


def _delong(y, p1, p2):
    """Textbook DeLong from the Heaviside kernel: O(n^2), independent of the midrank implementation."""
    def components(p):
        pos, neg = p[y], p[~y]
        kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        return kernel.mean(axis=1), kernel.mean(axis=0)

    (a10, a01), (b10, b01) = components(p1), components(p2)
    var = np.var(a10 - b10, ddof=1) / len(a10) + np.var(a01 - b01, ddof=1) / len(a01)
    z = (a10.mean() - b10.mean()) / math.sqrt(var)
    return z, math.erfc(abs(z) / math.sqrt(2))


def test_delong_tests_are_on_the_test_set_and_match(evaluated):
    results, _ = evaluated
    pairs = {(d["first"], d["second"]) for d in results["delong_test"]}
    assert pairs == {("fusion_auto", "fusion_manual"), ("fusion_auto", "clinical"), ("fusion_manual", "clinical")}
    for d in results["delong_test"]:
        assert d["set"] == "test" and d["n"] == N_TEST - 1
        first, second = (results["models"][k]["sets"]["test"] for k in (d["first"], d["second"]))
        assert first["ids"] == second["ids"]  # paired: same patients, same order
        y = np.array(first["outcomes"], bool)
        z, p_value = _delong(y, np.array(first["probabilities"]), np.array(second["probabilities"]))
        assert d["auc1"] == pytest.approx(first["auc"]) and d["auc2"] == pytest.approx(second["auc"])
        assert d["z"] == pytest.approx(z, abs=1e-9) and d["p_value"] == pytest.approx(p_value, abs=1e-9)


def test_plots_and_stdout(evaluated, study, capsys):
    _, plots = evaluated
    for name in ("roc_train.png", "roc_test.png", "calibration.png", "decision_curve.png"):
        data = (plots / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    code = main(["eval-nomogram", "--cohort", str(study["cohort"]), "--nomogram",
                 str(study["runs"] / "nomogram_manual.json"), "--model", str(study["model"]), "--n-boot", "100"])
    out = capsys.readouterr().out
    assert code == 0 and "SYNTHETIC" in out
    assert "TRAINING patients" in out and "TEST patients (held out)" in out and "DeLong" in out
    # without the auto nomogram, the test patient without auto features is evaluated
    assert f"{N_TEST} of {N_TEST} evaluated" in out


def test_eval_refuses_a_split_from_another_cohort(evaluated, study, tmp_path, capsys):
    (tmp_path / "split.json").write_text(json.dumps({"train": ["X1"], "validation": [], "test": ["X2"]}))
    code = main(["eval-nomogram", "--cohort", str(study["cohort"]), "--nomogram",
                 str(study["runs"] / "nomogram_auto.json"), "--model", str(tmp_path)])
    assert code == InputError.exit_code and "X1" in capsys.readouterr().err


def test_roc_curves_that_coincide_stay_visible():
    """The nomogram evaluated is drawn wide and on top, the comparisons dashed (the shipped fusion model's ROC lay
    exactly under the clinical-only one and could not be seen)."""
    import matplotlib

    matplotlib.use("Agg")
    from training.nomogram.plots import _roc

    rng = np.random.default_rng(0)
    y, p = [0, 1] * 10, rng.uniform(size=20).tolist()
    same = {"outcomes": y, "probabilities": p, "auc": 0.5, "auc_ci95": [0.3, 0.7], "threshold": 0.5, "n": 20,
            "prevalence": 0.5}
    fig = _roc({"models": {"fusion_auto": {"sets": {"test": same}}, "clinical": {"sets": {"test": same}}}}, "test")
    first, second = (line for line in fig.axes[0].get_lines() if line.get_label().startswith(("fusion", "clinical")))
    assert first.get_zorder() > second.get_zorder() and first.get_linewidth() > second.get_linewidth()
    assert first.get_linestyle() == "-" and second.get_linestyle() == "--"
