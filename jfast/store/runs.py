"""The programs jfast is running now: one small JSON file per run in the
cache's run/ directory, written when a sandbox starts and removed when the
run ends. A file whose jfast process is gone (killed, crashed) is ignored
and cleaned up by the next reader.

`jfast ps` and `jfast screenshot` read them; the sandbox's init and the
program are found from the jfast PID through /proc, so the file never
holds a PID that could be stale while its run is alive.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

from jfast import jsoncodec
from jfast.linux.fs import atomic_write
from jfast.linux.procfs import children, stat


def run_dir(root: str) -> str:
    return os.path.join(root, "run")


def _start_ticks(pid: int) -> str | None:
    """When the process started (clock ticks since boot): with the PID, it
    names one process, as PIDs are reused."""
    fields = stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def register(root: str, info: dict) -> str | None:
    """Record this process's run; returns the file to pass to `unregister`."""
    pid = os.getpid()
    record = {**info, "pid": pid, "start": _start_ticks(pid), "since": time.time()}
    d = run_dir(root)
    path = os.path.join(d, f"{pid}.json")
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        atomic_write(path, jsoncodec.dumps(record))
    except OSError:
        return None               # ps will not see this run; the run itself goes on
    return path


@contextmanager
def registered(root: str, run: str, key: str, argv: list[str], shown: dict):
    """Listed for `jfast ps` while the block runs (`run`: started|restored)."""
    path = register(root, {**shown, "run": run, "key": key, "command": " ".join(argv)})
    try:
        yield
    finally:
        unregister(path)


def unregister(path: str | None) -> None:
    if path is not None:
        try:
            os.unlink(path)
        except OSError:
            pass


def live(root: str) -> list[dict]:
    """Records of the runs whose jfast process is still alive, oldest first."""
    out = []
    d = run_dir(root)
    try:
        names = os.listdir(d)
    except OSError:
        return []
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(d, name)
        try:
            with open(path) as f:
                record = jsoncodec.loads(f.read())
        except (OSError, ValueError):
            continue
        if _start_ticks(record.get("pid", -1)) != record.get("start"):
            unregister(path)      # that run is over
            continue
        record.update(sandbox_of(record["pid"]))
        out.append(record)
    return sorted(out, key=lambda r: r.get("since", 0))


def _pid_in_namespace(pid: int) -> int | None:
    """The PID a process has in its own (innermost) pid namespace."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def sandbox_of(jfast_pid: int) -> dict:
    """{'init': host PID of the sandbox's init, 'program': host PID of the
    program} for a jfast process (jfast -> holder -> init -> program)."""
    for holder in children(jfast_pid):
        for init in children(holder):
            if _pid_in_namespace(init) == 1:
                programs = children(init)
                return {"init": init, "program": programs[-1] if programs else None}
    return {"init": None, "program": None}
