"""Run the `lime` CLI in this process and write its peak RSS (VmHWM, KiB) to a file.

`bench/run.py` uses it because a child's ru_maxrss on Linux also counts the parent's memory at
fork time; VmHWM belongs to the process image after exec only.  lime-cli resets VmHWM before each
chunk it sizes (lime_cli/core/memory.py), so the peak is read before every reset too, and the largest
is the one written.
"""

import atexit
import sys

PEAK = [0]


def _hwm() -> int:
    with open("/proc/self/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))


def _report(path: str) -> None:
    with open(path, "w") as out:
        out.write(str(max(PEAK[0], _hwm())))


if __name__ == "__main__":
    atexit.register(_report, sys.argv[1])
    sys.argv = ["lime"] + sys.argv[2:]
    from lime_cli.core import memory as _memory

    reset = _memory.reset_peak

    def reset_keeping_the_peak() -> bool:
        PEAK[0] = max(PEAK[0], _hwm())
        return reset()

    _memory.reset_peak = reset_keeping_the_peak
    from lime_cli.cli import main

    main()
