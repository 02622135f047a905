"""Chunking, parallel workers and Dask give identical output; memory is bounded by the chunk."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from lime_cli import Explainer
from lime_cli.cli import app
from lime_cli.tabular import sampling as _sampling


def invoke(args, **kw):
    return CliRunner().invoke(app, [str(a) for a in args], **kw)


@pytest.fixture(scope="module")
def cli_args(cancer_files):
    model, train = cancer_files
    return ["explain", "-m", model, "-d", train, "-t", "target", "--rows", train, "-n", 200, "-k", 4]


def test_batch_size_and_jobs_do_not_change_a_byte(cli_args):
    base = invoke(cli_args + ["-f", "jsonl", "--batch-size", 64])
    assert base.exit_code == 0, base.stderr
    assert len(base.stdout.splitlines()) == 569
    for extra in (["--batch-size", 1], ["--batch-size", 7], ["--batch-size", 5, "--jobs", 2]):
        other = invoke(cli_args + ["-f", "jsonl"] + extra)
        assert other.exit_code == 0, other.stderr
        assert other.stdout == base.stdout, extra


def test_output_keeps_input_order_with_workers(cli_args):
    out = invoke(cli_args + ["-f", "csv", "--batch-size", 3, "--jobs", 2])
    rows = pd.read_csv(__import__("io").StringIO(out.stdout))["row"].drop_duplicates().tolist()
    assert rows == list(range(569))


@pytest.mark.slow
def test_dask_local_cluster_matches_serial(cancer):
    distributed = pytest.importorskip("distributed")
    model, X, _ = cancer
    ex = Explainer(model, X, num_features=4, num_samples=300, batch_size=4)
    serial = ex.explain(X.iloc[:40])
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        chunks = ex.iter_explain(X.iloc[:40], n_jobs=-1, backend="dask")
        on_dask = [e for chunk in chunks for e in chunk]
    assert on_dask == serial


@pytest.mark.slow
def test_cli_dask_local_matches_serial(cli_args):
    pytest.importorskip("distributed")
    args = cli_args[:-6] + ["--row", 3, "--row", 1, "--row", 2, "-n", 200, "-k", 4, "-f", "json"]
    serial = invoke(args + ["--batch-size", 1])
    on_dask = invoke(args + ["--batch-size", 1, "--dask", "local"])
    assert serial.exit_code == 0 and on_dask.exit_code == 0, on_dask.stderr
    assert on_dask.stdout == serial.stdout


@pytest.mark.slow
def test_unreachable_dask_scheduler_is_one_error_line(cli_args):
    pytest.importorskip("distributed")
    out = invoke(cli_args + ["--dask", "tcp://127.0.0.1:9", "-f", "jsonl"])
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: --dask tcp://127.0.0.1:9")
    assert len(out.stderr.strip().splitlines()) == 1


def _small_problem():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((600, 8)), columns=[f"x{i}" for i in range(8)])
    model = LogisticRegression().fit(X, (X["x0"] > 0).astype(int))
    return model, X


def test_chunk_arrays_are_bounded_by_batch_size(monkeypatch):
    model, X = _small_problem()
    live, peak, shapes = [0], [0], []
    real = _sampling.perturb

    def tracked(*args, **kwargs):
        pert = real(*args, **kwargs)
        if pert.Z.shape[2] == 2:  # the model's probe: two samples of the first row, before any chunk
            return pert
        shapes.append(pert.Z.shape)
        live[0] += 1
        peak[0] = max(peak[0], live[0])
        weakref.finalize(pert.Z, lambda: live.__setitem__(0, live[0] - 1))
        return pert

    monkeypatch.setattr("lime_cli.tabular.frontend.perturb", tracked)
    ex = Explainer(model, X, num_features=3, num_samples=150, batch_size=5)
    rows = X  # 600 rows
    gen = ex.iter_explain(rows)
    next(gen)
    assert len(shapes) <= 2  # lazy: one chunk computed, at most one more in flight
    n = 1
    for _ in gen:  # stream, keeping nothing
        n += 1
    assert n == 600 // 5
    assert {(s[0], s[2]) for s in shapes} == {(5, 150)}
    assert peak[0] <= 2  # the chunk being explained, and at most one more not yet freed


def test_peak_memory_does_not_grow_with_rows():
    model, X = _small_problem()
    ex = Explainer(model, X, num_features=3, num_samples=400, batch_size=8)

    def peak(n_rows):
        rows = pd.concat([X] * (n_rows // len(X) + 1), ignore_index=True).iloc[:n_rows]
        gc.collect()
        tracemalloc.start()
        for _ in ex.iter_explain(rows):
            pass
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(40), peak(1200)
    assert large < 1.5 * small, (small, large)


def test_progress_stays_off_stdout_and_off_when_not_a_terminal(cli_args):
    out = invoke(cli_args + ["-f", "jsonl", "--batch-size", 100])
    assert out.exit_code == 0
    assert out.stderr == ""
    assert all(line.startswith('{"row": ') for line in out.stdout.splitlines())


def test_progress_tracker_passes_chunks_through():
    from lime_cli.render import track

    chunks = [[type("E", (), {"row": i})()] for i in range(5)]
    assert list(track(iter(chunks), total=5)) == chunks


class HungryModel:
    """A classifier that holds 16 KB per sample while it predicts (as a wide one-hot pipeline does)."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        x = np.asarray(X, dtype=np.float64)[:, 0]
        wide = np.ones((len(x), 2000))  # written, so resident
        p = 1 / (1 + np.exp(-(x + wide[:, 0] - 1)))
        return np.column_stack([1 - p, p])


def test_automatic_chunks_are_sized_by_the_memory_the_model_takes():
    # in a fresh process, as the lime command runs: 16 MB per row against a budget of a few hundred
    script = """
import json, numpy as np, pandas as pd
from lime_cli import Explainer
from lime_cli.core import memory as _memory
from test_scale import HungryModel
sizes = []
real = _memory.ChunkSizer.next_size
_memory.ChunkSizer.next_size = lambda self: sizes.append(real(self)) or sizes[-1]
X = pd.DataFrame(np.random.default_rng(0).standard_normal((200, 3)), columns=["a", "b", "c"])
ex = Explainer(HungryModel(), X, num_features=2, num_samples=1000)
auto = ex.explain(X)
fixed = Explainer(HungryModel(), X, num_features=2, num_samples=1000, batch_size=7).explain(X)
from lime_cli.core.engine import cell_batch
cap = cell_batch(ex.frontend.n_features, ex.settings)
print(json.dumps({"sizes": sizes, "cap": cap, "same": auto == fixed}))
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    sizes, cap = got["sizes"], got["cap"]
    assert sizes[0] == 1 and all(b <= 4 * a for a, b in zip(sizes, sizes[1:], strict=False)), sizes
    assert 1 < max(sizes) < cap // 4, (sizes, cap)
    assert got["same"], "the chunking changed the explanations"


def test_automatic_chunks_with_workers_match_serial():
    X = pd.DataFrame(np.random.default_rng(1).standard_normal((30, 3)), columns=["a", "b", "c"])
    ex = Explainer(HungryModel(), X, num_features=2, num_samples=500)
    serial = ex.explain(X)
    parallel = [e for chunk in ex.iter_explain(X, n_jobs=2) for e in chunk]
    assert parallel == serial


def test_parquet_bytes_do_not_depend_on_the_chunks(cli_args, tmp_path, monkeypatch):
    from lime_cli import io as lime_io

    monkeypatch.setattr(lime_io, "PARQUET_ROW_GROUP", 500)  # several row groups, cut inside chunks
    files = []
    for extra in (["--batch-size", 3], ["--batch-size", 64], []):
        out = tmp_path / f"out{len(files)}.parquet"
        res = invoke(cli_args + ["-f", "parquet", "-o", out, *extra])
        assert res.exit_code == 0, res.stderr
        files.append(out.read_bytes())
    assert files[0] == files[1] == files[2]
    import pyarrow.parquet as pq

    meta = pq.read_metadata(tmp_path / "out0.parquet")
    assert meta.num_row_groups > 2 and meta.row_group(0).num_rows == 500
