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
    preset = "default"        # or "lime"

    [[rule]]
    id = "no-protected-attributes"
    kind = "forbid"           # the features must not drive predictions
    features = ["sex", "race"]
    top_k = 5                 # "drives" = among the row's first top_k features (default: num_features)
    max_share = 0.0           # fails if more than this share of rows have one in their top_k
    max_weight_share = 0.2    # optional: fails if they take more than this share of all |weight|
    severity = "error"        # "error" fails the check (exit 1); "warning" is reported only

    [[rule]]
    id = "no-identity-terms"  # a text model (lime check --text COLUMN)
    kind = "forbid"
    words = ["muslim", "gay", "black"]  # words of a text column, as the model tokenizes them

    [[rule]]
    id = "uses-income"
    kind = "require"          # the features must matter
    features = ["income"]
    min_share = 0.5           # fails if fewer than this share of rows have one in their top_k
    severity = "warning"

The policy is validated when it is read, whatever the command line overrides:
a table or key other than those above is an error (naming the closest valid
one), and so is a value of the wrong type or out of range (``num_samples`` an
integer from 2 to ``lime_cli.settings.MAX_SAMPLES`` or ``"auto"``, ``num_features`` >= 1,
``seed`` >= 0, ``min_fidelity`` a finite number, shares in [0, 1], ``top_k``
>= 1; booleans are not numbers).  Each error is one line naming the file, the
rule and the key.

A rule naming a column that is neither a feature of the model nor a column
of the data (the training table or explainer file, and the rows) is most
likely a typo: ``lime check`` warns before explaining any row, and
``--strict`` makes it an error (:func:`unknown_columns`).  A column of the
data that the model does not take is fine: a forbid rule on it passes.

Exit codes: 0 every error rule passed; 1 an error rule failed; 2 usage or
input error; 3 inconclusive.
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import DataError, ParameterError
from .schema import Explanation, feature_key
from .settings import problem as settings_problem

EXIT_PASS, EXIT_FAIL, EXIT_INCONCLUSIVE = 0, 1, 3
KINDS = ("forbid", "require", "dominant")

#: The defaults of a rule, chosen in bench/GATE.md: on an Adult-like table, a model that merely
#: uses `sex` (2% of all |weight|) has it in the top 3 of 2% of the rows, one that relies on it
#: in 96% of them (in the top 10: 49% and 100%, which is why "anywhere in the list" fails both).
DEFAULT_TOP_K = 3
DEFAULT_FORBID_MAX_SHARE = 0.1
DEFAULT_REQUIRE_MIN_SHARE = 0.5
#: A dominant feature (a leak, usually): more than half of all |weight|, or first in 90% of rows.
#: The strongest feature of either model above takes 33-34% and leads 59-72% of the rows.
DEFAULT_DOMINANT_WEIGHT_SHARE = 0.5
DEFAULT_DOMINANT_FIRST_SHARE = 0.9
SEVERITIES = ("error", "warning")
EXPLAIN_KEYS = {"num_samples", "num_features", "seed", "min_fidelity", "max_inconclusive", "preset"}


@dataclass
class Rule:
    """One rule of a policy; ``None`` means the kind's default (see the DEFAULT_ constants)."""

    id: str
    kind: str
    features: list[str] = field(default_factory=list)  # dominant: the features watched (default all)
    words: list[str] = field(default_factory=list)  # words of text columns, as tokenized
    severity: str = "error"
    top_k: int | None = None
    max_share: float | None = None
    max_weight_share: float | None = None
    min_share: float | None = None
    max_first_share: float | None = None


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
    #: settings of the rule under which the verdict would change (key -> value), when it failed
    would_pass_with: dict = field(default_factory=dict)


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
    """Read and validate a TOML policy: every table, key and value.

    Errors name the file, the table or rule, and the key at fault (with the
    closest valid name for an unknown one).
    """
    p = Path(path)
    if p.is_dir():
        raise DataError(f"policy file {p} is a directory")
    if not p.is_file():
        raise DataError(f"policy file {p} does not exist")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"policy file {p} is not valid TOML ({exc})") from None
    where = f"policy file {p}"
    for key, value in doc.items():
        if key not in TOP_LEVEL:
            hint = _did_you_mean(key, TOP_LEVEL, lambda k: TOP_LEVEL[k])
            raise DataError(f"{where}: unknown {_top_level_name(key, value)}{hint}")
    explain = doc.get("explain", {})
    if not isinstance(explain, dict):
        raise DataError(f"{where}: explain must be a table [explain], not {_show(explain)}")
    for key, value in explain.items():
        if key not in EXPLAIN_KEYS:
            raise DataError(f"{where}: [explain] unknown key {key}{_did_you_mean(key, EXPLAIN_KEYS)}")
        problem = _explain_value_problem(key, value)
        if problem:
            raise DataError(f"{where}: [explain] {key} {problem}, not {_show(value)}")
    raw_rules = doc.get("rule", [])
    if isinstance(raw_rules, dict):
        raise DataError(f"{where}: rules are [[rule]] tables (an array), not one [rule]")
    if not isinstance(raw_rules, list):
        raise DataError(f"{where}: rule must be [[rule]] tables, not {_show(raw_rules)}")
    rules = [parse_rule(r, where, number=i) for i, r in enumerate(raw_rules, start=1)]
    seen = set()
    for r in rules:
        if r.id in seen:
            raise DataError(f"{where}: rule ids must be unique: {r.id!r} is used twice")
        seen.add(r.id)
    if not rules:
        raise DataError(f"policy file {p} has no [[rule]]")
    return Policy(rules=rules, explain=explain)


#: The top-level tables of a policy, as they are written.
TOP_LEVEL = {"explain": "[explain]", "rule": "[[rule]]"}


def _top_level_name(key: str, value: object) -> str:
    if isinstance(value, dict):
        return f"table [{key}]"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return f"table [[{key}]]"
    return f"key {key}"


def _closest(name: str, valid) -> str | None:
    """The valid name closest to ``name`` (difflib; then ignoring case), or None."""
    match = difflib.get_close_matches(name, sorted(valid), n=1)
    if match:
        return match[0]
    lowered = {v.lower(): v for v in sorted(valid)}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1)
    return lowered[match[0]] if match else None


def _did_you_mean(name: str, valid, show=lambda k: k) -> str:
    """`` (did you mean X?)`` for the valid name closest to ``name``, or nothing."""
    match = _closest(name, valid)
    return f" (did you mean {show(match)}?)" if match is not None else ""


def _show(value: object) -> str:
    """A TOML value as the user wrote it: strings quoted, booleans lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    return json.dumps(value, default=str, ensure_ascii=False)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _explain_value_problem(key: str, v: object) -> str | None:
    """What is wrong with ``[explain] key = v`` ("must be ..."), or None: the method's own
    checks (:func:`lime_cli.settings.problem`), and the share of inconclusive rows."""
    if key == "max_inconclusive":
        return None if _is_number(v) and 0 <= v <= 1 else "must be a share between 0 and 1"
    return settings_problem(key, v)


#: The keys of a [[rule]].
RULE_KEYS = tuple(Rule.__dataclass_fields__)
_SHARES = ("max_share", "min_share", "max_weight_share", "max_first_share")


def parse_rule(raw: dict, where: str, number: int | None = None) -> Rule:
    """Validate one ``[[rule]]`` table (``number``: its position in the file, from 1)."""
    what = "[[rule]]" if number is None else f"[[rule]] number {number}"
    if not isinstance(raw, dict):
        raise DataError(f"{where}: {what} must be a table, not {_show(raw)}")
    if "id" not in raw:
        raise DataError(f"{where}: {what} has no id (every [[rule]] needs one)")
    rid = raw["id"]
    if not isinstance(rid, str) or not rid:
        raise DataError(f"{where}: {what}: id must be a non-empty string, not {_show(rid)}")
    at = f"{where}: rule {rid!r}"
    for key in raw:
        if key not in RULE_KEYS:
            raise DataError(f"{at}: unknown key {key}{_did_you_mean(key, RULE_KEYS)}")
    if "kind" not in raw:
        raise DataError(f"{at}: kind is missing (forbid, require or dominant)")
    kind = raw["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise DataError(f'{at}: kind must be "forbid", "require" or "dominant", not {_show(kind)}')
    if "features" not in raw and "words" not in raw and kind != "dominant":
        raise DataError(f"{at}: features is missing (a list of column names; or words, for text)")
    if "words" in raw:
        words = raw["words"]
        if kind == "dominant":
            raise DataError(f"{at}: words does not apply to a dominant rule (it watches every feature)")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise DataError(f"{at}: words must be a non-empty list of words (strings), not {_show(words)}")
    severity = raw.get("severity", "error")
    if not isinstance(severity, str) or severity not in SEVERITIES:
        raise DataError(f'{at}: severity must be "error" or "warning", not {_show(severity)}')
    if "features" in raw:
        features = raw["features"]
        if isinstance(features, str):
            raise DataError(
                f"{at}: features must be a list of column names, not {_show(features)} "
                f"(write features = [{_show(features)}])"
            )
        if not isinstance(features, list) or not features:
            raise DataError(f"{at}: features must be a non-empty list of column names, not {_show(features)}")
        for f in features:
            if not isinstance(f, str):
                raise DataError(f"{at}: features must be column names (strings), not {_show(f)}")
    for key in _SHARES:
        v = raw.get(key)
        if v is not None and (not _is_number(v) or not 0 <= v <= 1):
            raise DataError(f"{at}: {key} must be a share between 0 and 1, not {_show(v)}")
    top_k = raw.get("top_k")
    if top_k is not None and (not _is_int(top_k) or top_k < 1):
        raise DataError(f"{at}: top_k must be an integer >= 1, not {_show(top_k)}")
    wrong = {"forbid": ("min_share", "max_first_share"), "require": ("max_share", "max_weight_share",
             "max_first_share"), "dominant": ("max_share", "min_share", "top_k")}[kind]  # fmt: skip
    for key in wrong:
        if raw.get(key) is not None:
            raise DataError(f"{at}: {key} does not apply to a {kind} rule")
    return Rule(**raw)


def policy_from_flags(
    forbid: list[str],
    require: list[str],
    max_share: float | None = None,
    min_share: float | None = None,
    top_k: int | None = None,
    dominant: bool = False,
    forbid_words: list[str] = (),
) -> list[Rule]:
    """Rules given on the command line (``--forbid``, ``--require``, ``--dominant``,
    ``--forbid-word``): errors."""
    rules = []
    if forbid_words:
        rules.append(
            Rule(id="forbid-word", kind="forbid", words=list(forbid_words), top_k=top_k, max_share=max_share)
        )
    if forbid:
        rules.append(
            Rule(id="forbid", kind="forbid", features=list(forbid), top_k=top_k, max_share=max_share)
        )
    if require:
        rules.append(
            Rule(id="require", kind="require", features=list(require), top_k=top_k, min_share=min_share)
        )
    if dominant:
        rules.append(Rule(id="dominant", kind="dominant"))
    for r in rules:
        parse_rule({k: v for k, v in asdict(r).items() if v is not None and v != []}, "command line")
    return rules


def words_as_tokenized(rules: list[Rule], tokenizers) -> list[str]:
    """Put the words of ``rules`` the way the text columns' ``tokenizers`` split and case them
    (``Muslim`` -> ``muslim`` for a lowercasing vectorizer), in place; returns a warning for each
    word that is not one word under any of them (``new york``: it can never match)."""
    problems = []
    for rule in rules:
        out = []
        for w in rule.words:
            forms = {tuple(t for _, _, t in tok.tokens(w)) for tok in tokenizers}
            single = sorted(f[0] for f in forms if len(f) == 1)
            if not single:
                problems.append(
                    f"rule {rule.id!r}: {w!r} is not one word as the model's text is split into words, "
                    "so it can never match"
                )
                out.append(w)
            else:
                out.extend(dict.fromkeys(single))
        rule.words = list(dict.fromkeys(out))
    return problems


def unknown_columns(
    rules: list[Rule], feature_names: list[str], columns
) -> list[tuple[Rule, str, str | None]]:
    """The columns rules name that are neither model features nor ``columns`` (of the data).

    Returns ``(rule, column, suggestion)`` items, in rule order; ``suggestion``
    is the model feature closest to the column, or None.  A forbid rule on
    such a column passes whatever the model does, so it is most likely a
    typo.  A column of the data that the model does not take is not
    returned: a forbid rule on it passes, rightly.
    """
    known = set(feature_names) | {str(c) for c in columns}
    out = []
    for rule in rules:
        for column in rule.features:
            if column not in known:
                out.append((rule, column, _closest(column, [str(f) for f in feature_names])))
    return out


def unknown_column_message(rule: Rule, column: str, suggestion: str | None, policy: str | Path | None) -> str:
    """One line about a rule's column that is in neither the model nor the data.

    ``policy`` is the policy file the rule comes from, None for a rule of
    ``--forbid`` or ``--require``.
    """
    hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
    origin = f"--{rule.kind}" if policy is None else f"policy file {policy}: rule {rule.id!r}"
    return (
        f"{origin} names column {column!r}, which is neither a feature of the model "
        f"nor a column of the data{hint}; the rule "
        + ("passes whatever the model does" if rule.kind == "forbid" else "cannot pass")
    )


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


def needs_explanations(rules: list[Rule], feature_names: list[str]) -> bool:
    """Whether any rule needs the rows explained: a rule whose columns the model does not take
    is decided without (forbid passes, require fails); a dominant rule always needs them."""
    return any(
        r.kind == "dominant" or r.words or any(f in feature_names for f in r.features) for r in rules
    )


def _evaluate_rule(rule: Rule, exps: list[Explanation], num_features: int, feature_names) -> RuleResult:
    if rule.kind == "dominant":
        return _evaluate_dominant(rule, exps, feature_names)
    k = rule.top_k or min(DEFAULT_TOP_K, num_features)
    present = [f for f in rule.features if f in feature_names]
    words = set(rule.words)
    if not present and not words:  # the model cannot rely on a column it does not take, nor use one it must
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
    best_rank: dict[tuple, int] = {}  # (row, label) -> the best rank of a target feature
    target_weight = total_weight = 0.0
    for e in exps:
        total_weight += sum(abs(f.weight) for f in e.features)
        for rank, f in enumerate(e.features, start=1):
            # a word: named by the rule, or of a column it names; else a column
            if (f.feature in words or f.column in targets) if f.spans is not None else f.feature in targets:
                target_weight += abs(f.weight)
                key = (e.row, e.label)
                best_rank[key] = min(best_rank.get(key, rank), rank)
                if rank <= k:
                    hits.append(Offender(e.row, e.label, f.feature, rank, f.weight))
    n = len(exps)

    def share_at(j: int) -> float:
        return sum(r <= j for r in best_rank.values()) / n if n else 0.0

    share = share_at(k)
    rows_hit = round(share * n)
    weight_share = target_weight / total_weight if total_weight > 0 else 0.0
    names = ", ".join([*rule.features, *(f'"{w}"' for w in rule.words)])
    would: dict = {}
    if rule.kind == "forbid":
        limit = DEFAULT_FORBID_MAX_SHARE if rule.max_share is None else rule.max_share
        too_many = share > limit
        too_heavy = rule.max_weight_share is not None and weight_share > rule.max_weight_share
        passed = not (too_many or too_heavy)
        message = (
            f"{names} in the top {k} of {rows_hit} of {n} rows ({share:.1%}, allowed "
            f"{limit:.1%}); {weight_share:.1%} of all |weight|"
            + (f" (allowed {rule.max_weight_share:.1%})" if rule.max_weight_share is not None else "")
        )
        offenders = sorted(hits, key=lambda o: -abs(o.weight))
        if too_many:
            would["max_share"] = math.ceil(share * 100) / 100
            smaller = [j for j in range(k - 1, 0, -1) if share_at(j) <= limit]
            if smaller:
                would["top_k"] = smaller[0]
        if too_heavy:
            would["max_weight_share"] = math.ceil(weight_share * 100) / 100
    else:
        limit = DEFAULT_REQUIRE_MIN_SHARE if rule.min_share is None else rule.min_share
        passed = n > 0 and share >= limit
        message = f"{names} in the top {k} of {rows_hit} of {n} rows ({share:.1%}, required {limit:.1%})"
        hit_rows = {(o.row, o.label) for o in hits}
        offenders = [Offender(e.row, e.label, "", 0, 0.0) for e in exps if (e.row, e.label) not in hit_rows]
        if not passed and n:
            if share > 0:
                would["min_share"] = math.floor(share * 100) / 100
            larger = [j for j in range(k + 1, num_features + 1) if share_at(j) >= limit]
            if larger:
                would["top_k"] = larger[0]
    return RuleResult(
        rule.id, rule.kind, rule.severity, [*rule.features, *rule.words], passed, message, offenders, would
    )


def _watched(f, watched: set | None) -> bool:
    """Whether a dominant rule watches feature ``f`` (a word: by its column)."""
    return watched is None or (f.column if f.spans is not None else f.feature) in watched


def _evaluate_dominant(rule: Rule, exps: list[Explanation], feature_names) -> RuleResult:
    """One feature takes more than ``max_weight_share`` of all |weight|, or leads more than
    ``max_first_share`` of the rows: a leak, most often (the label under another name)."""
    watched = set(rule.features) if rule.features else None  # None: every feature listed
    max_weight = DEFAULT_DOMINANT_WEIGHT_SHARE if rule.max_weight_share is None else rule.max_weight_share
    max_first = DEFAULT_DOMINANT_FIRST_SHARE if rule.max_first_share is None else rule.max_first_share
    weight: dict[str, float] = {}
    first: dict[str, int] = {}
    total = 0.0
    for e in exps:
        total += sum(abs(f.weight) for f in e.features)
        for f in e.features:
            if _watched(f, watched):
                weight[feature_key(f)] = weight.get(feature_key(f), 0.0) + abs(f.weight)
        if e.features and _watched(e.features[0], watched):
            first[feature_key(e.features[0])] = first.get(feature_key(e.features[0]), 0) + 1
    n = len(exps)
    shares = {f: w / total for f, w in weight.items()} if total > 0 else {}
    leads = {f: c / n for f, c in first.items()} if n else {}
    top = max(shares, key=lambda f: (shares[f], f), default=None)
    if top is None:
        return RuleResult(rule.id, rule.kind, rule.severity, list(rule.features), True, "no feature listed")
    leader = max(leads, key=lambda f: (leads[f], f), default=top)
    heavy, leading = shares[top] > max_weight, leads.get(leader, 0.0) > max_first
    culprit = top if heavy or not leading else leader
    message = (
        f"{culprit} takes {shares.get(culprit, 0.0):.1%} of all |weight| (allowed {max_weight:.0%}) and "
        f"leads {leads.get(culprit, 0.0):.1%} of {n} rows (allowed {max_first:.0%})"
    )
    would: dict = {}
    if heavy:
        would["max_weight_share"] = math.ceil(shares[top] * 100) / 100
    if leading:
        would["max_first_share"] = math.ceil(leads[leader] * 100) / 100
    offenders = [
        Offender(e.row, e.label, e.features[0].feature, 1, e.features[0].weight)
        for e in exps
        if e.features and feature_key(e.features[0]) == culprit
    ]
    offenders.sort(key=lambda o: -abs(o.weight))
    passed = not (heavy or leading)
    return RuleResult(
        rule.id, rule.kind, rule.severity, list(rule.features), passed, message, offenders, would
    )


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
