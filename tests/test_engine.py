"""The engine on planted-signal models: right features, right signs, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import planted_table
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from lime_cli import Explainer, explanations_to_frame
from lime_cli.core.surrogate import fit, moments, select, t_statistics


def top_features(exp, k):
    return {f.feature for f in exp.features[:k]}


@pytest.mark.parametrize("selection", ["forward", "highest", "lasso"])
def test_planted_classifier_recovers_its_features(selection):
    X = planted_table(d=12)
    logit = 3 * X["x2"] - 2.5 * X["x7"] + 2 * X["x9"]
    y = (logit + np.random.default_rng(1).normal(0, 0.3, len(X)) > 0).astype(int)
    model = RandomForestClassifier(n_estimators=60, max_depth=8, random_state=0).fit(X, y)
    ex = Explainer(model, X, num_features=3, num_samples=2000, feature_selection=selection)
    exps = ex.explain(X.iloc[:15])
    hits = [len(top_features(e, 3) & {"x2", "x7", "x9"}) for e in exps]
    assert np.mean(hits) >= 2.6, hits


def test_planted_regressor_recovers_features_and_signs():
    X = planted_table(d=10, seed=3)
    y = 5 * X["x1"] - 4 * X["x4"] + 0.1 * X["x0"]
    model = RandomForestRegressor(n_estimators=40, max_depth=8, random_state=0).fit(X, y)
    ex = Explainer(model, X, num_features=2, num_samples=2000, confidence=0)
    assert ex.mode == "regression"
    for e in ex.explain(X.iloc[:10]):
        assert e.label is None
        assert top_features(e, 2) == {"x1", "x4"}
    # with pruning, a row may leave out a feature whose local effect is small, never add another
    pruned = Explainer(model, X, num_features=2, num_samples=2000).explain(X.iloc[:10])
    assert all(top_features(e, 2) <= {"x1", "x4"} and e.features for e in pruned)
    assert np.mean([len(e.features) for e in pruned]) >= 1.8


def test_sign_of_a_linear_effect():
    # y rises with x0 and falls with x1: an instance in the top quartile of x0 gets a
    # positive weight for it; one in the top quartile of x1 a negative one
    X = planted_table(d=5, seed=4)
    model = LinearRegression().fit(X, 3 * X["x0"] - 3 * X["x1"])
    ex = Explainer(model, X, num_features=5, num_samples=3000)
    row = pd.DataFrame([{"x0": 2.0, "x1": 2.0, "x2": 0.0, "x3": 0.0, "x4": 0.0}])
    (e,) = ex.explain(row)
    w = {f.feature: f.weight for f in e.features}
    assert w["x0"] > 1.0 and w["x1"] < -1.0
    assert abs(w.get("x2", 0.0)) < 0.3 * abs(w["x0"])  # irrelevant: small, or left out
    conds = {f.feature: f.condition for f in e.features}
    assert conds["x0"].startswith("x0 > ")


def test_row_identical_alone_in_batch_and_across_runs(cancer):
    model, X, _ = cancer
    ex = Explainer(model, X, num_features=5, num_samples=800, batch_size=4)
    batch = ex.explain(X.iloc[:10])
    alone = ex.explain(X.iloc[[7]], positions=[7])
    again = Explainer(model, X, num_features=5, num_samples=800, batch_size=3).explain(X.iloc[:10])
    assert alone[0] == batch[7]
    assert again == batch
    other_seed = Explainer(model, X, num_features=5, num_samples=800, seed=1).explain(
        X.iloc[[7]], positions=[7]
    )
    assert other_seed[0] != batch[7]


def test_surrogate_matches_sklearn_ridge():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    B, S, d = 3, 400, 6
    Z = (rng.random((B, S, d)) < 0.6).astype(float)
    w = rng.random((B, S))
    Y = (Z @ rng.normal(size=d))[:, :, None] + rng.normal(0, 0.1, (B, S, 1))
    m = moments(Z.transpose(0, 2, 1).copy(), w, Y)
    z0 = Z[:, 0, :]
    chosen = select(m, 3, "forward", z0)
    f = fit(m, chosen, z0)
    for b in range(B):
        ridge = Ridge(alpha=1.0).fit(Z[b][:, chosen[b]], Y[b, :, 0], sample_weight=w[b])
        np.testing.assert_allclose(f.coef[b], ridge.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(f.intercept[b], ridge.intercept_, rtol=1e-8)
        score = ridge.score(Z[b][:, chosen[b]], Y[b, :, 0], sample_weight=w[b])
        np.testing.assert_allclose(f.score[b], score, rtol=1e-8)


@pytest.mark.parametrize("selection", ["forward", "highest"])  # Gram columns, or the whole Gram
def test_t_statistics_match_the_sandwich_formula(selection):
    # two labels per instance: problem p is instance p // 2, label p % 2
    rng = np.random.default_rng(3)
    B, S, d, L = 3, 500, 6, 2
    Z = np.concatenate([rng.integers(0, 2, (B, 4, S)), rng.standard_normal((B, 2, S))], axis=1).astype(float)
    w = rng.random((B, S))
    Y = np.einsum("bds,dl->bsl", Z, rng.normal(size=(d, L))) + rng.normal(0, 0.3, (B, S, L))
    m = moments(Z, w, Y, binary=4)
    z0 = np.repeat(Z[:, :, 0], L, axis=0)
    chosen = select(m, 3, selection, z0)
    f = fit(m, chosen, z0)
    got = t_statistics(m, f)
    for p in range(B * L):
        i, label = divmod(p, L)
        X = Z[i][chosen[p]].T  # (S, k)
        Xc = X - np.average(X, axis=0, weights=w[i])
        yc = Y[i, :, label] - np.average(Y[i, :, label], weights=w[i])
        e = yc - Xc @ f.coef[p]
        bread = np.linalg.inv(Xc.T @ (w[i][:, None] * Xc) + f.alpha * np.eye(3))
        cov = bread @ ((Xc * ((w[i] * e) ** 2)[:, None]).T @ Xc) @ bread
        np.testing.assert_allclose(got[p], np.abs(f.coef[p]) / np.sqrt(np.diag(cov)), rtol=1e-8)


def test_forward_selection_matches_brute_force():
    from sklearn.linear_model import LinearRegression as OLS

    rng = np.random.default_rng(5)
    S, d = 300, 7
    Z = (rng.random((1, S, d)) < 0.5).astype(float)
    w = rng.random((1, S))
    Y = (Z[0] @ rng.normal(size=d) + rng.normal(0, 0.5, S))[None, :, None]
    chosen = list(select(moments(Z.transpose(0, 2, 1).copy(), w, Y), 4, "forward", Z[:, 0])[0])
    used = []
    for _ in range(4):
        scores = {
            j: OLS()
            .fit(Z[0][:, used + [j]], Y[0, :, 0], sample_weight=w[0])
            .score(Z[0][:, used + [j]], Y[0, :, 0], sample_weight=w[0])
            for j in range(d)
            if j not in used
        }
        used.append(max(scores, key=scores.get))
    assert chosen == used


def test_mixed_pipeline_with_strings_and_nan(mixed):
    model, frame = mixed
    ex = Explainer(model, frame, target="progression", num_features=7, num_samples=1000, preset="lime")
    assert ex.classes == ["high", "low"]
    nan_rows = frame.index[frame["sex"].isna() | frame["bp"].isna()][:3].tolist()
    exps = ex.explain(frame.iloc[nan_rows], positions=nan_rows)
    for e, r in zip(exps, nan_rows, strict=True):
        assert e.row == r
        conds = {f.feature: f.condition for f in e.features}
        if pd.isna(frame.loc[r, "sex"]):
            assert conds["sex"] == "sex is missing"
        if pd.isna(frame.loc[r, "bp"]):
            assert conds["bp"] == "bp is missing"
        assert conds["bmi_class"].startswith("bmi_class = ")
        assert 0.0 <= e.model_prediction <= 1.0


def test_model_sees_training_columns_dtypes_and_order(mixed):
    model, frame = mixed
    seen = []

    class Spy:
        feature_names_in_ = model.feature_names_in_
        classes_ = model.classes_

        def predict_proba(self, X):
            seen.append(X)
            return model.predict_proba(X)

    features = frame[list(model.feature_names_in_)]
    Explainer(Spy(), frame, target="progression", num_samples=200).explain(frame.iloc[:3])
    probe, *chunks = seen  # two samples of the first row, to check what the model returns; then the chunks
    assert len(probe) == 2 and dict(probe.dtypes) == dict(features.dtypes)
    X = pd.concat(chunks)
    assert list(X.columns) == list(model.feature_names_in_)
    assert dict(X.dtypes) == dict(features.dtypes)
    assert X["sex"].isna().any() and X["bp"].isna().any()
    assert set(X["bmi_class"].dropna()) <= set(frame["bmi_class"])
    assert len(X) == 3 * 200


def test_constant_and_all_missing_columns():
    X = planted_table(n=500, d=4, seed=7)
    X["const"] = 1.0
    X["holes"] = np.where(np.arange(500) % 3 == 0, np.nan, X["x0"])
    y = (X["x1"] > 0).astype(int)
    model = LogisticRegression().fit(X[["x1"]], y)

    class OnX1:
        classes_ = model.classes_

        def predict_proba(self, frame):
            return model.predict_proba(frame[["x1"]])

    exps = Explainer(OnX1(), X, num_features=3, num_samples=1000).explain(X.iloc[:5])
    for e in exps:
        assert e.features[0].feature == "x1"
        w = {f.feature: f.weight for f in e.features}
        assert abs(w.get("const", 0.0)) < 1e-9
        assert np.isfinite(e.score)


def test_integer_columns_stay_integers():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"count": rng.integers(0, 4, 400), "flag": rng.integers(0, 2, 400)})
    seen = []

    class Model:
        def predict(self, frame):
            seen.append(frame)
            return frame["count"].to_numpy() * 2.0

    Explainer(Model(), X, num_samples=300).explain(X.iloc[:4])
    frame = pd.concat(seen[1:])  # after the probe
    assert frame["count"].dtype == X["count"].dtype
    assert set(frame["flag"]) <= {0, 1}
    assert set(frame["count"]) <= {0, 1, 2, 3}


def test_discretizer_none_and_decile_and_entropy(cancer):
    model, X, y = cancer
    for disc in ("none", "decile"):
        (e,) = Explainer(model, X, num_features=4, num_samples=600, discretizer=disc).explain(X.iloc[[0]])
        assert len(e.features) == 4
    train = X.assign(target=y)
    (e,) = Explainer(model, train, target="target", discretizer="entropy", num_samples=600).explain(
        X.iloc[[0]]
    )
    assert len(e.features) == 10


def test_tidy_frame(cancer):
    model, X, _ = cancer
    exps = Explainer(model, X, num_features=3, num_samples=300, feature_selection="highest").explain(
        X.iloc[:2], top_labels=2
    )
    frame = explanations_to_frame(exps)
    assert len(frame) == 2 * 2 * 3
    assert frame.groupby(["row", "label"])["rank"].apply(list).map(lambda r: r == [1, 2, 3]).all()


def draw_samples(ex, frame, rows, seed, num_samples, locality, threads, sampling):
    """``perturb`` on rows ``rows`` of ``frame``, row r with the stream (seed, r): the
    Perturbation and the rows' own codes and binned values."""
    from lime_cli.tabular import sampling as _sampling

    fe = ex.frontend
    inst = fe.encode(ex.check_rows(frame.iloc[rows]))
    rngs = [np.random.default_rng([seed, int(r)]) for r in rows]
    pert = _sampling.perturb(
        fe.layout, inst.codes, inst.binned, inst.cont, rngs, num_samples, locality, threads, sampling
    )
    return pert, inst.codes, inst.binned


@pytest.mark.parametrize("locality,sampling", [(0.0, "random"), (0.7, "random"), (0.7, "sobol")])
def test_samples_do_not_depend_on_blocks_threads_or_chunk(mixed, monkeypatch, locality, sampling):
    from lime_cli.tabular import sampling as _sampling

    model, frame = mixed
    ex = Explainer(model, frame, target="progression")

    def draw(rows, threads):
        pert, _, _ = draw_samples(ex, frame, rows, 5, 600, locality, threads, sampling)
        return {k: getattr(pert, k).copy() for k in ("codes", "values", "Z")}

    base = draw(np.arange(9), 1)
    monkeypatch.setattr(_sampling, "BLOCK_CELLS", 900)  # one or two rows a block
    for threads in (2, 3):
        other = draw(np.arange(9), threads)
        for k in base:
            assert np.array_equal(base[k], other[k], equal_nan=True), (threads, k)
    alone = draw(np.array([4]), 1)
    assert np.array_equal(alone["Z"][0], base["Z"][4])
    assert np.array_equal(alone["values"][:, 0], base["values"][:, 4], equal_nan=True)
    assert np.array_equal(alone["codes"][0], base["codes"][4])


@pytest.mark.parametrize("sampling", ["random", "sobol"])
def test_kept_and_drawn_samples_agree_with_z(mixed, sampling):
    # with locality p a sample keeps each of the row's values with chance p; the others are
    # drawn and written back in place.  Every sample's value, code and Z must agree: Z is 1
    # exactly where the sample's code is the row's, and about p of them are the row's value
    model, frame = mixed
    ex = Explainer(model, frame, target="progression")
    lay = ex.frontend.layout
    S, p = 4000, 0.7
    pert, codes0, binned0 = draw_samples(ex, frame, np.arange(7), 3, S, p, 2, sampling)
    nb = lay.n_binned
    assert nb and len(lay.discrete) > nb  # binned and categorical columns both covered
    for j, i in enumerate(lay.discrete):
        c = ex.stats.columns[i]
        if j < nb:
            v = pert.values[j]  # (rows, S)
            codes = c.encode_numeric(v.ravel()).reshape(v.shape)
            own = (v == binned0[:, j, None]) | (np.isnan(v) & np.isnan(binned0[:, j, None]))
        else:
            codes = pert.codes[:, j - nb]
            own = codes == codes0[:, j, None]
        assert np.array_equal(pert.Z[:, j, :] == 1, codes == codes0[:, j, None]), c.name
        assert set(np.unique(pert.Z[:, j, :])) <= {0.0, 1.0}
        share = own[:, 1:].mean()  # kept, plus drawn ones that land on the row's own value
        assert p - 0.02 < share, (c.name, share)
        if j < nb:  # a continuous bin rarely redraws the row's exact value
            assert share < p + 0.02 + (0.3 if c.is_integer else 0.0), (c.name, share)


@pytest.mark.parametrize("sampling,tolerance", [("random", 0.01), ("sobol", 0.002)])
def test_sampled_bins_follow_training_frequencies(cancer, sampling, tolerance):
    # with no locality, each binned column's codes follow the training quartiles (Sobol' points
    # much more closely than independent draws), and each value lies inside its bin
    model, X, _ = cancer
    ex = Explainer(model, X, preset="lime")
    pert, codes0, _ = draw_samples(ex, X, np.arange(6), 1, 20_000, 0.0, 2, sampling)
    for j, i in enumerate(ex.frontend.layout.discrete[:5]):
        c = ex.stats.columns[i]
        v = pert.values[j, :, 1:].ravel()
        codes = c.encode_numeric(v)
        share = np.bincount(codes, minlength=c.n_codes) / v.size
        assert np.abs(share - c.freqs).max() < tolerance, (c.name, share, c.freqs)
        # Z marks the samples that fall in the row's own bin
        own = codes.reshape(6, -1) == codes0[:, j, None]
        assert np.array_equal(pert.Z[:, j, 1:] == 1, own)


def test_explanations_do_not_depend_on_the_thread_count(cancer, monkeypatch):
    from lime_cli.core import engine

    model, X, _ = cancer
    ex = Explainer(model, X, num_features=4, num_samples=500, batch_size=7)
    monkeypatch.setattr(engine, "inner_threads", lambda: 1)
    serial = ex.explain(X.iloc[:15])
    monkeypatch.setattr(engine, "inner_threads", lambda: 3)
    assert ex.explain(X.iloc[:15]) == serial


def test_binary_columns_give_the_same_moments():
    rng = np.random.default_rng(0)
    Z = np.concatenate([rng.integers(0, 2, (3, 4, 300)), rng.standard_normal((3, 2, 300))], axis=1)
    w, Y = rng.random((3, 300)), rng.random((3, 300, 2))
    general, binary = moments(Z, w, Y), moments(Z, w, Y, binary=4)
    np.testing.assert_allclose(binary.diag, general.diag, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(binary.b, general.b)


def test_a_forked_child_explains_with_threads_of_its_own(cancer):
    # the parent's thread pool does not exist in a forked child: the child must not wait on it
    import multiprocessing

    model, X, _ = cancer
    ex = Explainer(model, X, num_features=3, num_samples=300)
    parent = ex.explain(X.iloc[:4])
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(ex.explain, (X.iloc[:4],)).get(timeout=120)
    assert child == parent


def test_sobol_points_are_stratified_and_reused():
    from lime_cli.tabular import sampling as _sampling

    pts = _sampling.sobol_points(7, 1024)
    assert pts.shape == (7, 1024) and pts.dtype == np.uint32
    # the first 2**m points of a Sobol' sequence put exactly one point in each interval of 1/2**m
    for m in (4, 10):
        cells = pts[:, : 1 << m] >> (32 - m)
        assert all(np.array_equal(np.sort(c), np.arange(1 << m)) for c in cells)
    assert np.shares_memory(_sampling.sobol_points(7, 1024), pts)  # kept, not made again
    assert np.array_equal(_sampling.sobol_points(7, 1000), pts[:, :1000])  # a prefix of the sequence


def test_sobol_sampling_makes_weights_vary_less_between_seeds():
    # the planted regressor's weights of six rows, under 8 seeds: with shifted Sobol' points their
    # spread is a fraction of that of independent draws (about a quarter on average)
    X = planted_table(d=10, seed=3)
    y = 5 * X["x1"] - 4 * X["x4"] + 0.1 * X["x0"]
    model = RandomForestRegressor(n_estimators=40, max_depth=8, random_state=0).fit(X, y)

    def spread(sampling):
        weights = []
        for seed in range(8):
            ex = Explainer(
                model, X, num_features=2, num_samples=2000, confidence=0, seed=seed, sampling=sampling
            )
            weights.append(
                [
                    [{f.feature: f.weight for f in e.features}.get(n, np.nan) for n in ("x1", "x4")]
                    for e in ex.explain(X.iloc[:6])
                ]
            )
        return np.std(weights, axis=0)  # (rows, features); NaN where a seed did not select it

    ratio = spread("sobol") / spread("random")
    ratio = ratio[np.isfinite(ratio)]
    assert len(ratio) >= 10
    assert ratio.mean() < 0.4 and ratio.max() < 0.75, ratio


def test_shifted_sobol_uniforms(cancer, monkeypatch):
    # the uniforms a row's discrete columns use: on the 2**-24 grid of [0, 1), and each column's
    # 1024 points one in each interval of 1/1024; tables wider than Sobol' goes draw independently
    import threading

    from lime_cli.tabular import sampling as _sampling

    model, X, _ = cancer
    ex = Explainer(model, X)
    draw_samples(ex, X, np.arange(1), 3, 1025, 0.8, 1, "sobol")
    u = _sampling._WORKSPACES[threading.get_ident()]["u"][: 30 * 1024].reshape(30, 1024)
    assert u.min() >= 0 and u.max() < 1
    assert np.array_equal(u * 2**24, np.floor(u * 2**24))
    assert all(np.array_equal(np.sort((c * 1024).astype(int)), np.arange(1024)) for c in u)
    _sampling.release_workspace()

    X = planted_table(d=4, seed=0)
    model = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, X["x0"])
    sobol = Explainer(model, X, num_samples=300, sampling="sobol").explain(X.iloc[:3])
    random = Explainer(model, X, num_samples=300, sampling="random").explain(X.iloc[:3])
    assert sobol != random
    monkeypatch.setattr(_sampling, "SOBOL_MAX_DIM", 3)  # 4 columns: wider than Sobol' goes
    assert Explainer(model, X, num_samples=300, sampling="sobol").explain(X.iloc[:3]) == random


def zero_inflated_table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """`gain` is 0 in 90% of the rows (its quartiles are all 0), `flag` a float 0/1 column."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "gain": np.where(rng.random(n) < 0.9, 0.0, rng.lognormal(8, 1, n)),
            "flag": rng.integers(0, 2, n).astype(float),
            "x": rng.standard_normal(n),
        }
    )


def test_a_column_that_is_mostly_zero_gets_a_zero_bin_and_one_warning():
    from lime_cli import fit_training_stats

    X = zero_inflated_table()
    with pytest.warns(UserWarning) as caught:
        stats = fit_training_stats(X)
    said = [str(w.message) for w in caught]
    assert said == [
        f"column 'gain': {(X['gain'] == 0).mean():.0%} of its training values are 0, which collapses "
        "its quartiles; it is binned as 'gain = 0' and the quartiles of the others"
    ]
    gain = stats.columns[0]
    positive = X["gain"][X["gain"] > 0]
    # a bin holding only 0, then the quartiles of the values above it
    np.testing.assert_allclose(gain.edges, [0.0, *np.percentile(positive, [25, 50, 75])])
    assert gain.condition(0, 0.0) == "gain = 0"
    assert gain.freqs[0] == pytest.approx((X["gain"] == 0).mean())
    big = float(positive.max())
    assert gain.condition(int(gain.encode_numeric(np.array([big]))[0]), big) == (
        f"gain > {np.percentile(positive, 75):.2f}"
    )
    # a 0/1 column has distinct quartiles or none to fix: no warning, and its bins keep their values
    assert stats.columns[1].condition(0, 0.0) == "flag = 0"


def test_samples_of_a_single_value_bin_are_that_value():
    X = zero_inflated_table()
    y = (X["gain"] > 0).astype(int) ^ (X["x"] > 1).astype(int)
    model = LogisticRegression().fit(X, y)
    with pytest.warns(UserWarning, match="gain"):
        ex = Explainer(model, X, preset="lime")
    pert, _, _ = draw_samples(ex, X, np.arange(4), 1, 4000, 0.0, 2, "random")
    for j, i in enumerate(ex.frontend.layout.discrete):
        c = ex.stats.columns[i]
        if c.name in ("gain", "flag"):
            v = pert.values[j, :, 1:].ravel()
            if c.name == "flag":
                assert set(np.unique(v)) == {0.0, 1.0}  # not uniform draws between 0 and 1
            else:
                assert (v >= 0).all() and np.mean(v == 0) == pytest.approx(0.9, abs=0.02)
