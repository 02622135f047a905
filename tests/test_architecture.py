"""The architecture holds: a core that knows no columns, a seam a new kind of input plugs into
without touching the core, and a library that speaks in Python parameters."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lime_cli import Explainer, ParameterError, Settings
from lime_cli.cli import app
from lime_cli.core import FrontEnd, Samples, engine, streams
from lime_cli.core.model import inspect_model
from lime_cli.errors import DataError
from lime_cli.tabular import TabularFrontEnd

PACKAGE = Path(__file__).resolve().parent.parent / "lime_cli"
FORBIDDEN_IN_CORE = ("pandas", "typer", "click", "rich", "pyarrow")
FORBIDDEN_LOCAL = ("tabular", "cli", "render", "io", "check", "summary", "explainer")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, relative ones spelled from lime_cli (``..tabular`` -> tabular)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.add(node.module or "")
            elif node.level == 2 or (node.level == 1 and path.parent.name != "core"):
                names.add("lime_cli." + (node.module or ""))
            else:  # inside lime_cli/core
                names.add("lime_cli.core." + (node.module or ""))
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_the_core_imports_no_columns_no_terminal_and_no_front_end(path):
    for name in imports_of(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN_IN_CORE, f"{path.name} imports {name}"
        if name.startswith("lime_cli.") and not name.startswith("lime_cli.core"):
            assert name.split(".")[1] not in FORBIDDEN_LOCAL, f"{path.name} imports {name}"


def test_importing_the_core_loads_no_pandas_typer_or_rich():
    code = (
        "import sys, lime_cli.core, lime_cli.core.engine, lime_cli.core.model, lime_cli.core.memory; "
        "print(sorted(m for m in ('pandas', 'typer', 'rich', 'lime_cli.tabular') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rich_lives_in_the_render_module_only():
    users = [p.name for p in PACKAGE.rglob("*.py") if any(n.split(".")[0] == "rich" for n in imports_of(p))]
    assert users == ["render.py"]


def test_the_tabular_front_end_class_is_small():
    lines = inspect.getsource(TabularFrontEnd).splitlines()
    assert len(lines) < 200, len(lines)


# -- a new kind of input, without touching the core ------------------------------------------


@dataclass
class Switches:
    """Instances of a toy front-end: rows of d on/off switches."""

    on: np.ndarray  # (B, d) bool
    keys: np.ndarray

    def __len__(self) -> int:
        return len(self.on)

    def take(self, index):
        return Switches(self.on[index], self.keys[index])


class BagOfSwitches(FrontEnd):
    """An instance is a set of switches that are on; a feature is "switch j is on"; a sample turns
    a random number of them off (as LIME does with the words of a text)."""

    def __init__(self, d: int) -> None:
        self.n_features = d
        self.feature_names = [f"s{j}" for j in range(d)]

    def prepare(self, rows, positions):
        rows = np.asarray(rows, dtype=bool)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise DataError(f"each instance must have {self.n_features} switches")
        return rows

    def rows(self, prepared, start, stop):
        return prepared[start:stop]

    def encode(self, rows):
        return Switches(rows, streams.row_keys(rows.astype(np.int64), np.zeros((len(rows), 0)), {}))

    def sample(self, instances, rngs, num_samples, settings, threads):
        B, d, S = len(instances), self.n_features, num_samples
        Z = np.ones((B, d, S))
        for b, rng in enumerate(rngs):  # fine for a test: a real front-end draws a chunk at once
            k = rng.integers(1, d + 1, size=S - 1)  # how many switches to turn off
            order = np.argsort(rng.random((S - 1, d)), axis=1)
            off = np.arange(d)[None, :] < k[:, None]
            Z[b, :, 1:] = (~np.take_along_axis(off, np.argsort(order, axis=1), axis=1)).T
        return Samples(Z=Z, binary=d, data=None)

    def model_input(self, instances, samples, threads=1):
        on = instances.on[:, :, None] & (samples.Z > 0)  # (B, d, S): a switch stays on if kept
        return on.transpose(0, 2, 1).reshape(-1, self.n_features).astype(float)

    def describe(self, instances, b, j):
        state = "on" if instances.on[b, j] else "off"
        return self.feature_names[j], f"{self.feature_names[j]} is {state}", bool(instances.on[b, j])


class PlantedSwitches:
    """A classifier that uses switches 1 (for) and 4 (against) only."""

    classes_ = np.array(["no", "yes"])

    def predict_proba(self, X):
        z = 2.5 * X[:, 1] - 2.0 * X[:, 4]
        p = 1 / (1 + np.exp(-z))
        return np.column_stack([1 - p, p])


def test_a_new_front_end_is_explained_end_to_end_through_the_core():
    d = 8
    fe = BagOfSwitches(d)
    rows = fe.prepare(np.ones((5, d), dtype=bool), np.arange(5))
    settings = Settings.create(num_features=3, num_samples=2000, seed=3)
    info = engine.probe(fe, inspect_model(PlantedSwitches()), rows, settings)
    job = engine.Job(fe, info, settings, fe.default_kernel_width(), labels=(1,))
    explanations = [e for chunk in engine.run(job, rows, np.arange(5)) for e in chunk]
    assert len(explanations) == 5
    for e in explanations:
        weights = {f.feature: f.weight for f in e.features}
        assert {f.feature for f in e.features[:2]} == {"s1", "s4"}, weights  # the planted switches
        assert weights["s1"] > 0 > weights["s4"]
        assert all(abs(f.weight) < 0.05 * abs(weights["s4"]) for f in e.features[2:]), weights
        assert e.label == "yes" and e.features[0].condition == "s1 is on"
    # the core's guarantees hold for it too: an instance alone equals it in a batch
    alone = [e for chunk in engine.run(job, rows[2:3], np.array([2])) for e in chunk]
    assert alone == explanations[2:3]


# -- the library speaks Python; the command line speaks flags ------------------------------


@pytest.mark.parametrize(
    "kwargs, python, flag",
    [
        ({"num_samples": 1}, "num_samples must be", "--num-samples must be"),
        ({"locality": 1.5}, "locality must be in [0, 1)", "--locality must be in [0, 1)"),
        ({"feature_selection": "best"}, "feature_selection must be one of", "--feature-selection must be"),
        ({"discretizer": "thirds"}, "discretizer must be one of", "--discretizer must be one of"),
        ({"target": "nope"}, "target column 'nope' is not a column", "--target column 'nope'"),
        ({"categorical": ["nope"]}, "categorical column 'nope'", "--categorical column 'nope'"),
        ({"mode": "ranking"}, "mode must be classification or regression", "--mode must be"),
    ],
)
def test_library_errors_name_python_parameters_and_the_cli_its_flags(cancer_files, kwargs, python, flag):
    model_path, data_path = cancer_files
    import joblib

    model, data = joblib.load(model_path), pd.read_csv(data_path)
    with pytest.raises((ParameterError, DataError)) as caught:
        Explainer(model, data, **{"target": "target", **kwargs})
    assert str(caught.value).startswith(python) or python in str(caught.value), str(caught.value)
    assert "--" not in str(caught.value)

    name, value = next(iter(kwargs.items()))
    option = {"feature_selection": "--feature-selection", "num_samples": "--num-samples"}.get(
        name, f"--{name}"
    )
    values = value if isinstance(value, list) else [value]
    args = ["explain", "-m", model_path, "-d", data_path, "--row", 0]
    args += ["-t", "target"] if name != "target" else []
    for v in values:
        args += [option, v]
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 2 and flag in res.stderr, res.stderr


def test_settings_are_validated_once_and_immutable():
    s = Settings.create(preset="lime", num_features=4)
    assert (s.locality, s.confidence, s.sampling, s.num_features) == (0.0, 0.0, "random", 4)
    with pytest.raises(AttributeError):
        s.num_features = 5
    with pytest.raises(ParameterError, match="num_features must be an integer >= 1"):
        s.but(num_features=0)
