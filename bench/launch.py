"""Run one command and write its wall time, exit status, CPU time and own peak RSS as JSON.

Usage: python -I -S bench/launch.py REPORT.json COMMAND [ARG...]
Started as a small process of its own because on Linux a child spawned straight from a
large harness inherits the harness's RSS high-water mark (vfork and exec carry it over), so
`wait4` would report the harness's peak, not the child's. Forked from this small process,
the child's figure is its own, floored at this launcher's RSS, which is reported too.
"""

from __future__ import annotations

import json
import os
import sys
import time


def high_water_kb() -> int:
    """This process's own peak RSS in KB (VmHWM belongs to the address space, not inherited)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    report, command = sys.argv[1], sys.argv[2:]
    floor = high_water_kb()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    result = {
        "wall": wall,
        "status": os.waitstatus_to_exitcode(status),
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_rss_kb": usage.ru_maxrss,
        "floor_kb": floor,
    }
    with open(report, "w", encoding="ascii") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
