"""A row's explanation depends on the seed, its values and the settings: not on where it sits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lime_cli import Explainer
from lime_cli.cli import app
from lime_cli.core import streams as _streams

N = 300


def invoke(args, **kw):
    return CliRunner().invoke(app, [str(a) for a in args], **kw)


def by_content(stdout: str) -> list[dict]:
    """The JSON lines without `row` (the position, which does change)."""
    out = []
    for line in stdout.splitlines():
        e = json.loads(line)
        e.pop("row")
        out.append(e)
    return out


@pytest.fixture(scope="module")
def mixed_rows(mixed_files, tmp_path_factory):
    """Rows 0..5 of the mixed table (strings, NaN, integers), one with an unseen category."""
    model, data = mixed_files
    frame = pd.read_csv(data).iloc[:6].copy()
    frame.loc[4, "bmi_class"] = "unheard-of"  # a category the training data lacks
    return model, data, frame


@pytest.mark.parametrize("extra", [[], ["--stability", 2, "--top-labels", 2], ["-n", "auto"]])
def test_a_row_explains_the_same_wherever_it_sits(mixed_rows, tmp_path, extra):
    model, data, frame = mixed_rows
    args = ["explain", "-m", model, "-d", data, "-t", "progression", "-n", N, "-f", "jsonl", *extra]

    def run(table: pd.DataFrame, name: str) -> list[dict]:
        path = tmp_path / name
        table.to_csv(path, index=False) if name.endswith(".csv") else table.to_parquet(path, index=False)
        res = invoke([*args, "--rows", path])
        assert res.exit_code == 0, res.stderr
        return by_content(res.stdout)

    base = run(frame, "rows.csv")
    per_row = len(base) // len(frame)  # explanations per row (labels)
    rows = {i: base[i * per_row : (i + 1) * per_row] for i in range(len(frame))}

    shuffled = frame.iloc[[3, 5, 0, 4, 1, 2]]
    got = run(shuffled, "shuffled.csv")
    for k, i in enumerate([3, 5, 0, 4, 1, 2]):
        assert got[k * per_row : (k + 1) * per_row] == rows[i]

    other = frame.iloc[[1]].assign(age=frame["age"].iloc[1] + 7)  # a different row, inserted first
    got = run(pd.concat([other, frame]), "inserted.csv")
    assert got[per_row:] == base

    assert run(frame, "rows.parquet") == base

    alone = frame.iloc[[4]].to_csv(index=False)
    res = invoke([*args, "--rows", "-"], input=alone)
    assert res.exit_code == 0, res.stderr
    assert by_content(res.stdout) == rows[4]


def test_equal_rows_get_equal_explanations_and_seeds_still_matter(cancer):
    model, X, _ = cancer
    rows = X.iloc[[0, 1, 0]]
    ex = Explainer(model, X, num_features=4, num_samples=N)
    a, b, c = ex.explain(rows)
    assert a.features == c.features and a != b
    (other_seed,) = Explainer(model, X, num_features=4, num_samples=N, seed=1).explain(rows.iloc[[0]])
    assert [f.weight for f in other_seed.features] != [f.weight for f in a.features]


def test_row_keys_are_stable_and_canonical():
    codes = np.array([[1, 2], [1, 2], [1, 3]])
    values = np.array([[0.0, np.nan], [-0.0, np.float64("nan") * -1], [0.0, np.nan]])
    keys = _streams.row_keys(codes, values, {})
    assert (keys[0] == keys[1]).all() and not (keys[0] == keys[2]).all()  # -0.0 is 0.0, NaN is NaN
    unseen = _streams.row_keys(codes[:1] * 0 - 1, values[:1], {(0, 0): "x", (0, 1): "y"})
    other = _streams.row_keys(codes[:1] * 0 - 1, values[:1], {(0, 0): "x", (0, 1): "z"})
    assert not (unseen == other).all()
    streams = [(_streams.MAIN, 0), (_streams.REPLICATE, 1), (_streams.AUTO, 1)]
    draws = [g.random() for g in _streams.generators(0, np.repeat(keys[:1], 3, axis=0), streams)]
    assert len(set(draws)) == 3
