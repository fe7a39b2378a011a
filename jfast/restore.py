"""A warm run: restore a checkpoint into a fresh sandbox, rebinding stdio and
the agent's pipes to this run's, then wait for the program like java would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

from . import cache, criu, jars, replay, terminal
from .errors import FastPathUnavailable
from .report import Report
from .sandbox import Sandbox, Spawn
from .stdio import Stdio
from .warmup import CMD_FD, EV_FD


def inherit_list(meta: dict) -> list[tuple[int, str]]:
    """(our fd, CRIU resource) pairs: each recorded object gets the fd that
    now plays its part; fds that shared an object share the first fd."""
    pairs: dict[str, int] = {}
    for f in meta["stdio"]:
        pairs.setdefault(f["resource"], f["fd"])
    pairs[meta["pipes"]["ev"]] = EV_FD
    pairs[meta["pipes"]["cmd"]] = CMD_FD
    return [(fd, res) for res, fd in pairs.items()]


def restore(entry: cache.Entry, meta: dict, criu_path: str, io: Stdio,
            env: dict[str, str], report: Report) -> int:
    ev_r, ev_w = os.pipe()
    cmd_r, cmd_w = os.pipe()
    work = Path(tempfile.mkdtemp(prefix="restore.", dir=entry.root / "work"))
    term = terminal.Adopted()
    argv = criu.restore_argv(criu_path, entry.images, work, work / "pid", inherit_list(meta))
    sb = Sandbox(Spawn(argv=argv, env=env, fds={**io.fds, EV_FD: ev_w, CMD_FD: cmd_r},
                       restore_pidfile=str(work / "pid")))
    os.close(ev_w)
    os.close(cmd_r)
    state, detail = sb.next_status()
    if state != "restored":
        sb.wait()            # the sandbox is gone, and with it any half-restored process
        term.restored(None)
        term.release()
        for fd in (ev_r, cmd_w):
            os.close(fd)
        reason = criu.log_tail(work / "restore.log") if "criu" in detail else detail
        shutil.rmtree(work, ignore_errors=True)
        raise FastPathUnavailable("restore failed", reason)
    report.lap("restore")
    report.outcome = "restored"
    io.started()
    term.restored(meta.get("termios"))
    replay.replay(entry.dir, meta)       # what the cold run printed before its checkpoint
    # The agent wakes on this line; it carries what a fresh run would see.
    native = jars.native_helper()
    hello = {"cwd": os.getcwd(), "env": env, "native": str(native) if native else None}
    os.set_blocking(cmd_w, False)    # never hang on an agent that went away
    try:
        os.write(cmd_w, f"restored {json.dumps(hello)}\n".encode())
    except OSError:
        pass
    entry.touch()
    if term.fd is not None:
        sb.send_signal(signal.SIGWINCH)   # the size may differ from the cold run's
    with sb.forwarding():
        code = sb.wait()
    term.release()
    report.exit_signal = sb.signal
    io.finish()
    for fd in (ev_r, cmd_w):
        os.close(fd)
    shutil.rmtree(work, ignore_errors=True)
    return code
