"""`jfast ps`: the programs jfast runs now, with their sandbox and display.

    jfast ps

The runs are store/runs.py's registry; psutil says how long each has run.
"""

from __future__ import annotations

import argparse
import time

from jfast.store import cache, runs


def main(args: list[str]) -> int:
    argparse.ArgumentParser(prog="jfast ps", description="List the programs jfast is "
                            "running, with their sandbox and display.").parse_args(args)
    rows = [("PID", "SANDBOX", "PROGRAM", "DISPLAY", "RUN", "UPTIME", "COMMAND")]
    for r in runs.live(cache.cache_dir()):
        rows.append((str(r["pid"]), str(r.get("init") or "-"), str(r.get("program") or "-"),
                     r.get("display") or "none", r.get("run", "?"),
                     _age(_uptime(r)),
                     r.get("command", "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _uptime(run: dict) -> float:
    """Seconds since the run's jfast process started."""
    import psutil  # only here: `jfast ps` is no program's way to start
    try:
        return time.time() - psutil.Process(run["pid"]).create_time()
    except (psutil.Error, KeyError, TypeError):
        return time.time() - run.get("since", time.time())


def _age(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
