"""Rich rendering of explanations: the only module that imports rich."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from .schema import Explanation

BAR_WIDTH = 12


def make_console(file: IO | None = None, stderr: bool = False, width: int | None = None) -> Console:
    return Console(file=file, stderr=stderr, width=width, highlight=False, soft_wrap=False)


def _bar(weight: float, scale: float) -> Text:
    """A bar centred on zero: negative weights grow left (red), positive right (green)."""
    n = 0 if scale <= 0 else round(abs(weight) / scale * BAR_WIDTH)
    left = " " * BAR_WIDTH
    right = " " * BAR_WIDTH
    if weight < 0:
        left = " " * (BAR_WIDTH - n) + "█" * n
    elif weight > 0:
        right = "█" * n + " " * (BAR_WIDTH - n)
    text = Text()
    text.append(left, style="red")
    text.append("│", style="dim")
    text.append(right, style="green")
    return text


def _fmt(x: float | None) -> str:
    return "nan" if x is None or x != x else f"{x:.4g}"


def explanation_table(e: Explanation) -> Table:
    label = "" if e.label is None else f" · label {e.label}"
    title = f"row {e.row}{label}"
    lines = [
        f"model {_fmt(e.model_prediction)} · local {_fmt(e.local_prediction)} · "
        f"intercept {_fmt(e.intercept)} · score (R²) {_fmt(e.score)}"
    ]
    if e.low_fidelity:
        lines.append("LOW FIDELITY: the surrogate explains the model poorly here")
    if e.insignificant:
        lines.append(f"{e.insignificant} more selected feature(s) indistinguishable from 0: left out")
    if e.stability:
        lines.append(f"stability {_fmt(e.stability.score)} over {e.stability.replicates} other seeds")
    caption = "\n".join(lines)
    table = Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
        caption_style="bold red" if e.low_fidelity else None,
    )
    table.add_column("#", justify="right", style="dim")
    longest = max((len(f.condition) for f in e.features), default=9)
    table.add_column("condition", overflow="fold", min_width=min(longest, 40))
    table.add_column("value", overflow="fold")
    table.add_column("weight", justify="right")
    freq = {}
    if e.stability:
        freq = {f.feature: f for f in e.stability.features}
        table.add_column("kept", justify="right")
    table.add_column("", no_wrap=True)
    scale = max((abs(f.weight) for f in e.features), default=0.0)
    for rank, f in enumerate(e.features, start=1):
        value = (
            "missing"
            if f.value is None
            else (f"{f.value:.4g}" if isinstance(f.value, float) else str(f.value))
        )
        style = "green" if f.weight > 0 else "red" if f.weight < 0 else ""
        cells = [str(rank), f.condition, value, Text(f"{f.weight:+.4f}", style=style)]
        if e.stability:
            cells.append(f"{freq[f.feature].frequency:.0%}")
        table.add_row(*cells, _bar(f.weight, scale))
    return table


class TableSink:
    """Prints each explanation as a Rich table as chunks arrive."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.count = 0

    def write(self, chunk: Sequence[Explanation]) -> None:
        for e in chunk:
            self.console.print(explanation_table(e))
            self.count += 1
        self.console.file.flush()

    def close(self) -> None:
        self.console.file.flush()


def track(chunks: Iterable[Sequence[Explanation]], total: int) -> Iterator[Sequence[Explanation]]:
    """Pass chunks through while a progress bar on stderr counts their rows."""
    columns = (
        TextColumn("explaining"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    start = time.perf_counter()
    with Progress(*columns, console=make_console(stderr=True), transient=True) as progress:
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
    console.print(table)
    n_inc = len(report.inconclusive_rows)
    if n_inc:
        console.print(
            Text(
                f"{n_inc} of {report.rows} rows inconclusive (low fidelity); "
                f"tolerated share {report.max_inconclusive:.0%}",
                style="yellow",
            )
        )
    style = {"passed": "bold green", "failed": "bold red", "inconclusive": "bold yellow"}[report.verdict]
    console.print(Text(f"verdict: {report.verdict}", style=style))


def summary_tables(frame) -> list[Table]:
    """`lime summary`: one table per level, by column and by condition (column and bin or category)."""
    tables = []
    for level, rows in frame.groupby("level", sort=False):
        by_condition = level == "condition"
        table = Table(title=f"global summary, by {level}", box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("label")
        name = "condition" if by_condition else "feature"
        longest = max((len(str(f)) for f in rows[name]), default=7)
        table.add_column(name, min_width=min(longest, 30 if by_condition else 22), overflow="fold")
        for col in ("mean |weight|", "mean weight", "top share", "same sign", "count"):
            table.add_column(col, justify="right")
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
