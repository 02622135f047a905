"""Every `$ ` example of the README runs, as written, in a shell."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
EXAMPLES = re.findall(r"^\$ (.+)$", README, flags=re.MULTILINE)


def test_readme_has_examples_and_starts_with_the_two_commands():
    assert len(EXAMPLES) >= 5
    head = README.split("\n## ", 1)[0]
    assert "make demo" in head and "make test" in head


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for all examples, in README order: later ones read what earlier ones wrote."""
    d = tmp_path_factory.mktemp("readme")
    for name in ("sample_data", "sample_models"):
        (d / name).symlink_to(ROOT / name)
    return d


@pytest.mark.parametrize("command", EXAMPLES)
def test_readme_example_runs(command, workdir):
    tmp_path = workdir
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = re.search(r"(?:--output|-o|--out|--report) (\S+)", command)
    if out:
        written = tmp_path / out.group(1)
        assert written.stat().st_size > 0
    else:
        assert proc.stdout.strip()


@pytest.mark.parametrize(
    "marker,command",
    [
        ("table-at-80-columns", EXAMPLES[0]),
        ("text-table-at-80-columns", next(c for c in EXAMPLES if "--text" in c)),
        ("image-table-at-80-columns", next(c for c in EXAMPLES if "--images" in c)),
    ],
)
def test_readme_shows_tables_as_they_look_at_80_columns(marker, command):
    block = re.search(rf"<!-- {marker} -->\n```text\n(.*?)\n```", README, flags=re.DOTALL)
    assert block, f"the README's {marker} table is missing"
    env = dict(os.environ, COLUMNS="80")
    proc = subprocess.run(
        [sys.executable, "-m", "lime_cli", *command.split()[1:]],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip("\n") == block.group(1)
    assert max(len(line) for line in proc.stdout.splitlines()) == 80
