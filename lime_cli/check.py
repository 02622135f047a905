"""`lime check`: a CI gate on what a model's explanations rely on.

A policy lists rules; each is checked against the explanations of a set of
rows.  Rows whose explanation has low fidelity (weighted R² below
``min_fidelity``) are *inconclusive*: they are left out of the rules, and when
more than ``max_inconclusive`` of the rows are inconclusive the verdict is
"inconclusive" unless an error rule already failed on the conclusive rows.

Policy file (TOML)::

    [explain]                 # optional: explanation settings
    num_samples = 2000
    num_features = 5
    seed = 0
    min_fidelity = 0.3        # below: the row is inconclusive
    max_inconclusive = 0.2    # above this share of rows: verdict inconclusive

    [[rule]]
    id = "no-protected-attributes"
    kind = "forbid"           # the features must not drive predictions
    features = ["sex", "race"]
    top_k = 5                 # "drives" = among the row's first top_k features (default: num_features)
    max_share = 0.0           # fails if more than this share of rows have one in their top_k
    max_weight_share = 0.2    # optional: fails if they take more than this share of all |weight|
    severity = "error"        # "error" fails the check (exit 1); "warning" is reported only

    [[rule]]
    id = "uses-income"
    kind = "require"          # the features must matter
    features = ["income"]
    min_share = 0.5           # fails if fewer than this share of rows have one in their top_k
    severity = "warning"

Exit codes: 0 every error rule passed; 1 an error rule failed; 2 usage or
input error; 3 inconclusive.
"""

from __future__ import annotations

import json
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import DataError, ParameterError
from .explainer import Explanation

EXIT_PASS, EXIT_FAIL, EXIT_INCONCLUSIVE = 0, 1, 3
KINDS = ("forbid", "require")
SEVERITIES = ("error", "warning")
EXPLAIN_KEYS = {"num_samples", "num_features", "seed", "min_fidelity", "max_inconclusive", "preset"}


@dataclass
class Rule:
    id: str
    kind: str
    features: list[str]
    severity: str = "error"
    top_k: int | None = None
    max_share: float = 0.0
    max_weight_share: float | None = None
    min_share: float = 0.5


@dataclass
class Policy:
    rules: list[Rule]
    explain: dict = field(default_factory=dict)

    @property
    def min_fidelity(self) -> float | None:
        return self.explain.get("min_fidelity")

    @property
    def max_inconclusive(self) -> float:
        return float(self.explain.get("max_inconclusive", 0.2))


@dataclass
class Offender:
    row: int
    label: str | None
    feature: str
    rank: int
    weight: float


@dataclass
class RuleResult:
    id: str
    kind: str
    severity: str
    features: list[str]
    passed: bool
    message: str
    offenders: list[Offender] = field(default_factory=list)


@dataclass
class Report:
    results: list[RuleResult]
    rows: int
    inconclusive_rows: list[int]
    max_inconclusive: float

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "error"]

    @property
    def inconclusive(self) -> bool:
        return self.rows > 0 and len(self.inconclusive_rows) / self.rows > self.max_inconclusive

    @property
    def exit_code(self) -> int:
        if self.failed:
            return EXIT_FAIL
        return EXIT_INCONCLUSIVE if self.inconclusive else EXIT_PASS

    @property
    def verdict(self) -> str:
        return {EXIT_PASS: "passed", EXIT_FAIL: "failed", EXIT_INCONCLUSIVE: "inconclusive"}[self.exit_code]

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "rows": self.rows,
            "inconclusive_rows": self.inconclusive_rows,
            "max_inconclusive": self.max_inconclusive,
            "rules": [asdict(r) for r in self.results],
        }


# -- policy -----------------------------------------------------------------------------


def load_policy(path: str | Path) -> Policy:
    """Read and validate a TOML policy; errors name the file and the rule."""
    p = Path(path)
    if p.is_dir():
        raise DataError(f"policy file {p} is a directory")
    if not p.is_file():
        raise DataError(f"policy file {p} does not exist")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"policy file {p} is not valid TOML ({exc})") from None
    explain = doc.get("explain", {})
    if not isinstance(explain, dict) or set(explain) - EXPLAIN_KEYS:
        unknown = sorted(set(explain) - EXPLAIN_KEYS) if isinstance(explain, dict) else ["?"]
        raise DataError(f"policy file {p}: unknown [explain] setting(s) {', '.join(unknown)}")
    for key, value in explain.items():
        numeric = key != "preset"
        ok = (
            isinstance(value, str)
            if not numeric
            else isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        if key == "num_samples" and value == "auto":
            ok = True
        if not ok:
            raise DataError(f"policy file {p}: [explain] {key} must be a {'number' if numeric else 'name'}")
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        raise DataError(f"policy file {p}: rules are [[rule]] tables (an array), not one [rule]")
    rules = [parse_rule(r, f"policy file {p}") for r in raw_rules]
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise DataError(f"policy file {p}: rule ids must be unique")
    if not rules:
        raise DataError(f"policy file {p} has no [[rule]]")
    return Policy(rules=rules, explain=explain)


def parse_rule(raw: dict, where: str) -> Rule:
    if not isinstance(raw, dict) or "id" not in raw:
        raise DataError(f"{where}: every [[rule]] needs an id")
    rid = str(raw["id"])
    known = {f.name for f in Rule.__dataclass_fields__.values()}
    unknown = set(raw) - known
    if unknown:
        raise DataError(f"{where}: rule {rid!r} has unknown key(s) {', '.join(sorted(unknown))}")
    try:
        rule = Rule(**raw)
    except TypeError as exc:
        raise DataError(f"{where}: rule {rid!r}: {exc}") from None
    if rule.kind not in KINDS:
        raise DataError(f"{where}: rule {rid!r}: kind must be forbid or require, not {rule.kind!r}")
    if rule.severity not in SEVERITIES:
        raise DataError(f"{where}: rule {rid!r}: severity must be error or warning, not {rule.severity!r}")
    if (
        not isinstance(rule.features, list)
        or not rule.features
        or not all(isinstance(f, str) for f in rule.features)
    ):
        raise DataError(f"{where}: rule {rid!r}: features must be a non-empty list of column names")
    for name in ("max_share", "min_share", "max_weight_share"):
        v = getattr(rule, name)
        if v is not None and (isinstance(v, bool) or not (isinstance(v, (int, float)) and 0 <= v <= 1)):
            raise DataError(f"{where}: rule {rid!r}: {name} must be a share between 0 and 1")
    if rule.top_k is not None and (
        isinstance(rule.top_k, bool) or not (isinstance(rule.top_k, int) and rule.top_k >= 1)
    ):
        raise DataError(f"{where}: rule {rid!r}: top_k must be a whole number >= 1")
    return rule


def policy_from_flags(
    forbid: list[str], require: list[str], max_share: float, min_share: float, top_k: int | None
) -> list[Rule]:
    """Rules given on the command line: one forbid and one require rule (errors)."""
    rules = []
    if forbid:
        rules.append(
            Rule(id="forbid", kind="forbid", features=list(forbid), top_k=top_k, max_share=max_share)
        )
    if require:
        rules.append(
            Rule(id="require", kind="require", features=list(require), top_k=top_k, min_share=min_share)
        )
    for r in rules:
        parse_rule(asdict(r), "command line")
    return rules


# -- evaluation --------------------------------------------------------------------------------


def evaluate(
    rules: list[Rule],
    explanations: list[Explanation],
    *,
    num_features: int,
    feature_names: list[str],
    max_inconclusive: float = 0.2,
) -> Report:
    """Check ``rules`` against ``explanations`` (low-fidelity ones are inconclusive)."""
    conclusive = [e for e in explanations if not e.low_fidelity]
    inconclusive_rows = sorted({e.row for e in explanations if e.low_fidelity})
    results = [_evaluate_rule(rule, conclusive, num_features, feature_names) for rule in rules]
    rows = len({e.row for e in explanations})
    return Report(results, rows, inconclusive_rows, max_inconclusive)


def _evaluate_rule(rule: Rule, exps: list[Explanation], num_features: int, feature_names) -> RuleResult:
    k = rule.top_k or num_features
    present = [f for f in rule.features if f in feature_names]
    if not present:  # the model cannot rely on a column it does not take, nor use one it must
        return RuleResult(
            rule.id,
            rule.kind,
            rule.severity,
            list(rule.features),
            rule.kind == "forbid",
            f"{', '.join(rule.features)}: not among the model's features",
        )
    targets = set(present)
    hits: list[Offender] = []
    rows_hit = set()
    target_weight = total_weight = 0.0
    for e in exps:
        total_weight += sum(abs(f.weight) for f in e.features)
        for rank, f in enumerate(e.features, start=1):
            if f.feature in targets:
                target_weight += abs(f.weight)
                if rank <= k:
                    hits.append(Offender(e.row, e.label, f.feature, rank, f.weight))
                    rows_hit.add((e.row, e.label))
    n = len(exps)
    share = len(rows_hit) / n if n else 0.0
    weight_share = target_weight / total_weight if total_weight > 0 else 0.0
    names = ", ".join(rule.features)
    if rule.kind == "forbid":
        too_many = share > rule.max_share
        too_heavy = rule.max_weight_share is not None and weight_share > rule.max_weight_share
        passed = not (too_many or too_heavy)
        message = (
            f"{names} in the top {k} of {len(rows_hit)} of {n} rows ({share:.1%}, allowed "
            f"{rule.max_share:.1%}); {weight_share:.1%} of all |weight|"
            + (f" (allowed {rule.max_weight_share:.1%})" if rule.max_weight_share is not None else "")
        )
        offenders = sorted(hits, key=lambda o: -abs(o.weight))
    else:
        passed = n > 0 and share >= rule.min_share
        message = (
            f"{names} in the top {k} of {len(rows_hit)} of {n} rows ({share:.1%}, required "
            f"{rule.min_share:.1%})"
        )
        hit_rows = {(o.row, o.label) for o in hits}
        offenders = [Offender(e.row, e.label, "", 0, 0.0) for e in exps if (e.row, e.label) not in hit_rows]
    return RuleResult(rule.id, rule.kind, rule.severity, list(rule.features), passed, message, offenders)


# -- reports ----------------------------------------------------------------------------------


def _offender_text(r: RuleResult, limit: int = 10) -> str:
    if r.kind == "require":
        rows = ", ".join(str(o.row) for o in r.offenders[:limit])
        return f"rows without it: {rows}" + (" ..." if len(r.offenders) > limit else "")
    lines = [
        f"row {o.row}{'' if o.label is None else f' (label {o.label})'}: {o.feature} rank {o.rank}, "
        f"weight {o.weight:+.4f}"
        for o in r.offenders[:limit]
    ]
    if len(r.offenders) > limit:
        lines.append(f"... and {len(r.offenders) - limit} more")
    return "\n".join(lines)


def junit_xml(report: Report) -> str:
    """JUnit XML: one testcase per rule; failures list the worst rows."""
    suite = ET.Element(
        "testsuite",
        name="lime check",
        tests=str(len(report.results)),
        failures=str(sum(not r.passed and r.severity == "error" for r in report.results)),
        errors="0",
        skipped="0",
    )
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"lime.check.{r.kind}", name=r.id)
        if not r.passed:
            tag = "failure" if r.severity == "error" else "system-out"
            node = ET.SubElement(case, tag)
            if tag == "failure":
                node.set("message", r.message)
                node.set("type", r.kind)
                node.text = _offender_text(r)
            else:
                node.text = f"warning: {r.message}\n{_offender_text(r)}"
    if report.inconclusive_rows:
        out = ET.SubElement(suite, "system-out")
        out.text = (
            f"{len(report.inconclusive_rows)} of {report.rows} rows inconclusive (low fidelity): "
            + ", ".join(map(str, report.inconclusive_rows[:50]))
        )
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def json_report(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def github_annotations(report: Report) -> list[str]:
    """GitHub Actions workflow commands (printed to stdout under GITHUB_ACTIONS=true)."""
    out = []
    for r in report.results:
        if not r.passed:
            level = "error" if r.severity == "error" else "warning"
            text = f"{r.message}. " + _offender_text(r, limit=3).replace("\n", "; ")
            out.append(f"::{level} title=lime check: {r.id}::{_escape(text)}")
    if report.inconclusive:
        out.append(
            f"::warning title=lime check: inconclusive::{len(report.inconclusive_rows)} of {report.rows} "
            "rows have low-fidelity explanations"
        )
    return out


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def write_report(report: Report, path: str) -> None:
    """--report FILE.xml (JUnit) or FILE.json, written atomically."""
    from .io import AtomicFile

    suffix = Path(path).suffix.lower()
    if suffix not in (".xml", ".json"):
        raise ParameterError(f"--report {path}: use a .xml (JUnit) or .json file")
    text = junit_xml(report) if suffix == ".xml" else json_report(report)
    with AtomicFile(path) as handle:
        handle.write(text)
