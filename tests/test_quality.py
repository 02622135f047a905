"""Fidelity fields, the stability report and the default method's quality on planted models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import planted_table
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from lime_cli import Explainer
from lime_cli.cli import app


def planted_logistic(d=40, used=8, seed=0):
    """A logistic regression whose weights are planted on `used` of `d` features."""
    rng = np.random.default_rng(seed)
    X = planted_table(n=3000, d=d, seed=seed)
    gold = rng.choice(d, used, replace=False)
    model = LogisticRegression().fit(X.iloc[:50], rng.integers(0, 2, 50))
    coef = np.zeros(d)
    coef[gold] = rng.choice([-1, 1], used) * rng.uniform(0.8, 1.6, used)
    model.coef_, model.intercept_ = coef[None, :], np.zeros(1)
    return model, X, set(X.columns[gold])


def test_fidelity_fields(cancer):
    model, X, _ = cancer
    exps = Explainer(model, X, num_features=5, num_samples=500, min_fidelity=0.6).explain(X.iloc[:6])
    for e in exps:
        assert e.fidelity_gap == pytest.approx(abs(e.local_prediction - e.model_prediction))
        assert e.low_fidelity == (e.score < 0.6)
        assert e.num_samples == 500


def row0(cancer_files, *extra):
    """CLI arguments explaining row 0 of the breast cancer table."""
    model, train = cancer_files
    return [str(a) for a in ["explain", "-m", model, "-d", train, "-t", "target", "--row", 0, *extra]]


def test_low_fidelity_is_marked_in_the_table(cancer_files):
    args = row0(cancer_files, "-n", 300, "--min-fidelity", 0.99)
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.stderr
    assert "LOW FIDELITY" in out.stdout


def test_default_recovers_planted_features_and_is_stable():
    model, X, gold = planted_logistic()
    rows = X.iloc[:15]
    a = Explainer(model, X, num_features=10, num_samples=3000, seed=1).explain(rows)
    b = Explainer(model, X, num_features=10, num_samples=3000, seed=2).explain(rows)
    recall = np.mean([len(gold & {f.feature for f in e.features}) / len(gold) for e in a])
    assert recall >= 0.85
    sets = [
        ({f.feature for f in x.features}, {f.feature for f in y.features}) for x, y in zip(a, b, strict=True)
    ]
    jaccard = np.mean([len(s & t) / len(s | t) for s, t in sets])
    assert jaccard >= 0.9
    gap = np.median([e.fidelity_gap for e in a])
    assert gap <= 0.06
    # lime's method on the same rows: less stable, less faithful
    c = Explainer(model, X, num_features=10, num_samples=3000, seed=1, preset="lime").explain(rows)
    d = Explainer(model, X, num_features=10, num_samples=3000, seed=2, preset="lime").explain(rows)
    pairs = [
        ({f.feature for f in x.features}, {f.feature for f in y.features}) for x, y in zip(c, d, strict=True)
    ]
    assert np.mean([len(s & t) / len(s | t) for s, t in pairs]) < jaccard
    assert np.median([e.fidelity_gap for e in c]) > gap


def test_default_leaves_out_what_cannot_be_told_from_zero():
    X = planted_table(n=2000, d=10, seed=2)
    y = (2 * X["x0"] - 2 * X["x1"] > 0).astype(int)
    model = LogisticRegression().fit(X[["x0", "x1"]], y)

    class TwoFeatures:
        classes_ = model.classes_

        def predict_proba(self, frame):
            return model.predict_proba(frame[["x0", "x1"]])

    ours = Explainer(TwoFeatures(), X, num_features=8, num_samples=3000).explain(X.iloc[:5])
    lime_like = Explainer(TwoFeatures(), X, num_features=8, num_samples=3000, preset="lime").explain(
        X.iloc[:5]
    )
    for e, e_lime in zip(ours, lime_like, strict=True):
        assert {"x0", "x1"} & {f.feature for f in e.features}  # a saturated row may need only one
        assert e.insignificant == 8 - len(e.features)
        assert len(e_lime.features) == 8 and e_lime.insignificant == 0
    # at 95% family-wise confidence, noise features are rarely kept
    noise = [len({f.feature for f in e.features} - {"x0", "x1"}) for e in ours]
    assert np.mean(noise) <= 0.4


def test_stability_report(cancer):
    model, X, _ = cancer
    ex = Explainer(model, X, num_features=5, num_samples=400, batch_size=3)
    plain = ex.explain(X.iloc[:4])
    with_report = ex.explain(X.iloc[:4], stability=3)
    for e, p in zip(with_report, plain, strict=True):
        s = e.stability
        assert s.replicates == 3
        assert 0.0 <= s.score <= 1.0
        assert [f.feature for f in s.features] == [f.feature for f in e.features]
        assert all(0.0 <= f.frequency <= 1.0 and f.weight_std >= 0 for f in s.features)
        # the main explanation is the one a run without the report gives
        assert e.features == p.features and e.score == p.score
    # replicates really are other streams: some weight varies
    assert any(f.weight_std > 0 for e in with_report for f in e.stability.features)


def test_stability_in_outputs(cancer_files):
    model, train = cancer_files
    base = ["explain", "-m", model, "-d", train, "-t", "target", "--row", 0, "--row", 1, "-n", 300, "-k", 4]
    out = CliRunner().invoke(app, [str(a) for a in base + ["--stability", 3, "-f", "csv"]])
    assert out.exit_code == 0, out.stderr
    frame = pd.read_csv(__import__("io").StringIO(out.stdout))
    assert frame["selection_frequency"].between(0, 1).all()
    assert frame["stability_score"].notna().all()
    table = CliRunner().invoke(app, [str(a) for a in base + ["--stability", 2]])
    assert "over 2 other seeds" in table.stdout and "kept" in table.stdout


def test_preset_lime_matches_lime_method(cancer):
    # preset lime: no locality, no pruning; K features always listed
    model, X, _ = cancer
    ex = Explainer(model, X, num_features=5, num_samples=500, preset="lime")
    assert (ex.settings.locality, ex.settings.confidence) == (0.0, 0.0)
    assert all(len(e.features) == 5 for e in ex.explain(X.iloc[:3]))


@pytest.mark.parametrize("bad", [{"locality": 1.0}, {"confidence": 1.5}, {"preset": "nope"}])
def test_bad_method_settings(cancer, bad):
    from lime_cli import ParameterError

    model, X, _ = cancer
    with pytest.raises(ParameterError):
        Explainer(model, X, **bad)


def test_auto_samples_stop_when_the_explanation_holds():
    model, X, gold = planted_logistic(d=12, used=3, seed=3)
    ex = Explainer(model, X, num_features=3, num_samples="auto")
    exps = ex.explain(X.iloc[:6])
    for e in exps:
        assert e.num_samples in {2000, 4000, 8000, 16000, 32000}
        assert {f.feature for f in e.features} <= set(X.columns)
    # the stopping rule: the last level agrees with the level before, unless the cap was hit
    assert any(e.num_samples < 32000 for e in exps)
    # a row explained alone stops at the same level with the same explanation
    (alone,) = ex.explain(X.iloc[[4]], positions=[4])
    assert alone == exps[4]


def test_auto_samples_from_the_cli(cancer_files):
    args = row0(cancer_files, "-n", "auto", "-k", 3, "-f", "json")
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.stderr
    assert __import__("json").loads(out.stdout)["explanations"][0]["num_samples"] >= 2000
    bad = CliRunner().invoke(app, args[:-2] + ["-n", "lots"])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --num-samples")
