"""The README's options table says what `--help` says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from lime_cli.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"


def shown_default(param) -> str:
    """The default `--help` shows for an option (or `required`, `off` for a flag)."""
    if param.required:
        return "required"
    if isinstance(param.show_default, str):
        return param.show_default
    if getattr(param, "is_flag", False):
        return "on" if param.default else "off"
    return "" if param.default in (None, [], ()) else str(param.default)


def readme_table(heading: str) -> dict[tuple[str, ...], str]:
    """(option names) -> default cell of the table under ``heading``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    rows = {}
    for line in text[start:].splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) != 3 or cells[0] in ("option", "---"):
            continue
        names = tuple(sorted(re.findall(r"`(-[^`]+)`", cells[0])))
        rows[names] = cells[2].replace("`", "")
    return rows


@pytest.mark.parametrize("command", ["explain", "check", "fit", "summary", "report"])
def test_readme_options_table_matches_help(command):
    cmd = typer.main.get_command(app).commands[command]
    cli = {
        tuple(sorted(p.opts + p.secondary_opts)): shown_default(p)
        for p in cmd.params
        if p.param_type_name == "option" and "--help" not in p.opts
    }
    readme = readme_table(f"### Options of `lime {command}`")
    assert sorted(readme) == sorted(cli), "options listed in the README differ from --help"
    for names, default in cli.items():
        assert readme[names] == default, (names, readme[names], default)
    for p in cmd.params:
        assert p.param_type_name != "option" or p.help, f"{p.opts[0]} has no help text"
