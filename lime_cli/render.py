"""Rich rendering of explanations: the only module that imports rich."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from rich import box
from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from .schema import Explanation

BAR_WIDTH = 12  # half of a weight bar, at most: negative weights grow left, positive right


def make_console(file: IO | None = None, stderr: bool = False, width: int | None = None) -> Console:
    return Console(file=file, stderr=stderr, width=width, highlight=False, soft_wrap=False)


def emit(console: Console, renderable) -> None:
    """Print ``renderable``: as it is in a terminal; elsewhere (a pipe, a file) without colour and
    without the padding that fills each line to the table's width."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


# -- explanations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TableLayout:
    """The columns of every explanation table of a run: one width, one layout.

    At ``width`` columns the condition gets what the fixed columns leave; the bar shrinks
    (down to 4 cells a side) before the condition goes under 24 cells, and is dropped last.
    """

    width: int
    stability: bool
    bar: int  # cells of each half of the bar; 0: no bar

    RANK, VALUE, WEIGHT, KEPT, MIN_CONDITION = 3, 10, 9, 5, 24

    @classmethod
    def fit(cls, width: int, stability: bool) -> TableLayout:
        for bar in (BAR_WIDTH, 10, 8, 6, 4, 0):
            layout = cls(width, stability, bar)
            if layout.condition >= cls.MIN_CONDITION or bar == 0:
                return layout
        raise AssertionError  # pragma: no cover

    @property
    def condition(self) -> int:
        fixed = [self.RANK, self.VALUE, self.WEIGHT] + ([self.KEPT] if self.stability else [])
        if self.bar:
            fixed.append(2 * self.bar + 1)
        gaps = 2 * len(fixed)  # between two columns: the cell's right padding and the box's divider
        return max(8, self.width - sum(fixed) - gaps)


def _bar(weight: float, scale: float, half: int) -> Text:
    """A bar centred on zero: negative weights grow left (red), positive right (green)."""
    n = 0 if scale <= 0 else round(abs(weight) / scale * half)
    left = " " * half
    right = " " * half
    if weight < 0:
        left = " " * (half - n) + "█" * n
    elif weight > 0:
        right = "█" * n + " " * (half - n)
    text = Text()
    text.append(left, style="red")
    text.append("│", style="dim")
    text.append(right, style="green")
    return text


def _fmt(x: float | None) -> str:
    return "nan" if x is None or x != x else f"{x:.4g}"


def _decimals(scale: float, digits: int = 4) -> int:
    """Decimals that show ``digits`` significant digits of numbers of size ``scale`` (0 to 6)."""
    if not scale or scale != scale or math.isinf(scale):
        return digits
    return min(6, max(0, digits - 1 - math.floor(math.log10(abs(scale)))))


def _prediction(x: float | None, e: Explanation, scale: float) -> str:
    """A prediction: a probability with 3 decimals; a regression target to its magnitude."""
    if x is None or x != x:
        return "nan"
    if e.label is not None:  # classification: a probability
        return f"{x:.3f}"
    return f"{x:.{_decimals(scale)}f}"


def fidelity_line(e: Explanation) -> str:
    """``model 0.980 · local 0.959 · gap 0.021 · R² 0.76 · intercept 0.242``."""
    scale = max(abs(e.model_prediction or 0.0), abs(e.local_prediction or 0.0))
    p = lambda x: _prediction(x, e, scale)  # noqa: E731
    return (
        f"model {p(e.model_prediction)} · local {p(e.local_prediction)} · gap {p(e.fidelity_gap)} · "
        f"R² {_fmt2(e.score)} · intercept {p(e.intercept)}"
    )


def _fmt2(x: float | None) -> str:
    return "nan" if x is None or x != x else f"{x:.2f}"


def _value(v: object) -> str:
    if v is None:
        return "missing"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class _Fitted:
    """An explanation laid out for the width it is printed at."""

    def __init__(self, e: Explanation) -> None:
        self.e = e

    def __rich_console__(self, console, options):
        yield explanation_table(self.e, TableLayout.fit(options.max_width, self.e.stability is not None))


def explanation_title(e: Explanation) -> str:
    """``row 3 · label 1``, and the text column when every listed feature is one of its words."""
    label = "" if e.label is None else f" · label {e.label}"
    if getattr(e, "source", None):
        label += f" · {e.source}"
    words = {f.column for f in e.features if f.spans is not None}
    if words and all(f.spans is not None for f in e.features) and len(words) == 1:
        label += f" · words of {next(iter(words))}"
    return f"row {e.row}{label}"


def explanation_table(e: Explanation, layout: TableLayout | None = None, document: str | None = None):
    """One explanation: its features as a table (or two lines when it lists none), in ``layout``
    (by default, laid out for the width of the console it is printed on); for text, the
    ``document`` between its title and its table."""
    if layout is None:
        return _Fitted(e)
    title = explanation_title(e)
    if document is not None:
        inner = explanation_table(e, layout)
        if isinstance(inner, Table):  # the title first, then the document, then the table
            inner.title = None
            return Group(Text(title, style="bold"), document_text(e, document), inner)
        first, *rest = inner.renderables
        return Group(first, document_text(e, document), *rest)
    if not e.features:
        why = (
            e.note
            if e.note
            else f"{e.insignificant} selected ones indistinguishable from 0"
            if e.insignificant
            else "the model does not vary around the row"
        )
        low = " (low fidelity)" if e.low_fidelity else ""
        return Group(
            Text(f"{title}: no feature stood out ({why})", style="bold"),
            Text(fidelity_line(e) + low, style="red" if e.low_fidelity else ""),
        )
    lines = [fidelity_line(e)]
    if e.low_fidelity:
        lines.append("LOW FIDELITY: the surrogate explains the model poorly here")
    if e.insignificant:
        lines.append(f"{e.insignificant} more selected feature(s) indistinguishable from 0: left out")
    if e.stability:
        lines.append(f"stability {_fmt2(e.stability.score)} over {e.stability.replicates} other seeds")
    table = Table(
        title=title,
        caption="\n".join(lines),
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
        caption_style="bold red" if e.low_fidelity else None,
        pad_edge=False,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("#", justify="right", style="dim", width=layout.RANK, no_wrap=True)
    table.add_column("condition", overflow="fold", width=layout.condition)
    table.add_column("value", overflow="ellipsis", width=layout.VALUE, no_wrap=True)
    table.add_column("weight", justify="right", width=layout.WEIGHT, no_wrap=True)
    freq = {}
    if layout.stability:
        # listed in the explanation's order (a word may be listed twice without bow)
        freq = dict(enumerate(e.stability.features)) if e.stability else {}
        table.add_column("kept", justify="right", width=layout.KEPT, no_wrap=True)
    if layout.bar:
        table.add_column("", no_wrap=True, width=2 * layout.bar + 1)
    scale = max(abs(f.weight) for f in e.features)
    decimals = _decimals(scale)
    columns = {f.column for f in e.features}
    words_only = all(f.spans is not None for f in e.features) and len(columns) == 1
    for rank, f in enumerate(e.features, start=1):
        style = "green" if f.weight > 0 else "red" if f.weight < 0 else ""
        condition = f.condition
        if f.spans is not None:  # a word: the document above says where; its column if others are listed
            condition = f'"{f.feature}"' if words_only else f'{f.column}: "{f.feature}"'
        value = _value(f.value)
        if f.place is not None:  # a region: where it lies, and its size
            condition, value = f.place, f"{f.area} px"
        cells = [str(rank), condition, value, Text(f"{f.weight:+.{decimals}f}", style=style)]
        if layout.stability:
            kept = freq.get(rank - 1)
            cells.append("" if kept is None else f"{kept.frequency:.0%}")
        if layout.bar:
            cells.append(_bar(f.weight, scale, layout.bar))
        table.add_row(*cells)
    return table


#: Characters of a document shown above its explanation; the rest is summarized.
DOCUMENT_CHARS = 600


def document_text(e: Explanation, text: str, limit: int = DOCUMENT_CHARS) -> Text:
    """The explained document, its listed words in bold, green or red by the sign of their weight
    (in a terminal), cut after ``limit`` characters."""
    if not text.strip():
        return Text("(an empty document)" if not text else "(a document of blanks)", style="dim")
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate prints as '?'
    shown = Text(text[:limit])
    for f in e.features:
        style = "bold green" if f.weight > 0 else "bold red" if f.weight < 0 else "bold"
        for a, b in f.spans or ():
            if a < limit:
                shown.stylize(style, a, min(b, limit))
    if len(text) > limit:
        shown.append(f" … ({len(text) - limit:,} more characters)", style="dim")
    return shown


class TableSink:
    """Prints each explanation as it arrives, every table of the run in one layout; for text,
    each document above its table (``documents``: the text of each explained row)."""

    def __init__(
        self, console: Console, stability: bool = False, documents: Mapping[int, str] | None = None
    ) -> None:
        self.console = console
        self.layout = TableLayout.fit(console.width, stability)
        self.documents = documents
        self.count = 0

    def write(self, chunk: Sequence[Explanation]) -> None:
        for e in chunk:
            if self.count:
                self.console.print()  # a blank line between two explanations
            document = None if self.documents is None else self.documents.get(e.row)
            emit(self.console, explanation_table(e, self.layout, document))
            self.count += 1
        self.console.file.flush()

    def close(self) -> None:
        self.console.file.flush()


def track(
    chunks: Iterable[Sequence[Explanation]], total: int, console: Console | None = None
) -> Iterator[Sequence[Explanation]]:
    """Pass chunks through while a progress bar counts their rows: on stderr, or on ``console``
    when the tables go to the same terminal (the tables then scroll above the bar)."""
    columns = (
        TextColumn("explaining"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    start = time.perf_counter()
    with Progress(*columns, console=console or make_console(stderr=True), transient=True) as progress:
        task = progress.add_task("explain", total=total, rate="")
        done = 0
        for chunk in chunks:
            rows = len({e.row for e in chunk})
            done += rows
            rate = done / max(time.perf_counter() - start, 1e-9)
            progress.update(task, advance=rows, rate=f"{rate:,.1f} rows/s")
            yield chunk


def print_error(message: str) -> None:
    make_console(stderr=True).print(Text(f"Error: {message}"), soft_wrap=True)


def print_warning(message: str) -> None:
    make_console(stderr=True).print(Text(f"Warning: {message}"), soft_wrap=True)


#: rule settings the command line can set, and their flags
_RULE_FLAGS = {"max_share": "--max-share", "min_share": "--min-share", "top_k": "--top-k"}


def _would_pass(r, from_flags: bool) -> str:
    """``passes with --max-share 0.96 or --top-k 1`` (flags), or ``max_share = 0.96`` (a policy rule)."""
    parts = []
    for key, value in r.would_pass_with.items():
        if from_flags and key in _RULE_FLAGS:
            parts.append(f"{_RULE_FLAGS[key]} {value:g}")
        else:
            parts.append(f"{key} = {value:g}")
    return ("\npasses with " + " or ".join(parts)) if parts else ""


def check_summary(report, console: Console, flag_rules: frozenset[str] = frozenset()) -> None:
    """The `lime check` summary: each rule, pass or fail, the worst rows, and what would change
    the verdict (``flag_rules``: the ids of the rules given by flags, whose settings are flags)."""
    table = Table(title="lime check", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("rule")
    table.add_column("kind")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for r in report.results:
        if r.passed:
            result = Text("pass", style="green")
        elif r.severity == "error":
            result = Text("FAIL", style="bold red")
        else:
            result = Text("warn", style="yellow")
        detail = r.message
        if not r.passed and r.kind in ("forbid", "dominant"):
            worst = "; ".join(f"row {o.row}: {o.feature} #{o.rank} {o.weight:+.3f}" for o in r.offenders[:5])
            detail += f"\nworst: {worst}"
        if not r.passed:
            detail += _would_pass(r, r.id in flag_rules)
        table.add_row(r.id, r.kind, result, detail)
    emit(console, table)
    n_inc = len(report.inconclusive_rows)
    if n_inc:
        emit(
            console,
            Text(
                f"{n_inc} of {report.rows} rows inconclusive (low fidelity); "
                f"tolerated share {report.max_inconclusive:.0%}",
                style="yellow",
            ),
        )
    style = {"passed": "bold green", "failed": "bold red", "inconclusive": "bold yellow"}[report.verdict]
    emit(console, Text(f"verdict: {report.verdict}", style=style))


def summary_tables(frame) -> list[Table]:
    """`lime summary`: one table per level, by column and by condition (column and bin or category)."""
    tables = []
    for level, rows in frame.groupby("level", sort=False):
        by_condition = level == "condition"
        table = Table(title=f"global summary, by {level}", box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("label")
        name = "condition" if by_condition else "feature"
        longest = max((len(str(f)) for f in rows[name]), default=7)
        table.add_column(name, min_width=min(longest, 16), overflow="fold")
        for col in ("mean\n|weight|", "mean\nweight", "top\nshare", "same\nsign", "count"):
            table.add_column(col, justify="right", no_wrap=True)
        for r in rows.itertuples(index=False):
            label = "" if r.label is None or r.label != r.label else str(r.label)
            table.add_row(
                label,
                str(r.condition if by_condition else r.feature),
                f"{r.mean_abs_weight:.4f}",
                f"{r.mean_weight:+.4f}",
                f"{r.top_share:.0%}",
                f"{r.sign_consistency:.2f}",
                str(r.count),
            )
        tables.append(table)
    return tables
