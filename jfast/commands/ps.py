"""`jfast ps` and `jfast screenshot`: look at the programs jfast runs.

    jfast ps                          the running programs, their sandbox and display
    jfast screenshot [PID] [-o FILE]  a PNG of a virtual-display program's screen

PID is any PID that `jfast ps` shows for the run (jfast's, the sandbox's
or the program's); without it, the newest run with a virtual display.
"""

from __future__ import annotations

import argparse
import os
import time

from jfast.errors import JfastError
from jfast.store import cache, runs


def ps_main(args: list[str]) -> int:
    argparse.ArgumentParser(prog="jfast ps", description="List the programs jfast is "
                            "running, with their sandbox and display.").parse_args(args)
    rows = [("PID", "SANDBOX", "PROGRAM", "DISPLAY", "RUN", "UPTIME", "COMMAND")]
    for r in runs.live(cache.cache_dir()):
        rows.append((str(r["pid"]), str(r.get("init") or "-"), str(r.get("program") or "-"),
                     r.get("display") or "none", r.get("run", "?"),
                     _age(time.time() - r.get("since", time.time())),
                     r.get("command", "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _age(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def find_run(pid: int | None) -> dict:
    """The run `pid` belongs to, or the newest virtual-display run."""
    live = runs.live(cache.cache_dir())
    if pid is None:
        virtual = [r for r in live if r.get("number") is not None]
        if not virtual:
            raise JfastError("no program with a virtual display is running "
                             "(see `jfast ps`; start one with JFAST_DISPLAY=virtual)")
        return virtual[-1]
    for r in live:
        if pid in (r["pid"], r.get("init"), r.get("program")):
            return r
    raise JfastError(f"no program run by jfast has PID {pid}: see `jfast ps`")


def screenshot_main(args: list[str]) -> int:
    p = argparse.ArgumentParser(prog="jfast screenshot",
                                description="Write a PNG of the screen of a program "
                                "that runs on a virtual display.")
    p.add_argument("pid", nargs="?", type=int, help="a PID shown by `jfast ps`")
    p.add_argument("-o", "--output", help="the PNG file (default: jfast-PID.png)")
    opts = p.parse_args(args)
    run = find_run(opts.pid)
    if run.get("number") is None:
        raise JfastError(f"run {run['pid']} has no virtual display (display: "
                         f"{run.get('display') or 'none'}): its windows are on the caller's "
                         "display, so use that desktop's own screenshot tool")
    if not run.get("init"):
        raise JfastError(f"run {run['pid']} has no sandbox right now: try again")
    from jfast.display import png, xvfb, xwatch

    path = xvfb.socket_path(run["init"], run["number"])
    try:
        width, height, rgb = xwatch.grab(path)
    except Exception as e:  # python-xlib raises several unrelated types
        raise JfastError(f"cannot read the display of run {run['pid']}: {e}") from e
    out = opts.output or f"jfast-{run['pid']}.png"
    data = png.encode(width, height, rgb)
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    print(out)
    return 0
