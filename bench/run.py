"""Speed and memory benchmark: lime-cli against lime 0.2.0.1 and against the model itself.

Run with `make bench` (or `python bench/run.py --help`).  For each workload, in one run on the
same files and rows:

- ours: the `lime` CLI explaining R rows of a test file, as a user runs it (a subprocess writing
  JSON lines), with the default method and again with `--preset lime` (lime's sampling and method:
  every feature redrawn from the training data, as the floor's rows are).  Its per-row cost is
  the marginal one, (time for R rows - time for 1 row) / (R - 1), which leaves out the fixed
  start-up (Python, imports, loading the model and the table); the start-up is reported on its own.
- lime: `LimeTabularExplainer.explain_instance` row by row, same num_samples and num_features.
- floor: the model's own predict_proba / predict on R x num_samples rows in one call, rows drawn
  like LIME's samples (each column independently from its training values); R is capped so the
  call's input stays under ~400 MB (50 rows on the 200-column workload).
- the model on each kind of samples (rf-cancer and hgb-20k-k5): the floor's rows, the default's
  samples as drawn and shuffled, and --preset lime's, so that a ratio under 1 can be explained.
- memory: peak RSS for few and many rows, and for one-hot + HistGradientBoosting pipelines whose
  model expands each sample to hundreds or thousands of floats (--pipeline-rows rows each).

Every timing is the best of --repeat runs (--lime-repeat for lime; the machines are shared and
noisy), taken in rounds: each round times ours, --preset lime, the floor, the model on our own
samples and lime back to back, so that the ratios compare timings taken under the same load.
The results go to stdout and to bench/RESULTS.md.  Benchmarks are not tests: CI does not run them.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from _verdicts import git_state  # bench/ is on the path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Workload:
    name: str
    k: int
    description: str


WORKLOADS = {
    "rf-cancer": Workload("rf-cancer", 5, "RandomForestClassifier(100 trees), breast cancer (30 features)"),
    "gbr-diabetes": Workload("gbr-diabetes", 10, "GradientBoostingRegressor, diabetes (10 features)"),
    "hgb-20k-k5": Workload("hgb-20k-k5", 5, "HistGradientBoostingClassifier, 20k x 20 generated"),
    "hgb-20k-k10": Workload("hgb-20k-k10", 10, "HistGradientBoostingClassifier, 20k x 20 generated"),
    "wide-200": Workload("wide-200", 5, "HistGradientBoostingClassifier, 5k x 200 generated"),
}


def build(name: str):
    """(model, train frame, test frame, is_classifier)."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
    from sklearn.ensemble import (
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.model_selection import train_test_split

    if name == "rf-cancer":
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        model, clf = RandomForestClassifier(n_estimators=100, random_state=0), True
    elif name == "gbr-diabetes":
        X, y = load_diabetes(return_X_y=True, as_frame=True)
        model, clf = GradientBoostingRegressor(random_state=0), False
    else:
        n, d = (20_000, 20) if name.startswith("hgb") else (5_000, 200)
        Xa, y = make_classification(n, d, n_informative=10, random_state=0)
        X = pd.DataFrame(Xa, columns=[f"f{i}" for i in range(d)])
        model, clf = HistGradientBoostingClassifier(random_state=0), True
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0)
    model.fit(X_train, y_train)
    return model, X_train, X_test, clf


def first_rows(X: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` rows of ``X``, which is repeated when it has fewer: every run explains
    the number of rows its per-row cost is divided by (breast cancer and diabetes have only
    143 and 111 test rows)."""
    return pd.concat([X] * -(-n // len(X))).iloc[:n]


def run_cli(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one CLI run."""
    with tempfile.NamedTemporaryFile(suffix=".peak") as peak:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "_peak.py"), peak.name, "explain", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"lime failed ({proc.returncode}): {proc.stderr}")
        return seconds, int(Path(peak.name).read_text()) / 1024


def lime_like_samples(X: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.choice(X[c].to_numpy(), n) for c in X.columns})


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_workload(
    w: Workload, rows: int, lime_rows: int, samples: int, repeat: int, lime_repeat: int, tmp: Path
) -> dict:
    model, X_train, X_test, clf = build(w.name)
    d = tmp / w.name
    d.mkdir()
    joblib.dump(model, d / "model.joblib")
    X_train.to_parquet(d / "train.parquet", index=False)
    explained = first_rows(X_test, rows)
    explained.to_csv(d / "rows.csv", index=False)
    X_test.iloc[:1].to_csv(d / "one.csv", index=False)
    common = ["--model", str(d / "model.joblib"), "--data", str(d / "train.parquet")]
    common += ["-k", str(w.k), "-n", str(samples), "-f", "jsonl", "--quiet", "-o", str(d / "out.jsonl")]

    # the floor's rows in one call, capped at ~50M cells (400 MB) for wide tables
    floor_rows = max(1, min(rows, 50_000_000 // (samples * X_train.shape[1])))
    big = lime_like_samples(X_train, floor_rows * samples)
    predict = model.predict_proba if clf else model.predict
    # the model alone on the samples lime-cli's default draws for the same rows: what lime-cli
    # would cost if its own work took no time, so lime ÷ it is the most lime ÷ ours can be
    ours_samples = our_samples(model, X_train, explained.iloc[:floor_rows], samples, num_features=w.k)

    from lime.lime_tabular import LimeTabularExplainer

    cols = list(X_train.columns)

    def fn(a):
        return predict(pd.DataFrame(a, columns=cols))

    explainer = LimeTabularExplainer(
        X_train.to_numpy(),
        feature_names=cols,
        mode="classification" if clf else "regression",
        random_state=0,
    )
    test = first_rows(X_test, lime_rows).to_numpy()

    def run_lime():
        for i in range(lime_rows):
            labels = (int(np.argmax(fn(test[[i]])[0])),) if clf else (1,)
            explainer.explain_instance(test[i], fn, labels=labels, num_features=w.k, num_samples=samples)

    # rounds: each measures ours, --preset lime, the floor, the model on our samples and lime
    # back to back, so that a slow spell of this shared machine falls on all of them, not on one
    keys = ("one", "rows", "lime_one", "lime_rows", "floor", "model_ours", "lime")
    t: dict[str, list[float]] = {k: [] for k in keys}
    rss = 0.0
    for r in range(max(repeat, lime_repeat)):
        if r < repeat:
            for key, extra in (("", []), ("lime_", ["--preset", "lime"])):
                t[key + "one"].append(run_cli(common + extra + ["--rows", str(d / "one.csv")])[0])
                seconds, peak = run_cli(common + extra + ["--rows", str(d / "rows.csv")])
                t[key + "rows"].append(seconds)
                if not key:
                    rss = max(rss, peak)
            t["floor"].append(best(lambda: predict(big), 1) / floor_rows)
            t["model_ours"].append(best(lambda: predict(ours_samples), 1) / floor_rows)
        if r < lime_repeat:
            t["lime"].append(best(run_lime, 1) / lime_rows)
    # marginal cost per row: the start-up (Python, imports, loading) left out
    ours = (min(t["rows"]) - min(t["one"])) / (rows - 1)
    ours_lime = (min(t["lime_rows"]) - min(t["lime_one"])) / (rows - 1)
    t_one, floor, lime = min(t["one"]), min(t["floor"]), min(t["lime"])
    return {
        "workload": w.name,
        "k": w.k,
        "ours": ours,
        "ours_lime": ours_lime,
        "startup": t_one,
        "lime": lime,
        "floor": floor,
        "model_ours": min(t["model_ours"]),
        "rss": rss,
    }


def scale_run(rows: int, samples: int, tmp: Path) -> dict:
    """The HGB workload on many rows in one run: per-row cost and peak RSS."""
    model, X_train, X_test, _ = build("hgb-20k-k5")
    d = tmp / "scale"
    d.mkdir()
    joblib.dump(model, d / "model.joblib")
    X_train.to_parquet(d / "train.parquet", index=False)
    first_rows(X_test, rows).to_csv(d / "rows.csv", index=False)
    args = ["--model", str(d / "model.joblib"), "--data", str(d / "train.parquet"), "--rows"]
    args += [str(d / "rows.csv"), "-k", "5", "-n", str(samples), "-f", "jsonl", "--quiet"]
    args += ["-o", str(d / "out.jsonl")]
    seconds, rss = run_cli(args)
    floor = best(lambda: model.predict_proba(lime_like_samples(X_train, 50 * samples)), 2) / 50
    return {"rows": rows, "samples": samples, "per_row": seconds / rows, "floor": floor, "rss": rss}


def our_samples(model, X_train, rows: pd.DataFrame, samples: int, **kwargs) -> pd.DataFrame:
    """The samples lime-cli draws for ``rows`` (positions 0, 1, ...): the frame the model receives."""
    from lime_cli import Explainer
    from lime_cli.core import engine, streams

    ex = Explainer(model, X_train, num_samples=samples, **kwargs)
    instances = ex.frontend.encode(ex.check_rows(rows))
    # the engine's own sampling step
    _, frame = engine.draw(ex.job(), instances, [(streams.MAIN, 0)] * len(rows), samples)
    return frame.copy()


def sample_costs(name: str, rows: int, samples: int, repeat: int) -> dict:
    """What the model costs per row on each kind of samples: the floor's, lime-cli's default's (as
    drawn, and shuffled), and --preset lime's.  Explains where ours ÷ floor falls below 1."""
    model, X_train, X_test, clf = build(name)
    predict = model.predict_proba if clf else model.predict
    sub = first_rows(X_test, rows)

    def samples_of(**kwargs) -> pd.DataFrame:
        return our_samples(model, X_train, sub, samples, **kwargs)

    default = samples_of()
    kinds = {
        "floor (lime-like rows)": lime_like_samples(X_train, rows * samples),
        "default, as drawn": default,
        "default, shuffled": default.sample(frac=1, random_state=0).reset_index(drop=True),
        "--preset lime": samples_of(preset="lime"),
    }
    return {kind: best(lambda x=x: predict(x), repeat) / rows for kind, x in kinds.items()}


def memory_runs(samples: int, counts: list[int], tmp: Path) -> list[dict]:
    """Peak RSS for explaining few and many rows: it must not grow with the row count."""
    out = []
    model, X_train, X_test, _ = build("hgb-20k-k5")
    d = tmp / "memory"
    d.mkdir()
    joblib.dump(model, d / "model.joblib")
    X_train.to_parquet(d / "train.parquet", index=False)
    for n in counts:
        first_rows(X_test, n).to_csv(d / f"rows{n}.csv", index=False)
        args = ["--model", str(d / "model.joblib"), "--data", str(d / "train.parquet")]
        args += ["--rows", str(d / f"rows{n}.csv"), "-k", "5", "-n", str(samples), "-f", "jsonl"]
        args += ["--quiet", "-o", str(d / "out.jsonl")]
        seconds, rss = run_cli(args)
        out.append({"rows": n, "samples": samples, "seconds": seconds, "rss": rss})
    return out


def wide_pipeline(categorical: int, categories: int, numeric: int = 6, n: int = 5000, seed: int = 0):
    """(pipeline, frame with label `y`): one-hot encoding (dense) and HistGradientBoosting on a table of
    `categorical` string columns of `categories` values each and `numeric` normal columns: the
    model expands every sample to categorical * categories + numeric floats."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(seed)
    names = np.array([f"v{k}" for k in range(categories)])
    cols = {f"c{j}": names[rng.integers(0, categories, n)] for j in range(categorical)}
    cols |= {f"x{j}": rng.standard_normal(n) for j in range(numeric)}
    X = pd.DataFrame(cols)
    y = ((X["x0"] > 0) ^ (X["c0"] == "v1")).astype(int)
    onehot = OneHotEncoder(sparse_output=False, handle_unknown="ignore")
    encode = ColumnTransformer([("onehot", onehot, list(X.columns[:categorical]))], remainder="passthrough")
    model = make_pipeline(encode, HistGradientBoostingClassifier(max_iter=50, random_state=0)).fit(X, y)
    return model, X.assign(y=y)


#: (categorical columns, categories each) of the pipeline memory runs: Adult's shape, and a wide one
PIPELINES = [(8, 15), (40, 50)]


def pipeline_memory_runs(rows: int, tmp: Path) -> list[dict]:
    """Peak RSS of `rows` rows through one-hot + HistGradientBoosting pipelines at default settings:
    what the model expands the samples to must not push the run past 1 GiB."""
    out = []
    for categorical, categories in PIPELINES:
        model, frame = wide_pipeline(categorical, categories)
        d = tmp / f"pipeline-{categorical}x{categories}"
        d.mkdir()
        joblib.dump(model, d / "model.joblib")
        frame.to_csv(d / "train.csv", index=False)
        first_rows(frame, rows).to_csv(d / "rows.csv", index=False)
        args = ["--model", str(d / "model.joblib"), "--data", str(d / "train.csv"), "-t", "y"]
        args += ["--rows", str(d / "rows.csv"), "-f", "jsonl", "--quiet", "-o", str(d / "out.jsonl")]
        seconds, rss = run_cli(args)
        width = categorical * categories + 6
        out.append({"shape": f"{categorical}x{categories}", "width": width, "rows": rows, "seconds": seconds,
                    "rss": rss})  # fmt: skip
    return out


def _commit() -> str:
    """The checked-out commit (and '+changes' when the tree differs from it)."""
    state = git_state()
    if state is None:
        return "unknown"
    head, dirty = state
    return head + ("+changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200, help="rows explained per workload (default 200)")
    parser.add_argument("--lime-rows", type=int, default=20, help="rows lime explains (default 20)")
    parser.add_argument("--samples", type=int, default=5000, help="num_samples (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings (default 3)")
    parser.add_argument("--lime-repeat", type=int, default=2, help="best of N lime timings (default 2)")
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--scale-rows", type=int, default=6000, help="rows of the scale run (0: skip)")
    parser.add_argument(
        "--memory-rows", type=int, nargs="*", default=[100, 100_000], help="row counts of the memory runs"
    )
    parser.add_argument("--memory-samples", type=int, default=200, help="num_samples of the memory runs")
    parser.add_argument(
        "--pipeline-rows", type=int, default=400, help="rows of the one-hot pipeline memory runs (0: skip)"
    )
    parser.add_argument(
        "--order-rows", type=int, default=50, help="rows of the model-on-samples timings (0: skip)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()

    lines = [
        "# Benchmark results",
        "",
        f"Measured by `bench/run.py` on {time.strftime('%Y-%m-%d')} at commit {_commit()}: "
        f"{os.cpu_count()} cores, "
        f"Python {platform.python_version()}, num_samples {args.samples}, {args.rows} rows "
        f"({args.lime_rows} for lime), best of {args.repeat} ({args.lime_repeat} for lime), in rounds "
        "that time ours (default and --preset lime), the floor, the model on our samples and lime back "
        "to back. "
        "Seconds per row; ratios from this run.",
        "",
        "| workload | K | ours s/row | lime s/row | floor s/row | lime ÷ ours | ours ÷ floor "
        "| lime ÷ floor | ours --preset lime s/row | lime ÷ it | it ÷ floor | ours start-up s "
        "| peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    print(lines[-2])
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        results = []
        for name in args.workloads:
            r = bench_workload(
                WORKLOADS[name], args.rows, args.lime_rows, args.samples, args.repeat, args.lime_repeat, tmp
            )
            line = (
                f"| {r['workload']} | {r['k']} | {r['ours']:.4f} | {r['lime']:.3f} | {r['floor']:.4f} "
                f"| {r['lime'] / r['ours']:.1f} | {r['ours'] / r['floor']:.2f} "
                f"| {r['lime'] / r['floor']:.1f} | {r['ours_lime']:.4f} | {r['lime'] / r['ours_lime']:.1f} "
                f"| {r['ours_lime'] / r['floor']:.2f} "
                f"| {r['startup']:.2f} | {r['rss']:.0f} |"
            )
            lines.append(line)
            results.append(r)
            print(line, flush=True)
        lines += ["", "Workloads: " + "; ".join(f"{w.name}: {w.description}" for w in WORKLOADS.values())]
        lines += [
            "",
            "## How far lime ÷ ours can go",
            "",
            "The model alone on the samples lime-cli's default draws for the same rows (timed in the same "
            "rounds): what lime-cli would cost per row if its own work took no time. lime ÷ it is the "
            "most lime ÷ ours can be on this machine; ours ÷ it - 1 is lime-cli's own work as a share of "
            "the model's.",
            "",
            "| workload | K | the model on our samples s/row | lime ÷ it | ours ÷ it |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in results:
            lines.append(
                f"| {r['workload']} | {r['k']} | {r['model_ours']:.4f} | {r['lime'] / r['model_ours']:.1f} "
                f"| {r['ours'] / r['model_ours']:.2f} |"
            )
            print(lines[-1], flush=True)
        if args.scale_rows:
            s = scale_run(args.scale_rows, args.samples, tmp)
            lines += [
                "",
                "## Scale",
                "",
                f"hgb-20k-k5, {s['rows']} rows in one CLI run (start-up included): "
                f"{s['per_row']:.4f} s/row, floor {s['floor']:.4f} s/row, ours ÷ floor "
                f"{s['per_row'] / s['floor']:.2f}, peak RSS {s['rss']:.0f} MiB.",
            ]
            print(lines[-1], flush=True)
        if args.order_rows:
            lines += [
                "",
                "## The model on each kind of samples",
                "",
                f"The model's own predict_proba / predict, seconds per row ({args.order_rows} rows of "
                f"{args.samples} samples in one call, best of {args.repeat}): on the floor's rows, on the "
                "default's samples as lime-cli draws them and shuffled, and on `--preset lime`'s.",
                "",
                "| workload | floor (lime-like rows) | default, as drawn | default, shuffled "
                "| --preset lime |",
                "| --- | --- | --- | --- | --- |",
            ]
            for name in [w for w in ("rf-cancer", "hgb-20k-k5") if w in args.workloads]:
                c = sample_costs(name, args.order_rows, args.samples, args.repeat)
                lines.append(f"| {name} | " + " | ".join(f"{v:.4f}" for v in c.values()) + " |")
                print(lines[-1], flush=True)
        if args.memory_rows:
            lines += [
                "",
                "## Memory",
                "",
                "| rows | num_samples | seconds | peak RSS MiB |",
                "| --- | --- | --- | --- |",
            ]
            for m in memory_runs(args.memory_samples, args.memory_rows, tmp):
                lines.append(f"| {m['rows']} | {m['samples']} | {m['seconds']:.1f} | {m['rss']:.0f} |")
                print(lines[-1], flush=True)
        if args.pipeline_rows:
            lines += [
                "",
                "One-hot encoding (dense) + HistGradientBoosting pipelines at default settings (5,000 "
                "samples, automatic chunks): C string columns of V categories each and 6 numeric ones, "
                "which the model expands to C·V + 6 floats per sample. 8x15 has the shape of UCI Adult.",
                "",
                "| C x V | floats per sample | rows | seconds | peak RSS MiB |",
                "| --- | --- | --- | --- | --- |",
            ]
            for m in pipeline_memory_runs(args.pipeline_rows, tmp):
                lines.append(
                    f"| {m['shape']} | {m['width']} | {m['rows']} | {m['seconds']:.1f} | {m['rss']:.0f} |"
                )
                print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
