"""The ``lime`` command's entry point: light, so that Ctrl-C while the libraries load is one line."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        raise SystemExit(130) from None
    run()
