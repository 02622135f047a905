"""How `lime check`'s defaults tell a model that relies on a column from one that merely uses it.

Run with `make bench-gate` (or `python bench/gate.py`); writes bench/GATE.md.

An Adult-like table is generated (5,000 rows: ages, education, hours, a capital gain that is 0
for most rows, and string columns sex, race, marital status, occupation, workclass), and two
one-hot + HistGradientBoosting pipelines are fitted on labels drawn from a logistic model:

- ordinary: the label barely depends on `sex` (coefficient 0.15 against 0.5-1.5 for the others):
  a model that merely uses the column, as real models trained on Adult do;
- relies: `sex` is the strongest term (coefficient 2.5);
- leaks: the ordinary model, given also `income_code`, the label recorded with 5% of it flipped.

Each model explains 300 held-out rows at default settings (10 features), and the table gives,
for `sex`: the share of rows with it among their top k features (k = 1, 2, 3, 5, 10), its share of
all |weight|, and the share of rows it leads; then what the default forbid rule on `sex` and the
default dominant rule (no column named) conclude on each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def adult_like(n: int, sex_effect: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(17, 80, n),
            "education_num": rng.integers(1, 17, n),
            "hours_per_week": np.clip(rng.normal(40, 12, n).round(), 1, 99).astype(int),
            "capital_gain": np.where(rng.random(n) < 0.92, 0, rng.lognormal(8, 1, n).round()),
            "sex": rng.choice(["Male", "Female"], n, p=[0.67, 0.33]),
            "race": rng.choice(["White", "Black", "Asian-Pac-Islander", "Amer-Indian", "Other"], n),
            "marital_status": rng.choice(["Married", "Never-married", "Divorced", "Widowed"], n),
            "occupation": rng.choice([f"occ{i}" for i in range(10)], n),
            "workclass": rng.choice(["Private", "Self-emp", "Gov", "Other"], n),
        }
    )
    z = (
        0.04 * (frame["age"] - 40)
        + 0.3 * (frame["education_num"] - 10)
        + 0.04 * (frame["hours_per_week"] - 40)
        + 1.5 * (frame["capital_gain"] > 0)
        + 1.2 * (frame["marital_status"] == "Married")
        + 0.5 * frame["occupation"].isin(["occ1", "occ2", "occ3"])
        + sex_effect * (frame["sex"] == "Male")
        - 1.0
    )
    frame["income"] = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), ">50K", "<=50K")
    return frame


def pipeline(frame: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X = frame.drop(columns="income")
    text = [c for c in X.columns if X[c].dtype == object or pd.api.types.is_string_dtype(X[c])]
    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False), text)],
        remainder="passthrough",
    )
    return make_pipeline(encode, HistGradientBoostingClassifier(random_state=0)).fit(X, frame["income"])


def with_leak(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    flipped = rng.random(len(frame)) < 0.05
    code = (frame["income"] == ">50K").astype(int)
    return frame.assign(income_code=np.where(flipped, 1 - code, code))


def measure(model, train: pd.DataFrame, rows: pd.DataFrame, column: str) -> dict:
    from lime_cli import Explainer
    from lime_cli.check import Rule, evaluate

    explainer = Explainer(model, train, target="income")
    exps = explainer.explain(rows)
    out = {}
    report = evaluate(
        [Rule("dominant", "dominant")], exps, num_features=10, feature_names=explainer.feature_names
    )
    out["dominant"] = report.results[0]
    for k in (1, 2, 3, 5, 10):
        out[f"top{k}"] = np.mean([any(f.feature == column for f in e.features[:k]) for e in exps])
    total = sum(abs(f.weight) for e in exps for f in e.features)
    mine = sum(abs(f.weight) for e in exps for f in e.features if f.feature == column)
    out["weight_share"] = mine / total if total else 0.0
    # the feature with the largest share of all |weight|: its share, and the share of rows it leads
    shares: dict[str, float] = {}
    for e in exps:
        for f in e.features:
            shares[f.feature] = shares.get(f.feature, 0.0) + abs(f.weight)
    top = max(shares, key=shares.get)
    leads = np.mean([bool(e.features) and e.features[0].feature == top for e in exps])
    out["strongest"] = (top, shares[top] / total if total else 0.0, leads)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "GATE.md")
    args = parser.parse_args()
    from lime_cli.check import DEFAULT_FORBID_MAX_SHARE, DEFAULT_TOP_K

    results = {}
    for name, effect in (("ordinary", 0.15), ("relies", 2.5), ("leaks", 0.15)):
        train, test = adult_like(5000, effect, seed=1), adult_like(args.rows, effect, seed=2)
        if name == "leaks":
            train, test = with_leak(train, 1), with_leak(test, 2)
        model = pipeline(train)
        results[name] = measure(model, train, test.drop(columns="income"), "sex")
        print(name, {k: v for k, v in results[name].items() if k != "dominant"}, flush=True)
    k, share = DEFAULT_TOP_K, DEFAULT_FORBID_MAX_SHARE
    lines = [
        "# How lime check's defaults separate relying on a column from using it",
        "",
        f"Measured by `bench/gate.py` on {time.strftime('%Y-%m-%d')}: {args.rows} rows per model, default "
        "explanation settings (10 features), the column `sex`.",
        "",
        "| model | in top 1 | top 2 | top 3 | top 5 | top 10 | share of all \\|weight\\| | "
        f"forbid sex (top {k}, max share {share:.0%}) | dominant rule | strongest feature: share, rows led |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        verdict = "fails" if r[f"top{k}"] > share else "passes"
        cells = " | ".join(f"{r[f'top{j}']:.0%}" for j in (1, 2, 3, 5, 10))
        dom = r["dominant"]
        dominant = "passes" if dom.passed else "fails: " + dom.message.replace("|", "\\|")
        top, top_share, leads = r["strongest"]
        strongest = f"`{top}`: {top_share:.1%}, {leads:.0%}"
        lines.append(f"| {name} | {cells} | {r['weight_share']:.1%} | {verdict} | {dominant} | {strongest} |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
