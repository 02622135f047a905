"""`lime check`: rules, exit codes, JUnit XML and JSON reports, GitHub annotations."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from typer.testing import CliRunner

from lime_cli.check import Rule, evaluate, junit_xml
from lime_cli.cli import app
from lime_cli.schema import Explanation, FeatureWeight

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
    out = invoke(base(leak_files, "clean.joblib") + ["--dominant", "--min-fidelity", 0.999])
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


GOOD_RULE = '[[rule]]\nid = "no-leak"\nkind = "forbid"\nfeatures = ["leak"]\n'


def rule_with(*lines: str) -> str:
    """A [[rule]] with an id, a kind and features, then ``lines`` (which may replace them)."""
    keys = {line.split("=")[0].strip() for line in lines}
    defaults = [f"{k} = {v}" for k, v in (("id", '"r1"'), ("kind", '"forbid"'), ("features", '["leak"]'))]
    return "\n".join(["[[rule]]", *(d for d in defaults if d.split(" =")[0] not in keys), *lines]) + "\n"


def without(key: str) -> str:
    return "\n".join(line for line in rule_with().splitlines() if not line.startswith(key)) + "\n"


def assert_policy_error(out, *expected: str) -> None:
    assert out.exit_code == 2, (out.exit_code, out.stderr)
    (line,) = out.stderr.splitlines()
    assert line.startswith("Error: policy file ") and "Traceback" not in out.stderr
    for text in expected:
        assert text in line, (text, line)
    assert out.stdout == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        # unknown tables and keys, with the closest valid name
        ("[explian]\nnum_samples = 400\n" + GOOD_RULE, "unknown table [explian] (did you mean [explain]?)"),
        ("rules = 3\n" + GOOD_RULE, "unknown key rules (did you mean [[rule]]?)"),
        (GOOD_RULE.replace("[[rule]]", "[[rules]]"), "unknown table [[rules]] (did you mean [[rule]]?)"),
        ("[output]\nformat = 1\n" + GOOD_RULE, "unknown table [output]"),
        (
            "[explain]\nnum_sampels = 400\n" + GOOD_RULE,
            "[explain] unknown key num_sampels (did you mean num_samples?)",
        ),
        ("[explain]\nzzz = 1\n" + GOOD_RULE, "[explain] unknown key zzz"),
        (rule_with("topk = 3"), "rule 'r1': unknown key topk (did you mean top_k?)"),
        (rule_with("max_shares = 0.1"), "rule 'r1': unknown key max_shares (did you mean max_share?)"),
        ("explain = 3\n" + GOOD_RULE, "explain must be a table [explain], not 3"),
        ('[rule]\nid = "x"\n', "not one [rule]"),
        # [explain] values: types and ranges
        (
            "[explain]\nnum_samples = 1\n" + GOOD_RULE,
            '[explain] num_samples must be an integer >= 2 or "auto", not 1',
        ),
        ("[explain]\nnum_samples = 400.0\n" + GOOD_RULE, "[explain] num_samples must be an integer >= 2"),
        (
            '[explain]\nnum_samples = "400"\n' + GOOD_RULE,
            '[explain] num_samples must be an integer >= 2 or "auto", not "400"',
        ),
        ("[explain]\nnum_samples = true\n" + GOOD_RULE, "[explain] num_samples must be an integer >= 2"),
        (
            "[explain]\nnum_samples = 20_000_000\n" + GOOD_RULE,
            "[explain] num_samples must be at most 10,000,000, not 20000000",
        ),
        (
            "[explain]\nnum_features = 0\n" + GOOD_RULE,
            "[explain] num_features must be an integer >= 1, not 0",
        ),
        (
            "[explain]\nnum_features = 2.5\n" + GOOD_RULE,
            "[explain] num_features must be an integer >= 1, not 2.5",
        ),
        ("[explain]\nseed = -1\n" + GOOD_RULE, "[explain] seed must be an integer >= 0, not -1"),
        ('[explain]\nseed = "0"\n' + GOOD_RULE, '[explain] seed must be an integer >= 0, not "0"'),
        ("[explain]\nmin_fidelity = nan\n" + GOOD_RULE, "[explain] min_fidelity must be a number, not nan"),
        ("[explain]\nmin_fidelity = inf\n" + GOOD_RULE, "[explain] min_fidelity must be a number, not inf"),
        ("[explain]\nmin_fidelity = true\n" + GOOD_RULE, "[explain] min_fidelity must be a number, not true"),
        (
            "[explain]\nmax_inconclusive = 1.5\n" + GOOD_RULE,
            "[explain] max_inconclusive must be a share between 0 and 1, not 1.5",
        ),
        ("[explain]\nmax_inconclusive = false\n" + GOOD_RULE, "[explain] max_inconclusive must be a share"),
        (
            '[explain]\npreset = "fast"\n' + GOOD_RULE,
            '[explain] preset must be one of default, lime, not "fast"',
        ),
        ("[explain]\npreset = 1\n" + GOOD_RULE, "[explain] preset must be one of default, lime, not 1"),
        # rule values: the rule and the key
        (rule_with("id = 3"), "[[rule]] number 1: id must be a non-empty string, not 3"),
        ('[[rule]]\nkind = "forbid"\nfeatures = ["leak"]\n', "[[rule]] number 1 has no id"),
        (without("kind"), "rule 'r1': kind is missing (forbid, require or dominant)"),
        (without("features"), "rule 'r1': features is missing (a list of column names; or words, for text)"),
        (rule_with('kind = "ban"'), 'rule \'r1\': kind must be "forbid", "require" or "dominant", not "ban"'),
        (rule_with('features = "sex"'), "rule 'r1': features must be a list of column names, not \"sex\""),
        (rule_with("features = []"), "rule 'r1': features must be a non-empty list of column names"),
        (rule_with("features = [1]"), "rule 'r1': features must be column names (strings), not 1"),
        (rule_with("severity = 1"), 'rule \'r1\': severity must be "error" or "warning", not 1'),
        (rule_with('severity = "fatal"'), "rule 'r1': severity must be"),
        (rule_with('top_k = "3"'), "rule 'r1': top_k must be an integer >= 1, not \"3\""),
        (rule_with("top_k = 0"), "rule 'r1': top_k must be an integer >= 1, not 0"),
        (rule_with("top_k = true"), "rule 'r1': top_k must be an integer >= 1, not true"),
        (rule_with("max_share = 2"), "rule 'r1': max_share must be a share between 0 and 1, not 2"),
        (rule_with('min_share = "half"'), "rule 'r1': min_share must be a share between 0 and 1"),
        (rule_with("max_weight_share = true"), "rule 'r1': max_weight_share must be a share"),
        (GOOD_RULE + GOOD_RULE, "rule ids must be unique: 'no-leak' is used twice"),
        ("[explain]\nseed = 0\n", "has no [[rule]]"),
    ],
)
def test_bad_policy_file(leak_files, tmp_path, text, expected):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    report = tmp_path / "r.json"
    out = invoke(base(leak_files) + ["--policy", bad, "--report", report])
    assert_policy_error(out, f"policy file {bad}", expected)
    assert not report.exists()


@pytest.mark.parametrize(
    "setting, flag",
    [
        ("num_samples = 1", ["-n", "400"]),
        ("num_features = 0", ["-k", "5"]),
        ("seed = -3", ["--seed", "1"]),
        ("min_fidelity = nan", ["--min-fidelity", "0.1"]),
        ("max_inconclusive = 2", ["--max-inconclusive", "0.5"]),
        ('preset = "limey"', ["--preset", "lime"]),
    ],
)
def test_policy_value_is_checked_even_when_a_flag_overrides_it(leak_files, tmp_path, setting, flag):
    bad = tmp_path / "bad.toml"
    bad.write_text(f"[explain]\n{setting}\n" + GOOD_RULE)
    out = invoke(base(leak_files) + flag + ["--policy", bad])
    key = setting.split(" =")[0]
    assert_policy_error(out, f"policy file {bad}: [explain] {key} must be")
    assert f"--{key.replace('_', '-')}" not in out.stderr  # names the policy's key, not an option


def test_valid_policy_settings_are_accepted(leak_files, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(
        "[explain]\nnum_samples = 300\nnum_features = 3\nseed = 2\nmin_fidelity = -1\n"
        'max_inconclusive = 1\npreset = "lime"\n'
        + rule_with('severity = "warning"', "top_k = 2", "max_share = 1", "max_weight_share = 0")
    )
    out = invoke(
        ["check", "-m", leak_files / "clean.joblib", "-d", leak_files / "train.csv", "-t", "target"]
        + ["--rows", leak_files / "test.csv", "--policy", good]
    )
    assert out.exit_code == 0, out.stderr


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


# -- rules naming a column in neither the model nor the data ----------------------------------------


@pytest.fixture(scope="module")
def leak_explainer(leak_files):
    """An explainer file of the clean model (no `leak`) and rows without `leak`."""
    d = leak_files
    out = invoke(["fit", "-d", d / "train.csv", "-t", "target", "-m", d / "clean.joblib", "-o", d / "e.json"])
    assert out.exit_code == 0, out.stderr
    import pandas as pd

    pd.read_csv(d / "test.csv").drop(columns="leak").to_csv(d / "test-noleak.csv", index=False)
    return d / "e.json", d / "test-noleak.csv"


def policy_file(tmp_path, rule: str):
    path = tmp_path / "p.toml"
    path.write_text(rule)
    return path


def warning_lines(out) -> list[str]:
    return [line for line in out.stderr.splitlines() if line.startswith("Warning: ")]


@pytest.mark.parametrize(
    "model, rule, flags, expected",
    [
        # a typo of a model feature: the closest feature is named
        (
            "clean.joblib",
            rule_with('id = "no-texture"', 'features = ["mean textur"]'),
            [],
            "rule 'no-texture' names column 'mean textur', which is neither a feature of the model nor a "
            "column of the data (did you mean 'mean texture'?); the rule passes whatever the model does",
        ),
        # case differs: still found
        ("clean.joblib", rule_with('features = ["MEAN AREA"]'), [], "(did you mean 'mean area'?)"),
        # nothing close: no suggestion
        (
            "leaky.joblib",
            rule_with('features = ["leak", "zip_code"]'),
            [],
            "names column 'zip_code', which is neither a feature of the model nor a column of the data; ",
        ),
        # a require rule on such a column cannot pass
        (
            "clean.joblib",
            rule_with('kind = "require"', 'features = ["mean radiuss"]'),
            [],
            "(did you mean 'mean radius'?); the rule cannot pass",
        ),
        # rules given by flags
        (
            "clean.joblib",
            None,
            ["--forbid", "sexx"],
            "--forbid names column 'sexx', which is neither a feature of the model nor a column of the data",
        ),
        ("clean.joblib", None, ["--require", "mean areaa"], "--require names column 'mean areaa'"),
    ],
)
def test_rule_on_an_unknown_column_warns(leak_files, tmp_path, model, rule, flags, expected):
    args = base(leak_files, model) + flags
    if rule is not None:
        args += ["--policy", policy_file(tmp_path, rule)]
    out = invoke(args)
    assert out.exit_code in (0, 1), out.stderr
    (line,) = warning_lines(out)
    assert expected in line, line
    if rule is not None:
        assert line.startswith(f"Warning: policy file {tmp_path / 'p.toml'}: rule ")
    assert "verdict:" in out.stderr  # the rows were explained and the rules checked


@pytest.mark.parametrize(
    "model, features",
    [
        ("clean.joblib", ["mean texture"]),  # a model feature
        ("clean.joblib", ["leak"]),  # in the data (and the rows), not a feature of this model
        ("clean.joblib", ["target"]),  # the label column of --data
    ],
)
def test_rule_on_a_known_column_does_not_warn(leak_files, tmp_path, model, features):
    rule = rule_with(f"features = {json.dumps(features)}")
    out = invoke(base(leak_files, model) + ["--policy", policy_file(tmp_path, rule)])
    assert out.exit_code in (0, 1), out.stderr
    assert warning_lines(out) == []
    assert "verdict:" in out.stderr


def test_column_only_in_the_rows_file_does_not_warn(leak_files, tmp_path):
    import pandas as pd

    rows = tmp_path / "rows.csv"
    pd.read_csv(leak_files / "test.csv").assign(batch=1).to_csv(rows, index=False)
    args = ["check", "-m", leak_files / "clean.joblib", "-d", leak_files / "train.csv", "-t", "target"]
    out = invoke(args + ["--rows", rows, *FAST, "--forbid", "batch"])
    assert out.exit_code == 0, out.stderr
    assert warning_lines(out) == []


@pytest.mark.parametrize(
    "column, warns", [("leak", True), ("mean texture", False), ("mean textur", True), ("batch", False)]
)
def test_unknown_columns_with_an_explainer_file(leak_files, leak_explainer, tmp_path, column, warns):
    # "the data" is the explainer file's features and the rows' columns: `leak` is only in train.csv
    import pandas as pd

    explainer, rows = leak_explainer
    with_batch = tmp_path / "rows.csv"
    pd.read_csv(rows).assign(batch=1).to_csv(with_batch, index=False)
    args = ["check", "-m", leak_files / "clean.joblib", "--explainer", explainer, "--rows", with_batch, *FAST]
    out = invoke(args + ["--forbid", column, "--max-share", 1])
    assert out.exit_code == 0, out.stderr
    lines = warning_lines(out)
    assert len(lines) == warns, out.stderr
    if warns:
        assert f"--forbid names column {column!r}" in lines[0]
    strict = invoke(args + ["--forbid", column, "--max-share", 1, "--strict"])
    assert strict.exit_code == (2 if warns else 0), strict.stderr


@pytest.mark.parametrize(
    "rule, flags, expected",
    [
        (
            rule_with('id = "no-texture"', 'features = ["mean textur"]'),
            [],
            "rule 'no-texture' names column 'mean textur', which is neither a feature of the model nor a "
            "column of the data (did you mean 'mean texture'?)",
        ),
        (None, ["--forbid", "leak", "--forbid", "sexx"], "--forbid names column 'sexx'"),
        (None, ["--require", "zip_code"], "--require names column 'zip_code'"),
    ],
)
def test_strict_makes_an_unknown_column_an_error(leak_files, tmp_path, rule, flags, expected):
    report = tmp_path / "r.xml"
    args = base(leak_files, "clean.joblib") + flags + ["--strict", "--report", report]
    if rule is not None:
        args += ["--policy", policy_file(tmp_path, rule)]
    out = invoke(args, env={"GITHUB_ACTIONS": "true"})
    assert out.exit_code == 2, out.stderr
    (line,) = out.stderr.splitlines()
    assert line.startswith("Error: ") and expected in line, line
    assert out.stdout == "" and not report.exists()


def test_strict_passes_when_every_column_is_known(leak_files):
    out = invoke(base(leak_files, "clean.joblib") + ["--forbid", "leak", "--strict"])
    assert out.exit_code == 0, out.stderr
    assert warning_lines(out) == [] and "verdict: passed" in out.stderr


def test_unknown_columns_by_hand():
    from lime_cli.check import unknown_columns

    rules = [
        Rule("a", "forbid", ["sex", "sexx", "zip", "id"]),
        Rule("b", "require", ["Income"]),
    ]
    got = unknown_columns(rules, ["sex", "income", "age"], ["sex", "income", "age", "id", "y"])
    assert [(r.id, c, s) for r, c, s in got] == [
        ("a", "sexx", "sex"),
        ("a", "zip", None),
        ("b", "Income", "income"),
    ]


# -- a gate people can adopt on day one --------------------------------------------------------


def test_dominant_rule_catches_a_leak_it_was_not_told_about(leak_files, tmp_path):
    out = invoke(base(leak_files) + ["--dominant", "--report", tmp_path / "r.json"])
    assert out.exit_code == 1, out.stderr
    (rule,) = json.loads((tmp_path / "r.json").read_text())["rules"]
    assert rule["kind"] == "dominant" and not rule["passed"]
    assert rule["message"].startswith("leak takes") and rule["offenders"][0]["feature"] == "leak"
    assert set(rule["would_pass_with"]) <= {"max_weight_share", "max_first_share"} and rule["would_pass_with"]
    assert "passes with max_" in out.stderr.replace("\n", " ")
    clean = invoke(base(leak_files, "clean.joblib") + ["--dominant"])
    assert clean.exit_code == 0, clean.stderr


def test_a_dominant_policy_rule(leak_files, tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text(
        '[[rule]]\nid = "no-leak"\nkind = "dominant"\nmax_weight_share = 0.95\nmax_first_share = 1.0\n'
    )
    assert invoke(base(leak_files) + ["--policy", policy]).exit_code == 0  # loose enough to let it pass
    policy.write_text('[[rule]]\nid = "x"\nkind = "dominant"\nmin_share = 0.5\n')
    out = invoke(base(leak_files) + ["--policy", policy])
    assert out.exit_code == 2 and "min_share does not apply to a dominant rule" in out.stderr


def test_rules_on_columns_the_model_does_not_take_explain_nothing(leak_files, tmp_path):
    out = invoke(base(leak_files, "clean.joblib") + ["--forbid", "leak", "--report", tmp_path / "r.json"])
    assert out.exit_code == 0, out.stderr
    assert out.stderr.startswith("no rule needs an explanation")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rows"] == 0 and report["rules"][0]["message"] == "leak: not among the model's features"


@pytest.fixture(scope="module")
def adult_like_models(tmp_path_factory):
    """bench/gate.py's Adult-like table: a model that merely uses `sex`, and one that relies on it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import gate

    d = tmp_path_factory.mktemp("adult")
    for name, effect in (("ordinary", 0.15), ("relies", 2.5)):
        train = gate.adult_like(3000, effect, seed=1)
        joblib.dump(gate.pipeline(train), d / f"{name}.joblib")
        train.to_csv(d / f"{name}-train.csv", index=False)
        gate.adult_like(60, effect, seed=2).drop(columns="income").to_csv(d / f"{name}-rows.csv", index=False)
    return d


@pytest.mark.parametrize("name, code", [("ordinary", 0), ("relies", 1)])
def test_default_forbid_rule_separates_relying_from_using(adult_like_models, name, code):
    d = adult_like_models
    args = ["check", "-m", d / f"{name}.joblib", "-d", d / f"{name}-train.csv", "-t", "income"]
    out = invoke(args + ["--rows", d / f"{name}-rows.csv", "-n", 1000, "--forbid", "sex"])
    assert out.exit_code == code, out.stderr
    if code:  # the failure says which flags would let it pass
        assert re.search(r"passes with --max-share 0\.\d\d", out.stderr.replace("\n", " ")), out.stderr


def test_an_unknown_label_names_the_option_not_the_rows_file(leak_files):
    d = leak_files
    args = [
        "explain",
        "-m",
        d / "leaky.joblib",
        "-d",
        d / "train.csv",
        "-t",
        "target",
        "--rows",
        d / "test.csv",
    ]
    out = invoke(args + ["--label", "7", *FAST])
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: --label '7' is not a class of the model (classes: 0, 1)"), out.stderr
