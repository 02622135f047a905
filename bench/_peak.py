"""Peak resident memory (VmHWM, KiB) across the resets lime-cli makes, and, run as a script, the
`lime` CLI in this process with its peak written to a file.

`bench/run.py` runs it as a script because a child's ru_maxrss on Linux also counts the parent's
memory at fork time; VmHWM belongs to the process image after exec only.  lime-cli resets VmHWM
before each chunk it sizes (lime_cli/core/memory.py), so :func:`keep_peak` reads the peak before
every reset too, and the largest is the one reported.
"""

import atexit
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def _hwm() -> int:
    with open("/proc/self/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))


def memory_child_run(script: str, *args) -> dict:
    """What ``script --memory-child ARGS... OUT`` writes to OUT as JSON: a fresh process of its
    own, whose peak memory is its explaining's alone."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peak.json"
        subprocess.run([sys.executable, script, "--memory-child", *map(str, args), str(out)], check=True)
        return json.loads(out.read_text())


def keep_peak():
    """Make lime-cli's resets of the peak keep the largest seen; returns a function giving the
    peak (KiB) so far, resets included."""
    from lime_cli.core import memory

    peak = [0]
    reset = memory.reset_peak

    def reset_keeping_the_peak() -> bool:
        peak[0] = max(peak[0], _hwm())
        return reset()

    memory.reset_peak = reset_keeping_the_peak
    return lambda: max(peak[0], _hwm())


if __name__ == "__main__":
    peak_kib = keep_peak()
    path = sys.argv[1]

    def _report() -> None:
        with open(path, "w") as out:
            out.write(str(peak_kib()))

    atexit.register(_report)
    sys.argv = ["lime"] + sys.argv[2:]
    from lime_cli.cli import main

    main()
