"""Run the `lime` CLI in this process and append its peak RSS (VmHWM, KiB) to a file.

`bench/run.py` uses it because a child's ru_maxrss on Linux also counts the parent's memory at
fork time; VmHWM belongs to the process image after exec only.
"""

import atexit
import sys


def _report(path: str) -> None:
    with open("/proc/self/status") as status:
        hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(path, "w") as out:
        out.write(hwm)


if __name__ == "__main__":
    atexit.register(_report, sys.argv[1])
    sys.argv = ["lime"] + sys.argv[2:]
    from lime_cli.cli import main

    main()
