"""HTML reports: structure, escaping, no external reference, determinism, size, the CLI doors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from lime_cli import Explanation, ExplanationList, FeatureWeight, TextExplainer
from lime_cli.html import FULL, fragment, report
from lime_cli.schema import explanation_json

ROOT = Path(__file__).resolve().parent.parent
EVIL = '<script>alert("x")</script>'


class Page(HTMLParser):
    """Tags with their attributes, text, and what every id and link is."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str, cls: str | None = None) -> list[dict]:
        return [
            a for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())
        ]

    @property
    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if "id" in a}


def assert_self_contained(html: str) -> None:
    page = Page(html)
    assert not page.all("script") and not page.all("link") and not page.all("img") and not page.all("iframe")
    for _, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (name, value)
    assert "url(" not in html and "@import" not in html and "http://" not in html and "https://" not in html


def explanation(row: int, label="yes", features=None, **kw) -> Explanation:
    features = features or [
        FeatureWeight("age", "age > 40.00", 52.0, 0.31),
        FeatureWeight("income", "income <= 2.50", 1.2, -0.12),
    ]
    defaults = dict(model_prediction=0.8, local_prediction=0.77, intercept=0.4, score=0.7, fidelity_gap=0.03)
    return Explanation(row=row, label=label, features=features, num_samples=500, **(defaults | kw))


@pytest.fixture(scope="module")
def reviews():
    """Explanations of generated reviews by a TF-IDF model, and the documents."""
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(80)]
    docs, y = [], []
    for _ in range(300):
        words = list(rng.choice(vocab, rng.integers(5, 20)))
        label = int(rng.integers(0, 2))
        words.insert(int(rng.integers(0, len(words))), "excellent" if label else "awful")
        docs.append(" ".join(words))
        y.append(label)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10, max_iter=500)).fit(docs, y)
    exps = TextExplainer(model, num_samples=300, num_features=6).explain(docs[:40])
    return exps, {i: d for i, d in enumerate(docs[:40])}


def test_a_report_has_every_section_one_chart_per_explanation_and_no_external_reference(reviews):
    exps, docs = reviews
    html = report(exps, documents=docs, context={"model": "m.joblib"})
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>\n")
    assert_self_contained(html)
    page = Page(html)
    assert len(page.all("section", "e")) == len(exps)
    assert len(page.all("table", "chart")) == len(exps)
    assert len(page.all("svg", "heatmap")) == len({e.label for e in exps})
    for h2 in ("Overview", "Global view", "Cases × features", "Explanations", "Index"):
        assert f"<h2>{h2}</h2>" in html
    # every internal link lands on an element of the page
    targets = {a["href"][1:] for a in page.all("a") if a.get("href", "").startswith("#")}
    assert targets and targets <= page.ids
    # each explanation's words are marked in its document, once per occurrence, signed by class
    marks = page.all("mark")
    spans = sum(len(f.spans) for e in exps for f in e.features)
    assert len(marks) == spans
    assert {m["class"][0] for m in marks} <= {"p", "m"}


def test_a_word_is_marked_where_it_is_and_its_weight_shows_on_hover(reviews):
    exps, docs = reviews
    e = next(e for e in exps if e.features)
    html = fragment([e], {e.row: docs[e.row]})
    marked = re.findall(r'<mark class="([pm])\d" title="([^"]+)">([^<]*)</mark>', html)
    assert marked
    by_word = {f.feature: f for f in e.features}
    for cls, title, word in marked:
        f = by_word[word]
        assert (cls == "p") == (f.weight >= 0)
        assert title.replace("\u2212", "-") == f"{f.weight:+.4f}"


def test_strings_from_the_data_are_escaped():
    evil = explanation(
        3,
        label=EVIL,
        features=[
            FeatureWeight(EVIL, f"{EVIL} = {EVIL}", EVIL, 0.5),
            FeatureWeight("x", "x <= 1", 0.0, -0.1),
        ],
    )
    doc = f"before {EVIL} after"
    word = FeatureWeight("alert", 'text contains "alert"', 1, 0.2, column="text", spans=[[17, 22]])
    text = explanation(4, label=EVIL, features=[word])
    html = report([evil, text], documents={4: doc}, context={EVIL: EVIL}, title=EVIL)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert_self_contained(html)
    assert Page(html).all("mark")  # the word inside the escaped document is still marked


def test_the_same_explanations_give_the_same_bytes(reviews):
    exps, docs = reviews
    assert report(exps, documents=docs) == report(list(exps), documents=dict(docs))


def test_a_report_stays_within_its_size_budget(reviews):
    """At most 50 KB plus 4 KB per explanation shown in full."""
    exps, docs = reviews
    many = [Explanation(**{**e.__dict__, "row": e.row + 40 * k}) for k in range(8) for e in exps]  # 320
    docs = {e.row: docs[e.row % 40] for e in many}
    for full in (FULL, 20, 0):
        html = report(many, documents=docs, full=full)
        shown = len(Page(html).all("section", "e"))
        assert shown == min(full, len(many))
        assert len(html.encode()) <= 50 * 1024 + 4 * 1024 * shown


def test_a_notebook_shows_an_explanation_and_a_list_of_them(reviews):
    exps, _ = reviews
    assert isinstance(exps, ExplanationList)
    one, many = exps[0]._repr_html_(), exps._repr_html_()
    for html in (one, many):
        assert (
            html.startswith('<div class="lime-cli"><style>') and "<html" not in html and "<body" not in html
        )
        assert ":root" not in html and "body{" not in html  # the style is scoped to the fragment
        assert_self_contained(html)
    assert len(Page(one).all("section", "e")) == 1 and Page(many).all("svg", "heatmap")


def test_signs_are_said_in_words_and_by_position():
    html = report([explanation(0), explanation(1, score=0.05, low_fidelity=True)])
    page = Page(html)
    bars = page.all("i")
    assert [b["class"] for b in bars] == ["p", "m", "p", "m"]  # right of the axis, left of it
    assert html.count(">supports<") == 2 and html.count(">contradicts<") == 2
    assert "\u22120.1200" in html  # a true minus sign on the weight
    assert "1 of 2 of low fidelity" in html and 'href="#e1"' in html


def run(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "lime_cli", *args], cwd=ROOT, capture_output=True, text=True, **kw
    )


@pytest.mark.slow
def test_the_cli_writes_reports_from_explain_report_summary_and_check(tmp_path):
    model, rows = "sample_models/reviews_tfidf_lr.joblib", "sample_data/reviews.jsonl"
    common = ["--model", model, "--rows", rows, "--text", "review", "--num-samples", "500", "-q"]
    picked = [a for r in range(0, 60, 3) for a in ("--row", str(r))]
    out = tmp_path / "explain.html"
    p = run("explain", *common, *picked, "--format", "html", "--output", str(out))
    assert p.returncode == 0, p.stderr
    html = out.read_text()
    assert_self_contained(html)
    assert len(Page(html).all("section", "e")) == 20 and Page(html).all("mark")
    assert "sample_models/reviews_tfidf_lr.joblib" in html
    # the same bytes again: no timestamp
    again = tmp_path / "again.html"
    assert run("explain", *common, *picked, "-f", "html", "-o", str(again)).returncode == 0
    assert again.read_bytes() == out.read_bytes()

    jsonl = tmp_path / "e.jsonl"
    assert run("explain", *common, *picked, "-f", "jsonl", "-o", str(jsonl)).returncode == 0
    rep = tmp_path / "later.html"
    p = run("report", str(jsonl), "--rows", rows, "--text", "review", "-o", str(rep))
    assert p.returncode == 0, p.stderr
    later = Page(rep.read_text())
    assert len(later.all("section", "e")) == 20 and later.all("mark")
    p = run("summary", str(jsonl), "--format", "html")
    assert p.returncode == 0 and p.stdout.startswith("<!DOCTYPE html>") and "Global view" in p.stdout

    check = tmp_path / "check.html"
    p = run(
        "check",
        *common[:-1],
        *picked,
        "--forbid-word",
        "delicious",
        "--max-share",
        "0",
        "--report",
        str(check),
    )
    assert p.returncode == 1, p.stderr  # delicious leads some of these reviews
    html = check.read_text()
    assert "<h2>Check: <span" in html and "FAIL" in html
    page = Page(html)
    links = [a["href"][1:] for a in page.all("a") if a.get("href", "").startswith("#e")]
    assert links and set(links) <= page.ids  # the worst rows link to their explanations


def test_report_errors_are_one_line(tmp_path):
    jsonl = tmp_path / "e.jsonl"
    jsonl.write_text(json.dumps(explanation_json(explanation(7))) + "\n")
    cases = [
        (["report", str(jsonl), "--rows", "sample_data/reviews.jsonl"], "--rows and --text go together"),
        (["report", str(jsonl), "-o", str(jsonl)], "an input is never overwritten"),
        (["report", str(tmp_path / "nope.jsonl")], "nope.jsonl"),
        (
            ["report", str(jsonl), "--rows", "sample_data/reviews.jsonl", "--text", "body"],
            "'body' is not a column",
        ),
    ]
    for args, message in cases:
        p = run(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.startswith("Error: ") and message in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert jsonl.read_text().startswith("{")  # nothing lost


def test_hard_cases_render_and_every_link_and_id_holds():
    """Regression (no label), NaN numbers, labels that differ only by punctuation, a row explained
    for several labels, rows not shown in full: ids are unique and every link lands."""
    nan = float("nan")
    exps = [explanation(r, label=None, model_prediction=10.0 + r) for r in range(6)]  # regression
    exps += [explanation(0, label="a b"), explanation(0, label="a_b"), explanation(0, label="a b")]
    exps.append(explanation(9, features=[FeatureWeight("age", "age > 1", 2.0, nan)], fidelity_gap=nan))
    word = FeatureWeight("w", 'text contains "w"', 1, nan, column="text", spans=[[0, 1], [5, 99]])
    exps.append(explanation(10, features=[word]))
    html = report(exps, documents={10: "w and w"}, full=4)
    assert_self_contained(html)
    page = Page(html)
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids)) == 4  # one per explanation shown in full
    targets = [a["href"][1:] for a in page.all("a") if a.get("href", "").startswith("#")]
    assert targets and set(targets) <= set(ids)
    assert "<h3>regression</h3>" in html and ">undefined<" not in report([exps[-2]])[:0]
    one = fragment([exps[-2]])
    assert ">undefined<" in one and "nan" in one  # a NaN weight is neither supports nor contradicts
    assert report([]).count('<section class="e"') == 0 and "No explanation." in report([])


def test_a_fragment_styles_nothing_outside_itself(reviews):
    exps, _ = reviews
    css = re.search(r"<style>(.*?)</style>", exps._repr_html_()).group(1)
    selectors = re.findall(r"(?:^|[{}])([^{}@]+)\{", css)
    assert selectors
    for group in selectors:
        for sel in group.split(","):
            assert sel.strip().startswith(".lime-cli"), sel


def test_long_documents_and_many_features_stay_within_the_budget():
    doc = " ".join(f"filler{i}" for i in range(400)) + " excellent "
    doc += " ".join(f"more{i}" for i in range(400))
    at = doc.index("excellent")
    cond = 'text contains "excellent"'
    word = FeatureWeight("excellent", cond, 1, 0.5, column="text", spans=[[at, at + 9]])
    feats = [word]
    feats += [FeatureWeight(f"c{i}" * 20, f"{'c' * 60}{i} <= 1.00", 1.0, 0.01 * (-1) ** i) for i in range(40)]
    exps = [explanation(r, features=feats) for r in range(30)]
    html = report(exps, documents={r: doc for r in range(30)})
    shown = len(Page(html).all("section", "e"))
    assert len(html.encode()) <= 50 * 1024 + 4 * 1024 * shown
    assert html.count("<mark") == 30 and "… " in html and "and 26 more" in html


def test_stored_explanations_with_wrong_types_are_refused(tmp_path):
    line = explanation_json(explanation(7))
    for key, value in (("num_samples", "<img src=x onerror=alert(1)>"), ("row", "7"), ("score", "high")):
        bad = tmp_path / f"{key}.jsonl"
        bad.write_text(json.dumps({**line, key: value}) + "\n")
        p = run("report", str(bad))
        assert p.returncode == 2 and p.stderr.startswith("Error: ") and f"{key} must be" in p.stderr, p.stderr
