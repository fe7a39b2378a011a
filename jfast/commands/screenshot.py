"""`jfast screenshot`: a PNG of the screen of a program on a virtual display.

    jfast screenshot [PID] [-o FILE]

PID is any PID that `jfast ps` shows for the run (jfast's, the sandbox's
or the program's); without it, the newest run with a virtual display.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jfast.errors import JfastError
from jfast.linux.fs import atomic_write
from jfast.store import cache, runs


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


def main(args: list[str]) -> int:
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
    atomic_write(Path(out), png.encode(width, height, rgb))
    print(out)
    return 0
