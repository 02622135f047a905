"""`lime fit` (explainer files), `--explainer` in explain and check, and `lime summary`."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from lime_cli.cli import app
from lime_cli.summary import SUMMARY_COLUMNS


def invoke(args, **kw):
    return CliRunner().invoke(app, [str(a) for a in args], **kw)


@pytest.fixture(scope="module")
def explainer_file(cancer_files, tmp_path_factory):
    model, train = cancer_files
    out = tmp_path_factory.mktemp("fit") / "explainer.json"
    result = invoke(["fit", "-d", train, "-t", "target", "-m", model, "-o", out])
    assert result.exit_code == 0, result.stderr
    return out


def test_explainer_file_gives_the_same_explanations(cancer_files, explainer_file):
    model, train = cancer_files
    common = ["explain", "-m", model, "--rows", train, "--row", 3, "--row", 40, "-n", 400, "-f", "json"]
    with_data = invoke(common[:3] + ["-d", train, "-t", "target"] + common[3:])
    with_file = invoke(common[:3] + ["--explainer", explainer_file] + common[3:])
    assert with_data.exit_code == 0 and with_file.exit_code == 0, with_file.stderr
    assert with_file.stdout == with_data.stdout
    assert json.loads(explainer_file.read_text())["lime_cli_explainer"] == 1


def test_check_with_an_explainer_file(cancer_files, explainer_file, tmp_path):
    model, train = cancer_files
    rows = ["--rows", train, "-n", 300, "-k", 3, "--forbid", "worst radius", "--max-share", 1.0]
    a = invoke(["check", "-m", model, "-d", train, "-t", "target", *rows, "--report", tmp_path / "a.json"])
    b = invoke(["check", "-m", model, "--explainer", explainer_file, *rows, "--report", tmp_path / "b.json"])
    assert a.exit_code == b.exit_code == 0, b.stderr
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()


def test_explainer_and_data_together_is_a_usage_error(cancer_files, explainer_file):
    model, train = cancer_files
    out = invoke(["explain", "-m", model, "-d", train, "--explainer", explainer_file, "--rows", train])
    assert out.exit_code == 2 and out.stderr.startswith("Error: give the training table")


@pytest.fixture(scope="module")
def jsonl(cancer_files):
    model, train = cancer_files
    rows = [a for r in range(0, 60, 3) for a in ("--row", r)]
    out = invoke(
        ["explain", "-m", model, "-d", train, "-t", "target", *rows, "-n", 300, "-k", 4, "-f", "jsonl"]
    )
    assert out.exit_code == 0
    return out.stdout


def test_summary_formats(jsonl, tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(jsonl)
    csv = invoke(["summary", path, "-f", "csv", "--top-k", 2])
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.columns) == SUMMARY_COLUMNS
    assert frame["top_share"].between(0, 1).all()
    doc = json.loads(invoke(["summary", path, "-f", "json", "--pick", 3]).stdout)
    assert len(doc["picked"]) == 3 and len({e["row"] for e in doc["picked"]}) == 3
    assert {f["feature"] for f in doc["features"]} == set(frame["feature"])
    table = invoke(["summary", "-", "--pick", 1], input=jsonl)
    assert table.exit_code == 0 and "global summary" in table.stdout and "row " in table.stdout


@pytest.mark.parametrize(
    "args, message",
    [(["--pick", 0], "--pick"), (["-f", "xml"], "--format")],
)
def test_summary_usage_errors(jsonl, tmp_path, args, message):
    path = tmp_path / "e.jsonl"
    path.write_text(jsonl)
    out = invoke(["summary", path, *args])
    assert out.exit_code == 2 and out.stderr.startswith("Error: ") and message in out.stderr


def test_summary_of_a_file_that_is_not_explanations(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n')
    out = invoke(["summary", bad])
    assert out.exit_code == 2 and "bad.jsonl" in out.stderr
