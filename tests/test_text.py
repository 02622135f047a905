"""Text explanations: planted words found, the fast path equal to the strings, determinism, errors.

The corpus is generated (a vocabulary of made-up words plus English words, punctuation, case,
stop words, single letters, digits and accents), so nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier

from lime_cli import DataError, ParameterError, TextExplainer
from lime_cli.core import streams
from lime_cli.text.fast import FastInput

EXTRA = ["The", "and", "a", "I", "don't", "café", "x2", "9", "well-made", "THE", "Excellent"]


def corpus(n: int = 600, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Documents whose label is 1 when they contain "excellent" and 0 when they contain "awful"
    (80% of them contain one); the rest of each document is noise."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(200)] + EXTRA
    docs, y = [], []
    for _ in range(n):
        words = list(rng.choice(vocab, rng.integers(5, 30)))
        label = int(rng.integers(0, 2))
        if rng.random() < 0.8:
            words.insert(int(rng.integers(0, len(words))), "excellent" if label else "awful")
        seps = rng.choice([" ", " ", " ", ", ", ". ", "! ", " - "], len(words))
        docs.append("".join(w + s for w, s in zip(words, seps, strict=True)).strip())
        y.append(label)
    return docs, np.array(y)


@pytest.fixture(scope="module")
def data():
    return corpus()


def fitted(vectorizer, data, model=None):
    docs, y = data
    return make_pipeline(vectorizer, model or LogisticRegression(C=10, max_iter=500)).fit(docs, y)


def fast_and_strings(explainer, docs, num_samples=300):
    """The fast path's model input for ``docs`` and the vectorizer's matrix of the rebuilt strings."""
    fe = explainer.frontend
    inst = fe.encode(docs)
    rngs = streams.generators(0, inst.keys, [(streams.MAIN, 0)] * len(docs))
    samples = fe.sample(inst, rngs, num_samples, explainer.settings, 1)
    fast = fe.model_input(inst, samples)
    strings = [s for b, d in enumerate(inst.docs) for s in fe.strings(d, samples.Z[b, : d.d])]
    return fast, strings


VARIANTS = {
    "count": CountVectorizer(),
    "count-binary": CountVectorizer(binary=True),
    "tfidf": TfidfVectorizer(),
    "tfidf-sublinear": TfidfVectorizer(sublinear_tf=True),
    "tfidf-no-idf": TfidfVectorizer(use_idf=False),
    "tfidf-no-norm": TfidfVectorizer(norm=None, smooth_idf=False),
    "max-features": TfidfVectorizer(max_features=40),
    "stop-words": TfidfVectorizer(stop_words="english"),
    "case-kept": CountVectorizer(lowercase=False),
    "min-df": TfidfVectorizer(min_df=3, dtype=np.float32),
    "bigrams": TfidfVectorizer(ngram_range=(1, 2)),
    "bigrams-trigrams-stop-words": CountVectorizer(ngram_range=(2, 3), stop_words="english"),
    "bigrams-max-features-sublinear": TfidfVectorizer(
        ngram_range=(1, 2), max_features=100, sublinear_tf=True
    ),
    "hashing": HashingVectorizer(),
    # 16 columns: words collide, and with alternate signs some cancel to a stored 0 that
    # binary makes 1, as scikit-learn's own transform does
    "hashing-collisions-binary": HashingVectorizer(n_features=16, binary=True, norm=None),
    "hashing-trigrams-l1": HashingVectorizer(
        n_features=64, ngram_range=(1, 3), alternate_sign=False, norm="l1"
    ),
}


@pytest.mark.parametrize("bow", [True, False])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_fast_path_gives_the_matrix_of_every_rebuilt_string(data, name, bow):
    """For every sample, the document-term matrix built from the masks equals the vectorizer's
    transform of the rebuilt string, bit for bit: the same stored entries, in the same order,
    with the same values (n-grams across deleted words included)."""
    pipe = fitted(VARIANTS[name], data)
    ex = TextExplainer(pipe, bow=bow)
    assert ex.path == "counts", ex.path_reason
    docs = data[0][:25] + [
        "",
        "a I 9",
        "Excellent excellent EXCELLENT café, café!",
        "good not good, not bad good",
    ]
    fast, strings = fast_and_strings(ex, docs)
    assert isinstance(fast, FastInput) and [k for k, _ in fast.parts] == ["counts"]
    mine = sp.csr_matrix(fast.parts[0][1])
    theirs = sp.csr_matrix(pipe[0].transform(strings))
    assert mine.shape == theirs.shape and mine.dtype == theirs.dtype
    assert (mine != theirs).nnz == 0
    theirs.sort_indices()
    np.testing.assert_array_equal(mine.indptr, theirs.indptr)
    np.testing.assert_array_equal(mine.indices, theirs.indices)
    np.testing.assert_array_equal(mine.data, theirs.data)
    # and so the model's probabilities are the same
    np.testing.assert_array_equal(pipe[1:].predict_proba(mine), pipe.predict_proba(strings))


@pytest.mark.parametrize(
    "vectorizer,mask,reason",
    [
        (TfidfVectorizer(ngram_range=(1, 9)), None, "n-grams"),
        (TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)), None, "own analyzer"),
        (TfidfVectorizer(token_pattern=r"(?u)\b\w+\b"), None, "custom token pattern"),
        (HashingVectorizer(preprocessor=str.upper), None, "preprocessor"),
        (TfidfVectorizer(strip_accents="unicode"), None, "strips accents"),
        (TfidfVectorizer(), "UNKWORDZ", "mask string"),
    ],
)
def test_where_the_fast_path_cannot_be_exact_the_strings_are_used(data, vectorizer, mask, reason):
    pipe = fitted(vectorizer, data)
    ex = TextExplainer(pipe, mask_string=mask, num_samples=400)
    assert ex.path == "strings" and reason in ex.path_reason
    e = ex.explain(data[0][:3])
    assert len(e) == 3


def test_rebuilt_strings_delete_or_mask_every_occurrence():
    pipe = fitted(CountVectorizer(), corpus(100))
    ex = TextExplainer(pipe, token_pattern=r"\w+")
    doc = ex.frontend.encode(["Good, good film"]).docs[0]
    assert doc.words == ["good", "film"] and doc.spans == [[(0, 4), (6, 10)], [(11, 15)]]
    keep = np.array([[1, 0, 1, 0], [1, 1, 0, 0]])
    assert ex.frontend.strings(doc, keep) == ["Good, good film", ",  film", "Good, good ", ",  "]
    masked = TextExplainer(pipe, token_pattern=r"\w+", mask_string="_", bow=False)
    doc = masked.frontend.encode(["Good, good film"]).docs[0]
    keep = np.array([[1, 0], [1, 1], [0, 0]])
    assert masked.frontend.strings(doc, keep) == ["Good, good _", "_, good _"]


@pytest.mark.parametrize("path", ["counts", "strings"])
def test_planted_words_lead_their_explanations(data, path):
    docs, y = data
    pattern = None if path == "counts" else r"(?u)\b\w+\b"
    ex = TextExplainer(fitted(TfidfVectorizer(), data), token_pattern=pattern, num_samples=2000)
    assert ex.path == path
    chosen = [d for d in docs[:60] if "excellent" in d.split() or "awful" in d.split()][:30]
    exps = ex.explain(chosen)
    for d, e in zip(chosen, exps, strict=True):
        first = e.features[0]
        assert first.feature in ("excellent", "awful"), (d, e.features[:3])
        assert (first.weight > 0) == (e.label == ("1" if first.feature == "excellent" else "0"))
        assert first.column == "text" and first.condition == f'text contains "{first.feature}"'
        assert [d[a:b].lower() for a, b in first.spans] == [first.feature] * first.value
        assert e.fidelity_gap < 0.1


def test_a_tree_on_words_and_a_model_that_is_not_a_pipeline(data):
    """A decision tree using few words; and a plain function-like model on strings."""
    docs, y = data
    tree = fitted(CountVectorizer(binary=True), data, DecisionTreeClassifier(max_depth=3, random_state=0))
    used = {tree[0].get_feature_names_out()[i] for i in tree[1].tree_.feature if i >= 0}
    exps = TextExplainer(tree, num_samples=1000).explain(docs[:20])
    assert all(e.features[0].feature in used for e in exps if e.features)  # the lead is a word it uses
    listed = [f.feature for e in exps for f in e.features]
    assert len(listed) >= 10 and np.mean([w in used for w in listed]) >= 0.75

    class Keyword:
        classes_ = np.array(["other", "praise"])

        def predict_proba(self, texts):
            p = np.array([0.9 if "excellent" in t else 0.2 for t in texts])
            return np.column_stack([1 - p, p])

    ex = TextExplainer(Keyword(), num_samples=500)
    assert ex.path == "strings"
    e = ex.explain(["an excellent and moving film"])[0]
    assert e.label == "praise" and e.features[0].feature == "excellent"
    assert e.features[0].weight == pytest.approx(0.7, abs=0.02)  # 0.9 with it, 0.2 without
    # the ridge's shrinkage of that weight leaves a residual that other words may pick up
    # (significantly: the model has no noise), but only as a trace next to the lead
    assert all(abs(f.weight) < 0.01 * e.features[0].weight for f in e.features[1:])


def test_a_document_is_explained_the_same_alone_and_in_a_batch(data):
    docs = data[0][:12]
    ex = TextExplainer(fitted(TfidfVectorizer(), data), num_samples=500, batch_size=5)
    together = ex.explain(docs)
    alone = [ex.explain([d], positions=[i])[0] for i, d in enumerate(docs)]
    assert together == alone
    again = TextExplainer(fitted(TfidfVectorizer(), data), num_samples=500).explain(docs)
    assert again == together  # the same seed, the same explanations


def test_stability_auto_samples_lime_preset_and_regression(data):
    docs, y = data
    pipe = fitted(TfidfVectorizer(), data)
    e = TextExplainer(pipe, num_samples=400).explain(docs[:2], stability=3)[0]
    assert e.stability.replicates == 3 and 0 <= e.stability.score <= 1
    auto = TextExplainer(pipe, num_samples="auto").explain(docs[:2])
    assert all(x.num_samples >= 1000 for x in auto)
    lime_like = TextExplainer(pipe, preset="lime", num_samples=500).explain(docs[:2])
    assert all(len(x.features) == min(10, len(set(docs[i].lower().split()))) or x.features
               for i, x in enumerate(lime_like))  # fmt: skip
    reg = make_pipeline(TfidfVectorizer(), Ridge()).fit(docs, y.astype(float))
    r = TextExplainer(reg, num_samples=500).explain(docs[:1])[0]
    assert r.label is None and r.features


def test_an_empty_document_or_one_without_words_has_no_features(data):
    ex = TextExplainer(fitted(TfidfVectorizer(), data), num_samples=300)
    for e in ex.explain(["", "!!! ... ?"]):
        assert e.features == [] and e.insignificant == 0


@pytest.mark.parametrize(
    "docs,message",
    [
        (["fine", None], "text column 'text' is missing in row 1"),
        (["fine", 3.5], "text column 'text' is a float, not text (3.5) in row 1"),
    ],
)
def test_documents_that_are_not_text(data, docs, message):
    ex = TextExplainer(fitted(TfidfVectorizer(), data))
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ex.explain(docs)


def test_bad_text_settings(data):
    pipe = fitted(TfidfVectorizer(), data)
    with pytest.raises(ParameterError, match="token_pattern"):
        TextExplainer(pipe, token_pattern="(")
    with pytest.raises(DataError, match="text column 'review' is not a column"):
        import pandas as pd

        TextExplainer(pipe, column="review").explain(pd.DataFrame({"body": ["x"]}))


# -- tables with a text column ------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_model():
    """A ColumnTransformer pipeline on a review, a price and a category; the label depends on the
    review's planted word, the price and category c."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    docs, sentiment = corpus(1500, seed=3)
    rng = np.random.default_rng(1)
    n = len(docs)
    frame = pd.DataFrame(
        {"review": docs, "price": rng.normal(50, 10, n), "category": rng.choice(["a", "b", "c"], n)}
    )
    logit = 3 * (2 * sentiment - 1) + 0.3 * (frame["price"] - 50) + 2 * (frame["category"] == "c")
    y = (logit + rng.normal(0, 1, n) > 0).astype(int)
    encode = ColumnTransformer(
        [("text", TfidfVectorizer(), "review"), ("cat", OneHotEncoder(), ["category"])],
        remainder="passthrough",
    )
    pipe = make_pipeline(encode, LogisticRegression(max_iter=2000)).fit(frame, y)
    return pipe, frame.assign(y=y)


def test_a_table_with_a_text_column_is_explained_by_words_and_conditions(mixed_model):
    from lime_cli import Explainer

    pipe, train = mixed_model
    ex = Explainer(pipe, train, target="y", text=["review"], num_samples=2000)
    rows = train.drop(columns="y").iloc[:20]
    exps = ex.explain(rows)
    kinds = {("word" if f.spans is not None else "column") for e in exps for f in e.features}
    assert kinds == {"word", "column"}
    for e, (_, row) in zip(exps, rows.iterrows(), strict=True):
        words = {f.feature: f for f in e.features if f.spans is not None}
        planted = [w for w in ("excellent", "awful") if w in row["review"].split()]
        if planted:  # the planted word is listed, with the sign of its effect on the label
            f = words[planted[0]]
            assert f.column == "review" and f.condition == f'review contains "{planted[0]}"'
            assert (f.weight > 0) == ((planted[0] == "excellent") == (e.label == "1"))
        assert e.model_prediction == pytest.approx(pipe.predict_proba(rows.loc[[_]])[0, int(e.label)])
    # the same alone as in a batch
    assert [ex.explain(rows.iloc[[i]], positions=[i])[0] for i in range(4)] == exps[:4]


def test_lime_check_forbids_words_and_text_columns(tmp_path, data):
    import joblib
    import pandas as pd
    from typer.testing import CliRunner

    from lime_cli.cli import app

    docs, y = data
    joblib.dump(fitted(TfidfVectorizer(), data), tmp_path / "m.joblib")
    pd.DataFrame({"review": docs[:30]}).to_csv(tmp_path / "docs.csv", index=False)
    base = ["check", "-m", tmp_path / "m.joblib", "--rows", tmp_path / "docs.csv", "--text", "review"]
    base += ["-n", 800]
    run = lambda *extra: CliRunner().invoke(app, [str(a) for a in [*base, *extra]])  # noqa: E731
    leaning = run("--forbid-word", "awful")
    assert leaning.exit_code == 1, leaning.stderr
    assert '"awful" in the top 3 of' in leaning.stderr
    assert run("--forbid-word", "zebra").exit_code == 0  # a word no document has
    assert run("--forbid", "review").exit_code == 1  # the whole column: any of its words
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nid = "identity"\nkind = "forbid"\nwords = ["awful", "excellent"]\n')
    assert run("--policy", policy).exit_code == 1
    policy.write_text('[[rule]]\nid = "identity"\nkind = "forbid"\nwords = "awful"\n')
    bad = run("--policy", policy)
    assert bad.exit_code == 2 and "words must be a non-empty list of words" in bad.stderr
    no_text = CliRunner().invoke(app, [str(a) for a in [*base[:5], "--forbid-word", "awful"]])  # no --text
    assert no_text.exit_code == 2 and "need the text column: --text" in no_text.stderr


def test_the_json_head_and_verbose_say_which_path_the_model_takes(tmp_path, data):
    import json

    import joblib
    import pandas as pd
    from typer.testing import CliRunner

    from lime_cli.cli import app

    docs, _ = data
    pd.DataFrame({"review": docs[:3]}).to_csv(tmp_path / "docs.csv", index=False)
    cases = [("fast", TfidfVectorizer(), "counts")]
    cases += [("char-ngrams", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)), "strings")]
    for name, vec, path in cases:
        joblib.dump(fitted(vec, data), tmp_path / f"{name}.joblib")
        args = ["explain", "-m", tmp_path / f"{name}.joblib", "--rows", tmp_path / "docs.csv"]
        args += ["--text", "review"]
        res = CliRunner().invoke(app, [str(a) for a in [*args, "-n", 300, "-f", "json", "-v"]])
        assert res.exit_code == 0, res.stderr
        head = json.loads(res.stdout)
        assert head["schema_version"] == 3 and head["text"]["path"] == path
        assert head["text"]["columns"] == ["review"] and head["text"]["lowercase"] == {"review": True}
        if path == "counts":
            assert head["text"]["path_reason"] is None
            assert "the samples' document-term matrix (the exact fast path)" in res.stderr
        else:
            assert "its own analyzer" in head["text"]["path_reason"]
            assert "model input: the rebuilt strings (the vectorizer has its own analyzer" in res.stderr
        features = [f for e in head["explanations"] for f in e["features"]]
        assert features and all(f["column"] == "review" and f["spans"] for f in features)


def test_a_summary_names_words_with_their_column(mixed_model):
    from lime_cli import Explainer
    from lime_cli.summary import summarize

    pipe, train = mixed_model
    exps = Explainer(pipe, train, target="y", text=["review"], num_samples=1000).explain(train.iloc[:30])
    names = set(summarize(exps)["feature"])
    assert {"price", "category"} <= names
    words = {n for n in names if n.startswith('review: "')}
    assert words and names == {"price", "category"} | words


def test_an_empty_document_says_why_it_lists_no_feature(data):
    ex = TextExplainer(fitted(TfidfVectorizer(), data), num_samples=300)
    empty, blank, words = ex.explain(["", "!!! zebra", data[0][0]])
    assert empty.note == blank.note == "the document has no word: it is empty, or has none the model knows"
    assert words.note is None and words.features


def test_workers_give_the_explanations_of_a_serial_run(data):
    docs = data[0][:16]
    ex = TextExplainer(fitted(TfidfVectorizer(), data), num_samples=300, batch_size=5)
    serial = ex.explain(docs)
    parallel = [e for chunk in ex.iter_explain(docs, n_jobs=2) for e in chunk]
    assert parallel == serial


def test_a_csv_text_column_is_read_as_written(tmp_path, data):
    """An empty field is an empty document, NA a word, 42 a text: not missing values or numbers."""
    from lime_cli import load_table

    (tmp_path / "docs.csv").write_text('id,review\n1,""\n2,NA\n3,42\n4,null\n')
    table = load_table(tmp_path / "docs.csv", "rows", text=["review"])
    assert table["review"].tolist() == ["", "NA", "42", "null"] and table["id"].tolist() == [1, 2, 3, 4]
    exps = TextExplainer(fitted(TfidfVectorizer(), data), column="review", num_samples=200).explain(table)
    assert [e.note is not None for e in exps] == [True, True, True, True]  # no word the model knows


def test_rule_words_are_put_as_the_model_splits_them(tmp_path, data):
    import joblib
    import pandas as pd
    from typer.testing import CliRunner

    from lime_cli.cli import app

    joblib.dump(fitted(TfidfVectorizer(), data), tmp_path / "m.joblib")
    pd.DataFrame({"review": data[0][:30]}).to_csv(tmp_path / "docs.csv", index=False)
    base = ["check", "-m", tmp_path / "m.joblib", "--rows", tmp_path / "docs.csv", "--text", "review"]
    upper = CliRunner().invoke(app, [str(a) for a in [*base, "-n", 800, "--forbid-word", "AWFUL"]])
    assert upper.exit_code == 1 and '"awful" in the top 3' in upper.stderr  # lowercased, as the model
    strict = [*base, "-n", 300, "--forbid-word", "new york", "--strict"]
    two = CliRunner().invoke(app, [str(a) for a in strict])
    assert two.exit_code == 2
    assert "'new york' is not one word as the model's text is split into words" in two.stderr


def test_a_dataframe_model_whose_only_feature_is_a_text_column(mixed_model):
    """A ColumnTransformer on the review alone, fitted on a DataFrame: explained by its words."""
    from sklearn.compose import ColumnTransformer

    from lime_cli import Explainer

    _, train = mixed_model
    encode = ColumnTransformer([("text", TfidfVectorizer(), "review")])
    pipe = make_pipeline(encode, LogisticRegression(max_iter=2000)).fit(train[["review"]], train["y"])
    ex = Explainer(pipe, train[["review", "y"]], target="y", text=["review"], num_samples=800)
    rows = train[train["review"].str.contains("excellent|awful")].head(10)
    exps = ex.explain(rows)
    assert all(f.column == "review" and f.spans for e in exps for f in e.features)
    assert all(e.features[0].feature in ("excellent", "awful") for e in exps)


def test_text_columns_the_model_does_not_take_or_named_twice(mixed_model):
    from lime_cli import Explainer

    pipe, train = mixed_model
    with pytest.raises(ParameterError, match="'category' is not one the model takes|names a column twice"):
        Explainer(pipe, train.assign(notes="x"), target="y", text=["review", "review"])
    with pytest.raises(ParameterError, match="text column 'notes' is not one the model takes"):
        Explainer(pipe, train.assign(notes="x"), target="y", text=["notes"])
    # a column of numbers, as a DataFrame holds it or as a CSV text column is read (as written)
    for prices in (train["price"], train["price"].map("{:.2f}".format)):
        with pytest.raises(DataError, match=r"text column 'price' holds numbers, not text \(such as '\d+"):
            Explainer(pipe, train.assign(price=prices), target="y", text=["review", "price"])


def test_a_very_long_document_and_a_capturing_token_pattern():
    class Length:
        def predict(self, texts):
            return np.array([len(t) for t in texts], dtype=float)

    long_doc = " ".join(f"w{i}" for i in range(21300))  # more words than Sobol' dimensions
    e = TextExplainer(Length(), num_samples=40, num_features=3).explain([long_doc])[0]
    assert len(e.features) <= 3
    tags = TextExplainer(Length(), token_pattern=r"#(\w+)", num_samples=200).frontend
    doc = tags.encode(["a #good day"]).docs[0]
    assert doc.words == ["good"] and doc.spans == [[(3, 7)]]  # the group, as scikit-learn reads it


def test_a_table_with_text_and_continuous_columns(mixed_model):
    """discretizer none: the price is a continuous feature (its standardized value) beside the
    words and the category; the planted effects keep their signs, and a row alone is the same
    as in a batch."""
    from lime_cli import Explainer

    pipe, train = mixed_model
    ex = Explainer(pipe, train, target="y", text=["review"], discretizer="none", num_samples=3000)
    rows = train.drop(columns="y").iloc[:30]
    exps = ex.explain(rows)
    prices = []
    for e, price in zip(exps, rows["price"], strict=True):
        f = {x.feature: x for x in e.features}
        if abs(price - 50) < 10:  # features are ranked by weight x standardized value, as lime's
            continue
        assert "price" in f and f["price"].condition == "price" and f["price"].spans is None
        assert f["price"].value == pytest.approx(price)
        prices.append(f["price"].weight * (1 if e.label == "1" else -1))  # the effect on class 1
        assert e.score > 0.5
    assert len(prices) >= 5 and np.mean(np.array(prices) > 0) > 0.9  # the price raises the odds
    assert [ex.explain(rows.iloc[[i]], positions=[i])[0] for i in range(3)] == exps[:3]


def test_lime_fit_saves_text_columns_and_explain_uses_them(tmp_path, mixed_model):
    """lime fit --text leaves the review out of the statistics and records it; explain
    --explainer then explains its words, exactly as from the training table."""
    import json

    import joblib
    from typer.testing import CliRunner

    from lime_cli.cli import app
    from lime_cli.tabular.explainer_file import read_explainer_file

    pipe, train = mixed_model
    joblib.dump(pipe, tmp_path / "m.joblib")
    train.to_csv(tmp_path / "train.csv", index=False)
    train.drop(columns="y").head(5).to_csv(tmp_path / "rows.csv", index=False)
    m, ex_file = str(tmp_path / "m.joblib"), str(tmp_path / "ex.json")
    run = CliRunner().invoke
    res = run(
        app, ["fit", "-m", m, "-d", str(tmp_path / "train.csv"), "-t", "y", "--text", "review", "-o", ex_file]
    )
    assert res.exit_code == 0, res.stderr
    assert res.stderr == f"wrote {ex_file}: 2 features and 1 text column (review)\n"
    stats = read_explainer_file(ex_file)
    assert stats.text == ["review"] and stats.feature_names == ["price", "category"]
    common = ["-m", m, "--rows", str(tmp_path / "rows.csv"), "-n", "500", "-f", "json"]
    saved = run(app, ["explain", *common, "--explainer", ex_file])
    direct = run(app, ["explain", *common, "-d", str(tmp_path / "train.csv"), "-t", "y", "--text", "review"])
    assert saved.exit_code == 0 and direct.exit_code == 0, saved.stderr + direct.stderr
    a, b = json.loads(saved.stdout)["explanations"], json.loads(direct.stdout)["explanations"]
    assert a == b and any(f["spans"] for e in a for f in e["features"])
    # --text may repeat the saved columns, not name others
    res = run(app, ["explain", *common, "--explainer", ex_file, "--text", "review"])
    assert res.exit_code == 0 and json.loads(res.stdout)["explanations"] == a
    res = run(app, ["explain", *common, "--explainer", ex_file, "--text", "category"])
    assert res.exit_code == 2 and res.stderr == (
        "Error: the explainer file describes 'category' as an ordinary column: "
        "save it with lime fit --text category to explain its words\n"
    )
    plain = str(tmp_path / "plain.json")
    assert (
        run(app, ["fit", "-m", m, "-d", str(tmp_path / "train.csv"), "-t", "y", "-o", plain]).exit_code == 0
    )
    res = run(app, ["explain", *common, "--explainer", plain, "--text", "review"])
    assert res.exit_code == 2 and "describes 'review' as an ordinary column" in res.stderr
    for bad, message in [
        ("notes", "--text column 'notes' is not a column of the data"),
        ("price", "--text column 'price' holds numbers, not text"),
    ]:
        res = run(
            app, ["fit", "-m", m, "-d", str(tmp_path / "train.csv"), "-t", "y", "--text", bad, "-o", plain]
        )
        assert res.exit_code == 2 and message in res.stderr and "Traceback" not in res.stderr
