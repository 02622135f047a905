"""`lime check`: rules, exit codes, JUnit XML and JSON reports, GitHub annotations."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from typer.testing import CliRunner

from lime_cli.check import Rule, evaluate, junit_xml
from lime_cli.cli import app
from lime_cli.explainer import Explanation, FeatureWeight

FAST = ["-n", "400", "-k", "5"]


def invoke(args, **kw):
    return CliRunner().invoke(app, [str(a) for a in args], **kw)


@pytest.fixture(scope="module")
def leak_files(tmp_path_factory):
    """A forest trained with a near-copy of the label (`leak`), and one trained without it."""
    bc = load_breast_cancer(as_frame=True)
    X, y = bc.data.iloc[:, :12].copy(), bc.target
    rng = np.random.default_rng(0)
    X["leak"] = y + rng.normal(0, 0.05, len(y))
    d = tmp_path_factory.mktemp("leak")
    leaky = RandomForestClassifier(n_estimators=40, random_state=0).fit(X, y)
    clean = RandomForestClassifier(n_estimators=40, random_state=0).fit(X.drop(columns="leak"), y)
    joblib.dump(leaky, d / "leaky.joblib")
    joblib.dump(clean, d / "clean.joblib")
    X.assign(target=y).to_csv(d / "train.csv", index=False)
    X.iloc[:30].to_csv(d / "test.csv", index=False)
    return d


def base(d, model="leaky.joblib"):
    return ["check", "-m", d / model, "-d", d / "train.csv", "-t", "target", "--rows", d / "test.csv", *FAST]


def test_leak_fails_a_forbid_rule(leak_files, tmp_path):
    out = invoke(base(leak_files) + ["--forbid", "leak", "--report", tmp_path / "r.json"])
    assert out.exit_code == 1, out.stderr
    assert "FAIL" in out.stderr and "verdict: failed" in out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    (rule,) = report["rules"]
    assert rule["passed"] is False and rule["features"] == ["leak"]
    assert rule["offenders"] and all(o["feature"] == "leak" and o["rank"] <= 5 for o in rule["offenders"])
    assert rule["offenders"][0]["rank"] == 1  # the leak leads the explanations


def test_same_pipeline_without_the_leak_passes(leak_files):
    out = invoke(base(leak_files, "clean.joblib") + ["--forbid", "leak"])
    assert out.exit_code == 0, out.stderr
    assert "verdict: passed" in out.stderr


def test_policy_file_rules_and_junit(leak_files, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(
        """
[explain]
num_samples = 400
num_features = 5

[[rule]]
id = "no-leak"
kind = "forbid"
features = ["leak"]
max_share = 0.1

[[rule]]
id = "radius-matters"
kind = "require"
features = ["mean radius", "mean perimeter", "mean area"]
min_share = 0.01
severity = "warning"

[[rule]]
id = "no-texture-weight"
kind = "forbid"
features = ["mean texture"]
max_share = 1.0
max_weight_share = 0.9
"""
    )
    junit = tmp_path / "junit.xml"
    out = invoke(
        ["check", "-m", leak_files / "leaky.joblib", "-d", leak_files / "train.csv", "-t", "target"]
        + ["--rows", leak_files / "test.csv", "--policy", policy, "--report", junit]
    )
    assert out.exit_code == 1, out.stderr
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"no-leak", "radius-matters", "no-texture-weight"}
    failure = cases["no-leak"].find("failure")
    assert failure is not None and "leak" in failure.get("message")
    assert "row " in failure.text and "rank 1" in failure.text
    assert cases["no-texture-weight"].find("failure") is None


def test_require_rule_fails_when_the_feature_does_not_matter(leak_files):
    out = invoke(
        base(leak_files, "clean.joblib") + ["--require", "mean fractal dimension", "--min-share", 0.9]
    )
    assert out.exit_code == 1
    assert "require" in out.stderr


def test_inconclusive_when_fidelity_is_low(leak_files):
    out = invoke(base(leak_files, "clean.joblib") + ["--forbid", "leak", "--min-fidelity", 0.999])
    assert out.exit_code == 3, out.stderr
    assert "verdict: inconclusive" in out.stderr


def test_github_annotations(leak_files):
    out = invoke(base(leak_files) + ["--forbid", "leak"], env={"GITHUB_ACTIONS": "true"})
    assert out.exit_code == 1
    lines = [line for line in out.stdout.splitlines() if line.startswith("::")]
    assert lines and lines[0].startswith("::error title=lime check: forbid::")


def test_protected_string_column_in_a_mixed_pipeline(mixed_files, tmp_path):
    model, data = mixed_files
    report = tmp_path / "r.json"
    args = ["check", "-m", model, "-d", data, "-t", "progression", "--rows", data, *FAST]
    out = invoke(args + ["--forbid", "sex", "--top-k", 1, "--max-share", 0.5, "--report", report])
    assert out.exit_code in (0, 1), out.stderr
    rule = json.loads(report.read_text())["rules"][0]
    assert all(o["feature"] == "sex" and o["rank"] == 1 for o in rule["offenders"])
    assert rule["passed"] == (out.exit_code == 0)


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "no rule to check"),
        (["--forbid", "leak", "--report", "r.txt"], "--report"),
        (["--policy", "missing.toml"], "policy file missing.toml"),
        (["--forbid", "leak", "--max-share", 2], "max_share"),
    ],
)
def test_usage_errors_exit_2(leak_files, extra, message):
    out = invoke(base(leak_files) + extra)
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: ") and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_bad_policy_file(leak_files, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\nkind = "ban"\nfeatures = ["leak"]\n')
    out = invoke(base(leak_files) + ["--policy", bad])
    assert out.exit_code == 2 and "kind must be forbid or require" in out.stderr


def _exp(row, feats, low=False):
    return Explanation(
        row=row,
        label="1",
        model_prediction=0.9,
        local_prediction=0.9,
        intercept=0.1,
        score=0.1 if low else 0.9,
        features=[FeatureWeight(f, f, 1.0, w) for f, w in feats],
        low_fidelity=low,
    )


def test_evaluate_rules_by_hand():
    exps = [
        _exp(0, [("a", 0.5), ("sex", -0.4), ("b", 0.1)]),
        _exp(1, [("a", 0.5), ("b", 0.3), ("sex", 0.05)]),
        _exp(2, [("sex", 0.9)], low=True),  # inconclusive: left out
        _exp(3, [("b", 0.2)]),
    ]
    rules = [
        Rule("top2", "forbid", ["sex"], top_k=2, max_share=0.0),
        Rule("top2-share", "forbid", ["sex"], top_k=2, max_share=0.34),
        Rule("weight", "forbid", ["sex"], top_k=3, max_share=1.0, max_weight_share=0.25),
        Rule("weight-low", "forbid", ["sex"], top_k=3, max_share=1.0, max_weight_share=0.2),
        Rule("a-required", "require", ["a"], min_share=0.7),
        Rule("unknown", "forbid", ["zip"]),
    ]
    r = evaluate(rules, exps, num_features=3, feature_names=["a", "b", "sex"], max_inconclusive=0.5)
    got = {x.id: x.passed for x in r.results}
    # sex is in the top 2 of 1 of 3 conclusive rows; its |weight| share is 0.45 / 2.05
    expected = {"top2": False, "top2-share": True, "weight": True, "weight-low": False}
    assert got == {**expected, "a-required": False, "unknown": True}
    assert r.inconclusive_rows == [2] and r.exit_code == 1
    xml = ET.fromstring(junit_xml(r))
    assert xml.get("failures") == "3"
