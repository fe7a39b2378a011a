"""A warm run: restore a checkpoint into a fresh sandbox, rebinding stdio and
the agent's pipes to this run's, then wait for the program like java would."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from . import cache, criu, kdat, replay, terminal
from .errors import FastPathUnavailable
from .ready import CMD_FD, EV_FD
from .report import Report
from .sandbox import Sandbox, Spawn
from .stdio import Stdio


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
            env: dict[str, str], report: Report, native: Path | None) -> int:
    """Restore the entry's checkpoint; `native` is the agent's JNI helper
    when this JVM can load it (jars.native_helper)."""
    ev_r, ev_w = os.pipe()
    cmd_r, cmd_w = os.pipe()
    work = cache.scratch(entry.root, "restore.")
    term = terminal.Adopted()
    facts = kdat.plan(str(entry.root), meta["material"]["criu"])
    # An image with a private X server comes back stopped: xvfb.resume checks
    # the display before the program runs.
    screen = meta.get("display") or {}
    virtual = screen.get("mode") == "virtual"
    argv = criu.restore_argv(criu_path, entry.images, work, work / "pid", inherit_list(meta),
                             facts.hook if facts else None, leave_stopped=virtual)
    criu_env = {**env, "JFAST_KDAT": facts.facts} if facts else env
    sb = Sandbox(Spawn(argv=argv, env=criu_env, fds={**io.fds, EV_FD: ev_w, CMD_FD: cmd_r},
                       restore_pidfile=str(work / "pid"),
                       run_facts=(facts.load() or b"") if facts else None,
                       private_x11=virtual))
    os.close(ev_w)
    os.close(cmd_r)
    state, detail = sb.next_status()
    entry.release()          # CRIU has read the images (admission.py took the lock)
    failure = None
    # Signals sent to jfast reach the program from the moment it exists (a
    # stopped one gets them when it resumes).
    forwarding = sb.forwarding()
    if state != "restored":
        reason = criu.log_tail(work / "restore.log") if "criu" in detail else detail
        failure = FastPathUnavailable("restore failed", reason)
    else:
        forwarding.__enter__()
    if failure is None and virtual:
        from . import xvfb

        try:
            xvfb.resume(sb.init_pid, sb.program_pid() or -1, screen["number"],
                        screen.get("window"))
        except (FastPathUnavailable, OSError) as e:
            sb.kill()        # still stopped: the program has done nothing
            failure = e if isinstance(e, FastPathUnavailable) else \
                FastPathUnavailable("restored display broken", str(e))
    if failure is not None:
        forwarding.__exit__(None, None, None)
        sb.wait()            # the sandbox is gone, and with it any half-restored process
        term.restored(None)
        term.release()
        for fd in (ev_r, cmd_w):
            os.close(fd)
        cache.remove_tree(work)
        raise failure
    report.lap("restore")
    report.outcome = "restored"
    io.started()
    term.restored(meta.get("termios"))
    replay.replay(entry.dir, meta)       # what the cold run printed before its checkpoint
    # The agent wakes on this line; it carries what a fresh run would see.
    hello = {"cwd": os.getcwd(), "env": env, "native": str(native) if native else None}
    if virtual:              # the program's display is still its private one
        hello["env"] = {**env, "DISPLAY": f":{screen['number']}"}
    os.set_blocking(cmd_w, False)    # never hang on an agent that went away
    try:
        os.write(cmd_w, f"restored {json.dumps(hello)}\n".encode())
    except OSError:
        pass
    entry.touch()
    if term.fd is not None:
        sb.send_signal(signal.SIGWINCH)   # the size may differ from the cold run's
    try:
        code = sb.wait()
    finally:
        forwarding.__exit__(None, None, None)
    term.release()
    report.exit_signal = sb.signal
    io.finish()
    for fd in (ev_r, cmd_w):
        os.close(fd)
    cache.remove_tree(work)
    return code
