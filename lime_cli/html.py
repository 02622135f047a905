"""HTML: one self-contained page for a batch of explanations, and each explanation in a notebook.

The page has no external reference (no URL, font, script or style sheet from
elsewhere): inline CSS, no JavaScript, so it reads the same with scripting off, in
print, and archived as a CI artifact.  The same explanations give the same bytes
(nothing about when or where it was made).  Every string that comes from the data
(column names, categories, conditions, labels, documents) is escaped.

Signs never rest on colour alone: a weight's bar lies right of the axis when it
supports the label and left when it contradicts it, its number carries its sign,
highlighted words are underlined solid (supports) or dotted (contradicts), and a
heatmap cell shows ``+`` or ``−``.  The palette is Okabe and Ito's blue and
vermillion, told apart with every common colour-vision deficiency, and the page
follows the reader's light or dark mode.

Sections: an overview (context, counts, the distribution of fidelity, the rows of
low fidelity), the global view of ``lime summary`` and the SP-LIME picks, a cases ×
features heatmap per label, then the explanations in full (the first
``full`` of them, SP-LIME's picks and low-fidelity rows first), and an index of
every explanation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from .schema import SCHEMA_VERSION, Explanation, has_regions

#: explanations shown in full by default (the others are in the heatmap and the index)
FULL = 200
#: heatmap rows (over all labels) and columns (per label) at most
HEATMAP_ROWS, HEATMAP_FEATURES = 200, 20
#: index entries at most
INDEX = 500
#: SP-LIME picks listed first
PICKS = 5
#: features listed per explanation at most (the JSON output holds them all), characters of a
#: condition or value, and of a document shown whole (a longer one: the passages around its words)
FEATURES, CONDITION_CHARS, DOCUMENT_CHARS = 15, 160, 1200

_CSS = """
:root{--fg:#1b1b1f;--bg:#fff;--muted:#5d5d66;--line:#d9d9de;--panel:#f5f5f7;
--pos:#0072b2;--neg:#d55e00}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8ec;--bg:#16161a;--muted:#a3a3ad;
--line:#3a3a42;--panel:#202026;--pos:#56b4e9;--neg:#f0874d}}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;max-width:1100px;padding:16px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line)}
h3{font-size:1.05em;margin:0 0 .3em}
.muted{color:var(--muted)}a{color:var(--pos)}
dl.ctx{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dl.ctx dt{color:var(--muted)}dl.ctx dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{padding:2px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th,table.chart td:nth-child(n+3){white-space:nowrap}table.chart td:nth-child(-n+2){overflow-wrap:anywhere}
h1,h2,h3,dd,a,p{overflow-wrap:anywhere}th{color:var(--muted);font-weight:600}
td.n,th.n{text-align:right}table.index td:nth-child(n+2):nth-child(-n+4){text-align:right}
.scroll{overflow-x:auto}
section.e{border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:12px 0;
break-inside:avoid;background:var(--bg)}
.fit{margin:.2em 0 .5em}
table.chart{width:100%}table.chart td{border-top:1px solid var(--line)}
table.chart td:first-child{width:40%}table.chart td:nth-child(3){text-align:right}
td.bar{width:34%;padding:2px 0;background:linear-gradient(var(--muted),var(--muted)) 50% 0/1px 100% no-repeat}
td.bar i{display:block;height:12px;margin-top:4px}
td.bar i.p{margin-left:50%;background:var(--pos)}
td.bar i.m{margin-right:50%;margin-left:auto;background:var(--neg)}
td.p,.eff-p{color:var(--pos)}td.m{color:var(--neg)}
.b{height:12px;margin-top:4px}.b.p{background:var(--pos)}.b.m{background:var(--neg)}
.doc{background:var(--panel);padding:8px 10px;border-radius:4px;white-space:pre-wrap;
overflow-wrap:anywhere;margin:.4em 0}
mark{color:inherit;border-radius:2px;padding:0 1px}
mark[class^=p]{border-bottom:2px solid var(--pos)}mark[class^=m]{border-bottom:2px dotted var(--neg)}
mark.p1{background:rgba(0,114,178,.15)}mark.p2{background:rgba(0,114,178,.3)}
mark.p3{background:rgba(0,114,178,.45)}mark.p4{background:rgba(0,114,178,.6)}
mark.m1{background:rgba(213,94,0,.15)}mark.m2{background:rgba(213,94,0,.3)}
mark.m3{background:rgba(213,94,0,.45)}mark.m4{background:rgba(213,94,0,.6)}
svg text{fill:var(--fg);font:11px system-ui,sans-serif}svg text.s{pointer-events:none}
svg .hb,.h1,.h2,.h3,.h4{fill:var(--pos)}.g1,.g2,.g3,.g4{fill:var(--neg)}.h1,.g1{opacity:.3}
.h2,.g2{opacity:.5}.h3,.g3{opacity:.75}svg .frame{fill:none;stroke:var(--line)}
.heatmap rect{width:17px}.c14 rect{height:13px}.c8 rect{height:7px}.c5 rect{height:4px}
.legend span{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin:0 4px}
.grid{display:flex;flex-wrap:wrap;gap:24px}
.low{color:var(--neg);font-weight:600}
figure.img{margin:.4em 0}figure.img img{max-width:100%;height:auto;border-radius:4px;display:block}
figure.img figcaption{font-size:.9em}
@media (max-width:640px){body{padding:8px}table.chart td:first-child{width:auto;overflow-wrap:normal}
table.chart th:nth-child(2),table.chart td:nth-child(2){display:none}td.bar{width:22%}}
@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
:root{--fg:#000;--bg:#fff;--muted:#555;--line:#bbb;--panel:#f3f3f3;--pos:#0072b2;--neg:#d55e00}
body{max-width:none;font-size:11px}a{color:inherit}section.e{border-color:#999}
}
"""


def _css() -> str:
    return "".join(line.strip() for line in _CSS.strip().splitlines())


def _scoped_css() -> str:
    """The page's style for a fragment inside another page (a notebook): every rule under
    ``.lime-cli`` (``:root`` and ``body`` become the fragment itself), none beyond it."""
    import re

    def scope(selectors: str) -> str:
        out = []
        for sel in selectors.split(","):
            sel = sel.strip()
            out.append(".lime-cli" if sel in (":root", "body") else f".lime-cli {sel}")
        return ",".join(out)

    # a selector list is what stands before a "{" that does not open an @media block
    return re.sub(r"(^|[{}])([^{}@]+)\{", lambda m: m.group(1) + scope(m.group(2)) + "{", _css())


# -- numbers ----------------------------------------------------------------------------------


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _num(x, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if _finite(x) else "nan"


def _w(x: float) -> str:
    """A weight with its sign: ``+0.1592``, ``−0.0250`` (a true minus sign)."""
    if not _finite(x):
        return "nan"
    return ("+" if x >= 0 else "\u2212") + f"{abs(x):.4f}"


def _shade(x: float, scale: float) -> int:
    """1 (weak) to 4 (the strongest) for |x| against ``scale``."""
    return 1 + min(int(4 * abs(x) / scale), 3) if _finite(x) and scale > 0 else 1


def _clip(text: str, most: int = CONDITION_CHARS) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _value(v: object) -> str:
    if v is None:
        return "missing"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _title(e: Explanation) -> str:
    source = f" · {e.source}" if getattr(e, "source", None) else ""
    return f"row {e.row}" + ("" if e.label is None else f" · label {e.label}") + source


class _Links:
    """Each explanation's id (``e`` and its position: unique whatever its row and label), and
    links to those shown in full (the others have no element to land on)."""

    def __init__(self, exps: Sequence[Explanation] = (), shown: Sequence[int] = ()) -> None:
        self.ids = {id(e): f"e{i}" for i, e in enumerate(exps)}
        self.shown = {id(exps[i]) for i in shown}

    def id(self, e: Explanation) -> str:
        return self.ids.get(id(e), "e0")

    def to(self, e: Explanation, text: str | None = None) -> str:
        """``text`` (escaped; the explanation's title by default), linked when it is shown."""
        label = escape(_title(e) if text is None else text)
        return f'<a href="#{self.id(e)}">{label}</a>' if id(e) in self.shown else label


# -- one explanation --------------------------------------------------------------------------


def explanation_html(
    e: Explanation, document: str | None = None, anchor: str = "e0", image: str | None = None
) -> str:
    """An explanation as an HTML fragment: its prediction, its weights as bars (right of the axis:
    supports the label; left: contradicts it) with their numbers, a text explanation's
    document with its words highlighted, and an image explanation's picture (``image``: a data
    URI of its top regions drawn on it)."""
    out = [f'<section class="e" id="{escape(anchor)}"><h3>{escape(_title(e))}</h3>']
    parts = [
        f"model {_num(e.model_prediction)}",
        f"local {_num(e.local_prediction)}",
        f"gap {_num(e.fidelity_gap)}",
        f"R² {_num(e.score, 2)}",
        f"intercept {_num(e.intercept)}",
        f"{escape(str(e.num_samples))} samples",
    ]
    if e.stability is not None:
        seeds = escape(str(e.stability.replicates))
        parts.append(f"stability {_num(e.stability.score, 2)} over {seeds} seeds")
    low = ' · <span class="low">low fidelity</span>' if e.low_fidelity else ""
    out.append(f'<div class="fit muted">{" · ".join(parts)}{low}</div>')
    if document is not None:
        out.append(_document(e, document))
    if image is not None and image.startswith("data:image/"):
        out.append(_figure(e, image))
    if e.features:
        out.append(_bars(e))
    else:
        out.append(f'<p class="muted">No feature: {escape(e.note or "none was significant")}.</p>')
    if e.insignificant:
        n = escape(str(e.insignificant))
        s = "s" * (e.insignificant != 1)
        out.append(f'<p class="muted">{n} selected feature{s} left out: not significant.</p>')
    out.append("</section>")
    return "".join(out)


def _figure(e: Explanation, uri: str) -> str:
    """The image with its strongest regions outlined: blue supports the label, vermillion
    contradicts it (the caption says which regions, so the sign never rests on colour alone)."""
    shown = [f for f in e.features[:5] if _finite(f.weight) and f.weight != 0]
    pos = [f.feature for f in shown if f.weight > 0]
    neg = [f.feature for f in shown if f.weight < 0]
    said = []
    if pos:
        said.append(f'<span class="eff-p">supports: {escape(", ".join(pos))}</span> (blue)')
    if neg:
        said.append(f'<span class="m">contradicts: {escape(", ".join(neg))}</span> (vermillion)')
    where = f" of {escape(e.source)}" if getattr(e, "source", None) else ""
    alt = f"image{where} with its strongest regions outlined"
    caption = "; ".join(said) or "no region outlined"
    return (
        f'<figure class="img"><img src="{escape(uri)}" alt="{alt}">'
        f'<figcaption class="muted">{caption}</figcaption></figure>'
    )


def _bars(e: Explanation) -> str:
    scale = max((abs(f.weight) for f in e.features if _finite(f.weight)), default=0.0) or 1.0
    stab = {s.feature: s for s in e.stability.features} if e.stability is not None else {}
    head = '<th class="n">stability</th>' if stab else ""
    rows = [
        '<table class="chart"><thead><tr><th>condition</th><th>value</th><th class="n">weight</th>'
        f"<th>effect</th>{head}<th></th></tr></thead><tbody>"
    ]
    for f in e.features[:FEATURES]:
        finite = _finite(f.weight)
        pos = finite and f.weight >= 0
        width = round(50 * min(abs(f.weight) / scale, 1.0)) if finite else 0
        cls = "p" if pos else "m"
        effect = ("supports" if pos else "contradicts") if finite else "undefined"
        s = stab.get(f.feature)
        cell = f'<td class="n">{_num(s.frequency, 2)}</td>' if stab else ""
        condition, value = f.condition, _value(f.value)
        if f.place is not None:  # a region: where it lies, and its size (on one line)
            condition, value = f.place, f"{f.area}\u00a0px"
        rows.append(
            f"<tr><td>{escape(_clip(condition))}</td><td>{escape(_clip(value))}</td>"
            f'<td>{_w(f.weight)}</td><td class="{cls}">{effect}</td>'
            f'{cell}<td class="bar"><i class="{cls}" style="width:{width}%"></i></td></tr>'
        )
    rows.append("</tbody></table>")
    if len(e.features) > FEATURES:
        more = len(e.features) - FEATURES
        rows.append(f'<p class="muted">and {more} more (the JSON output lists every one).</p>')
    return "".join(rows)


def _document(e: Explanation, text: str) -> str:
    """The document, its explained words marked: the shade follows the weight, the underline its
    sign; hovering shows the weight.  A document longer than DOCUMENT_CHARS shows the passages
    around its marked words (``…`` between them)."""
    shown = e.features[:FEATURES]
    scale = max((abs(f.weight) for f in shown if f.spans and _finite(f.weight)), default=0.0) or 1.0
    marks = sorted(
        ((a, b, f) for f in shown for a, b in (f.spans or ()) if 0 <= a < b <= len(text)),
        key=lambda m: (m[0], m[1]),
    )
    keep = [(0, len(text))]
    if len(text) > DOCUMENT_CHARS:  # the passages around the marks, merged, within the budget
        keep, room = [], DOCUMENT_CHARS
        for a, b, _ in marks:
            lo, hi = max(0, a - 60), min(len(text), b + 60)
            if keep and lo <= keep[-1][1]:
                lo = keep[-1][0]
                keep.pop()
            keep.append((lo, hi))
        total, cut = 0, []
        for lo, hi in keep:
            if total + (hi - lo) > room:
                break
            cut.append((lo, hi))
            total += hi - lo
        keep = cut or [(0, DOCUMENT_CHARS)]
    out = []
    for n, (lo, hi) in enumerate(keep):
        out.append("… " if lo > 0 and n == 0 else " … " if n else "")
        last = lo
        for a, b, f in marks:
            if a < last or b > hi:  # overlapping spans (not made by lime-cli): the first one wins
                continue
            cls = "p" if _finite(f.weight) and f.weight >= 0 else "m"
            out.append(escape(text[last:a]))
            out.append(
                f'<mark class="{cls}{_shade(f.weight, scale)}" title="{_w(f.weight)}">'
                f"{escape(text[a:b])}</mark>"
            )
            last = b
        out.append(escape(text[last:hi]))
    if keep[-1][1] < len(text):
        out.append(" …")
    return f'<div class="doc">{"".join(out)}</div>'


# -- the whole page ---------------------------------------------------------------------------


def report(
    explanations: Sequence[Explanation],
    *,
    title: str = "LIME explanations",
    context: Mapping[str, object] | None = None,
    documents: Mapping[int, str] | None = None,
    full: int = FULL,
    check=None,
    images: Mapping[int, str] | None = None,
) -> str:
    """The page for ``explanations``: ``context`` (model, data, settings...) is listed as given;
    ``documents`` maps a row to its text, for highlighting; ``images`` a row, or (row, label),
    to its picture (a ``data:image/...`` URI); ``full`` explanations are shown in full;
    ``check`` (a :class:`lime_cli.check.CheckReport`) adds its rules first."""
    body = _body(list(explanations), title, context or {}, documents or {}, full, check, images or {})
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="generator" content="lime-cli, schema {SCHEMA_VERSION}">'
        f"<title>{escape(title)}</title><style>{_css()}</style></head><body>"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def fragment(explanations: Sequence[Explanation], documents: Mapping[int, str] | None = None) -> str:
    """The report of ``explanations`` as a fragment of another page (what a notebook shows): its
    style scoped under ``.lime-cli``; one explanation is shown alone."""
    exps = list(explanations)
    if len(exps) == 1:
        body = [explanation_html(exps[0], (documents or {}).get(exps[0].row), anchor="e0")]
    else:
        body = _body(exps, "", {}, documents or {}, FULL, None)
    return f'<div class="lime-cli"><style>{_scoped_css()}</style>{"".join(body)}</div>'


def _body(exps, title, context, documents, full, check, images=None) -> list[str]:
    """The sections.  Sizes: the heatmap and the index grow with the explanations shown in full
    (at least 30 and 60 of them), so that the page stays within 50 KB plus 4 KB per explanation
    shown in full."""
    # an image's regions are its own: "region 7" of one image is not that of another, so there
    # are no SP-LIME picks, global view or heatmap of them
    regions = has_regions(exps)
    picks = [] if regions else _picks(exps)
    shown = _full_order(exps, [*_offender_indices(check, exps), *picks])[: max(full, 0)]
    links = _Links(exps, shown)
    body = [f"<h1>{escape(title)}</h1>"] if title else []
    if check is not None:
        body.append(_check_section(check, exps, links))
    body.append(_overview(exps, context, links))
    if len(exps) > 1 and not regions:
        body.append(_global(exps, picks, links))
        body.append(_heatmaps(exps, min(HEATMAP_ROWS, max(30, len(shown))), links))
    body.append("<h2>Explanations</h2>")
    if not exps:
        body.append("<p>No explanation.</p>")
    if len(shown) < len(exps):
        body.append(
            f'<p class="muted">{len(shown)} of {len(exps)} shown in full: the rows a check rule names, '
            "SP-LIME's picks, the rows of low fidelity, then the others in order.</p>"
        )
    images = images or {}
    for i in shown:
        row = exps[i].row
        picture = images.get((row, exps[i].label), images.get(row))
        html = explanation_html(exps[i], documents.get(row), anchor=links.id(exps[i]), image=picture)
        body.append(html)
    if len(exps) > 1:
        body.append(_index(exps, links, min(INDEX, max(60, len(shown)))))
    return body


def _picks(exps: list[Explanation]) -> list[int]:
    if len(exps) < 2:
        return []
    from .summary import submodular_pick

    return submodular_pick(exps, min(PICKS, len(exps)))


def _full_order(exps: list[Explanation], picks: list[int]) -> list[int]:
    seen, order = set(), []
    low = [i for i, e in enumerate(exps) if e.low_fidelity]
    for i in [*picks, *low, *range(len(exps))]:
        if i not in seen:
            seen.add(i)
            order.append(i)
    return order


def _overview(exps: list[Explanation], context: Mapping[str, object], links: _Links) -> str:
    rows = sorted({e.row for e in exps})
    labels = sorted({str(e.label) for e in exps if e.label is not None})
    items = [(str(k), "" if v is None else str(v)) for k, v in context.items()]
    items += [
        ("explanations", f"{len(exps)} of {len(rows)} row{'s' * (len(rows) != 1)}"),
        ("labels explained", ", ".join(labels) if labels else "none (regression)" if exps else "none"),
    ]
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
    out = [f'<h2>Overview</h2><div class="grid"><dl class="ctx">{dl}</dl>']
    if len(exps) >= 5:  # a distribution, when there is one to see
        scores = [e.score for e in exps]
        gaps = [e.fidelity_gap for e in exps if _finite(e.fidelity_gap)]
        out.append(_histogram(scores, "R² of the surrogates", 0.0, 1.0))
        out.append(_histogram(gaps, "gap |local − model|", 0.0, max(max(gaps, default=0.0), 1e-9)))
    out.append("</div>")
    low = [e for e in exps if e.low_fidelity]
    if low:
        listed = ", ".join(links.to(e) for e in low[:100])
        more = f" and {len(low) - 100} more" if len(low) > 100 else ""
        out.append(
            f'<p><span class="low">{len(low)} of {len(exps)} of low fidelity</span> '
            f"(R² below the threshold: their weights describe the model poorly): {listed}{more}.</p>"
        )
    elif exps:
        out.append(f"<p>No explanation of low fidelity among {len(exps)}.</p>")
    return "".join(out)


def _histogram(values: list[float], caption: str, lo: float, hi: float, bins: int = 10) -> str:
    """An SVG histogram with its counts written above the bars."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    counts = [0] * bins
    for v in finite:
        k = int((min(max(v, lo), hi) - lo) / (hi - lo) * bins) if hi > lo else 0
        counts[min(k, bins - 1)] += 1
    top = max(counts) or 1
    W, H, bw = 260, 90, 24
    bars = []
    for k, c in enumerate(counts):
        h = 60 * c / top
        x = 4 + k * (bw + 2)
        bars.append(
            f'<rect class="hb" x="{x}" y="{74 - h:.1f}" width="{bw}" height="{h:.1f}">'
            f"<title>{lo + k * (hi - lo) / bins:.3g}–{lo + (k + 1) * (hi - lo) / bins:.3g}: {c}"
            "</title></rect>"
        )
        if c:
            bars.append(f'<text x="{x + bw / 2}" y="{70 - h:.1f}" text-anchor="middle">{c}</text>')
    axis = f'<text x="4" y="87">{lo:.3g}</text><text x="{W - 4}" y="87" text-anchor="end">{hi:.3g}</text>'
    return (
        f'<figure style="margin:0"><svg class="hist" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'role="img" aria-label="{escape(caption)}">{"".join(bars)}{axis}</svg>'
        f'<figcaption class="muted">{escape(caption)}</figcaption></figure>'
    )


def _global(exps: list[Explanation], picks: list[int], links: _Links) -> str:
    import pandas as pd

    from .summary import summarize

    frame = summarize(exps, top_k=3)
    out = ["<h2>Global view</h2>"]
    if picks:
        listed = ", ".join(links.to(exps[i]) for i in picks)
        out.append(f"<p>SP-LIME picks (explanations that together cover what matters most): {listed}.</p>")
    out.append(
        '<p class="muted">Per label: mean |weight| over all its explanations (0 where a feature is not '
        "listed), the share listing it among their top 3, and how consistent its sign is (1: always the "
        "same).</p>"
    )
    for label, part in frame.groupby("label", dropna=False, sort=False):
        part = part.head(15)
        name = "regression" if label is None or pd.isna(label) else f"label {label}"
        top = float(part["mean_abs_weight"].max() or 1.0)
        rows = []
        for r in part.itertuples(index=False):
            width = 100 * r.mean_abs_weight / top if top and _finite(r.mean_abs_weight) else 0
            cls = "p" if r.mean_weight >= 0 else "m"
            rows.append(
                f'<tr><td>{escape(_clip(str(r.feature)))}</td><td class="n">{r.mean_abs_weight:.4f}</td>'
                f'<td style="width:20%"><div class="b {cls}" style="width:{width:.0f}%"></div></td>'
                f'<td class="n">{r.top_share:.2f}</td><td class="n">{r.sign_consistency:.2f}</td>'
                f'<td class="n">{_w(r.mean_weight)}</td><td class="n">{r.count}</td></tr>'
            )
        out.append(
            f'<h3>{escape(name)}</h3><div class="scroll"><table><thead><tr><th>feature</th>'
            '<th class="n">mean |weight|</th><th></th><th class="n">top-3 share</th>'
            '<th class="n">sign consistency</th><th class="n">mean weight</th><th class="n">listed</th>'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
    return "".join(out)


def _heatmaps(exps: list[Explanation], most: int, links: _Links) -> str:
    import numpy as np

    from .summary import _matrix

    out = ["<h2>Cases × features</h2>"]
    groups: dict = {}
    for i, e in enumerate(exps):
        groups.setdefault(e.label, []).append(i)
    legend = (
        '<p class="legend muted"><span style="background:var(--pos)"></span>+ supports the label'
        '<span style="background:var(--neg)"></span>− contradicts it; the shade follows |weight| '
        "(hover a cell for its value).</p>"
    )
    out.append(legend)
    shown_groups = list(groups.items())[:6]
    if len(groups) > len(shown_groups):
        out.append(
            f'<p class="muted">The first {len(shown_groups)} of {len(groups)} labels; the global view '
            "above has them all.</p>"
        )
    per_label = max(20, most // len(shown_groups)) if shown_groups else most
    for label, idx in shown_groups:
        sub = [exps[i] for i in idx]
        names, weights, present, _ = _matrix(sub)
        if not names:
            continue
        importance = np.abs(weights).mean(axis=0)
        cols = np.argsort(-importance, kind="stable")[:HEATMAP_FEATURES]
        rows = list(range(len(sub)))
        note = f"All {len(sub)} explanations"
        if len(sub) > per_label:
            step = math.ceil(len(sub) / per_label)
            rows = rows[::step]
            note = (
                f"{len(rows)} of {len(sub)} explanations (one in {step}, in row order; the global view "
                "above counts all)"
            )
        # the rows sorted by their strongest column among those shown, so that alike rows are together
        lead = np.argmax(np.abs(weights[np.ix_(rows, cols)]), axis=1)
        rows = [r for _, r in sorted(zip(lead.tolist(), rows, strict=True), key=lambda t: (t[0], t[1]))]
        name = "regression" if label is None else f"label {label}"
        out.append(f"<h3>{escape(name)}</h3><p class=\"muted\">{note}, grouped by their strongest feature; "
                   f"{len(cols)} of {len(names)} features, by mean |weight|.</p>")  # fmt: skip
        out.append(_heatmap_svg(sub, names, weights, present, rows, cols, links))
    return "".join(out)


def _heatmap_svg(sub, names, weights, present, rows, cols, links: _Links) -> str:
    """Rows of cells, one ``<g>`` per explanation; a cell's class gives its sign and one of four
    shades of |weight|, its title the exact weight (and the row, where rows are too thin to be
    labelled)."""
    import numpy as np

    cell = 14 if len(rows) <= 60 else 8 if len(rows) <= 120 else 5
    cw, left, top = 18, 70, 150
    shown = np.abs(weights[np.ix_(rows, cols)])
    finite = shown[np.isfinite(shown)]
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    # the rotated column labels reach up to 24 characters right of their column
    W, H = left + cw * len(cols) + 90, top + cell * len(rows) + 4
    small = "" if cell >= 14 else f' style="font-size:{cell}px"'
    parts = []
    for k, j in enumerate(cols):
        x = left + k * cw + cw // 2
        label = str(names[j])
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text transform="translate({x},{top - 4}) rotate(-60)"><title>{escape(label)}</title>'
            f"{escape(short)}</text>"
        )
    for r_i, r in enumerate(rows):
        e = sub[r]
        row = [f'<g transform="translate(0,{top + r_i * cell})">']
        if cell >= 8:
            label = (
                f'<text x="{left - 4}" y="{cell - 2}" text-anchor="end"{small}>{escape(str(e.row))}</text>'
            )
            row.append(f'<a href="#{links.id(e)}">{label}</a>' if id(e) in links.shown else label)
        where = "" if cell >= 8 else f"row {escape(str(e.row))}: "
        signs, at = [], []
        for k, j in enumerate(cols):
            if not present[r, j]:
                continue
            w = float(weights[r, j])
            sign = "h" if _finite(w) and w >= 0 else "g"
            x = left + k * cw
            row.append(f'<rect class="{sign}{_shade(w, scale)}" x="{x}"><title>{where}{_w(w)}</title></rect>')
            signs.append("+" if sign == "h" else "−")
            at.append(str(x + cw // 2 - 3))
        if cell >= 14 and signs:  # each cell's sign, as one text placed glyph by glyph
            row.append(f'<text class="s" x="{" ".join(at)}" y="{cell - 3}">{"".join(signs)}</text>')
        row.append("</g>")
        parts.append("".join(row))
    size = f"width:{cw * len(cols)}px;height:{cell * len(rows)}px"
    frame = f'<rect class="frame" x="{left}" y="{top}" style="{size}"/>'
    return (  # a cell's size is the style's (SVG 2 geometry properties): c14, c8 or c5
        f'<div class="scroll"><svg class="heatmap c{cell}" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'role="img" aria-label="signed weights, explanations by features">{frame}{"".join(parts)}'
        "</svg></div>"
    )


def _index(exps: list[Explanation], links: _Links, most: int) -> str:
    rows = []
    for e in exps[:most]:
        lead = e.features[0] if e.features else None
        leads = f"{escape(_clip(lead.condition))} ({_w(lead.weight)})" if lead else "—"
        low = " low" if e.low_fidelity else ""
        rows.append(
            f"<tr><td>{links.to(e)}</td><td>{_num(e.model_prediction)}</td><td>{_num(e.score, 2)}{low}</td>"
            f"<td>{_num(e.fidelity_gap)}</td><td>{leads}</td></tr>"
        )
    more = (
        f'<p class="muted">The first {most} of {len(exps)}: the global view counts all; '
        "the JSON output holds every one.</p>"
        if len(exps) > most
        else ""
    )
    return (
        '<h2>Index</h2><div class="scroll"><table class="index"><thead><tr><th>explanation</th>'
        "<th>model</th><th>R²</th><th>gap</th><th>leading feature</th></tr></thead><tbody>"
        + "".join(rows)
        + f"</tbody></table></div>{more}"
    )


def _check_section(check, exps: list[Explanation], links: _Links) -> str:
    """The rules of a ``lime check`` run: each one passed or failed (said in words, not only in
    colour), and the rows that broke it, worst first, linked to their explanations."""
    where = {}
    for e in exps:
        where.setdefault((e.row, e.label), e)
    verdict = check.verdict
    cls = "low" if verdict != "passed" else "eff-p"
    out = [
        f'<h2>Check: <span class="{cls}">{escape(verdict.upper())}</span></h2>',
        f"<p>{len(check.results)} rule{'s' * (len(check.results) != 1)} on {check.rows} rows; "
        f"{len(check.inconclusive_rows)} inconclusive (of low fidelity; at most "
        f"{check.max_inconclusive:.0%} tolerated).</p>",
        '<div class="scroll"><table><thead><tr><th>rule</th><th>kind</th><th>result</th><th>severity</th>'
        "<th>what was found</th><th>worst rows</th></tr></thead><tbody>",
    ]
    for r in check.results:
        result = '<span class="eff-p">✓ pass</span>' if r.passed else '<span class="low">✗ FAIL</span>'
        worst = _worst(r)
        listed = []
        for o in worst:
            if o.feature:  # a feature where it must not be
                name = f"row {o.row}: {o.feature} #{o.rank} ({_w(o.weight)})"
            else:  # a row where the required features are not among the leading ones
                name = f"row {o.row}: none of {', '.join(r.features)} among its leading features"
            e = where.get((o.row, o.label))
            listed.append(links.to(e, name) if e is not None else escape(name))
        more = f" and {len(r.offenders) - 5} more" if len(r.offenders) > 5 else ""
        out.append(
            f"<tr><td>{escape(r.id)}</td><td>{escape(r.kind)}</td><td>{result}</td><td>{escape(r.severity)}</td>"
            f"<td>{escape(r.message)}</td><td>{'<br>'.join(listed)}{more}</td></tr>"
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def _worst(result, most: int = 5) -> list:
    """A rule's offenders the report names: the highest ranked, the largest weights first."""
    return sorted(result.offenders, key=lambda o: (o.rank, -abs(o.weight)))[:most]


def _offender_indices(check, exps: list[Explanation]) -> list[int]:
    where = {(e.row, e.label): i for i, e in enumerate(exps)}
    out = []
    for r in check.results if check is not None else ():
        for o in _worst(r):
            i = where.get((o.row, o.label))
            if i is not None:
                out.append(i)
    return out


def settings_context(settings, mode: str | None = None, kernel_width: float | None = None) -> dict[str, str]:
    """What a report's overview says of the method: the settings that change an explanation."""
    out = {
        "mode": mode,
        "method": f"preset {settings.preset}",
        "samples": settings.num_samples,
        "features (K)": settings.num_features,
        "seed": settings.seed,
        "kernel width": "the front-end's default" if kernel_width is None else f"{kernel_width:.4g}",
        "feature selection": settings.feature_selection,
        "locality, confidence": f"{settings.locality:g}, {settings.confidence:g}",
        "sampling": settings.sampling,
        "low fidelity below R²": f"{settings.min_fidelity:g}",
    }
    return {k: str(v) for k, v in out.items() if v is not None}


def image_context(frontend, logits: bool = False) -> dict[str, str]:
    """What a report's overview says of how images were explained (an image front-end's
    settings): how regions were cut and hidden, and what the model was given."""
    count = f"about {frontend.num_segments}" if frontend.num_segments else "about H·W/16 (16 to 50)"
    hide = frontend.hide
    hidden = {"mean": "each region's mean colour", "blur": "a blurred copy of the image"}.get(hide) or (
        "the colour " + ",".join(f"{v:g}" for v in hide)
    )
    p = frontend.preprocess
    values = "pixel" if p.scale is None else f"pixel × {p.scale:g}"
    if p.mean is not None:
        values += " − " + ",".join(f"{v:g}" for v in p.mean)
    if p.std is not None:
        values = (values if values == "pixel" else f"({values})") + " ÷ " + ",".join(f"{v:g}" for v in p.std)
    given = [
        f"resized to {frontend.image_size[0]}×{frontend.image_size[1]}" if frontend.image_size else "",
        "greyscale" if frontend.grayscale else "",
        values if values != "pixel" else "",
        "channels first" if p.channels_first else "",
        "flattened" if p.flatten else "",
        "its logits made probabilities (softmax; one logit: sigmoid)" if logits else "",
    ]
    return {
        "regions": f"{frontend.segments}, {count} per image",
        "hidden as": hidden,
        "model input": ", ".join(g for g in given if g) or "the pixel values as read",
    }


def write_report(explanations, path: str | None, **kwargs) -> int:
    """Write :func:`report` of ``explanations`` to ``path`` (atomically) or stdout; the number of
    explanations."""
    from .io import open_output

    exps = list(explanations)
    page = report(exps, **kwargs)
    with open_output(path) as handle:
        handle.write(page)
    return len(exps)
