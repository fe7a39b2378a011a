"""A warm run: restore a checkpoint into a fresh sandbox, rebinding stdio and
the agent's pipes to this run's, then wait for the program like java would."""

from __future__ import annotations

import _signal as signal  # without enum: see sandbox/sandbox.py
import os
import select
import threading
import time

from jfast import STARTED, jsoncodec
from jfast.criu import criu, kdat
from jfast.errors import FastPathUnavailable
from jfast.java.protocol import CMD_FD, EV_FD
from jfast.linux.fs import remove_tree
from jfast.log import VERBOSE, verbose
from jfast.report import Report
from jfast.sandbox import replay, rewrite, terminal
from jfast.sandbox.sandbox import Sandbox, Spawn
from jfast.sandbox.stdio import Stdio
from jfast.store import cache
from jfast.store.entry import RESTORE_FAILURES, Entry, Meta


def inherit_list(meta: Meta) -> list[tuple[int, str]]:
    """(our fd, CRIU resource) pairs: each recorded object gets the fd that
    now plays its part; fds that shared an object share the first fd."""
    pairs: dict[str, int] = {}
    for f in meta.stdio:
        pairs.setdefault(f["resource"], f["fd"])
    pairs[meta.pipes["ev"]] = EV_FD
    pairs[meta.pipes["cmd"]] = CMD_FD
    return [(fd, res) for res, fd in pairs.items()]


def restore(entry: Entry, meta: Meta, criu_path: str, io: Stdio,
            env: dict[str, str], report: Report) -> int:
    """Restore the entry's checkpoint and wait for the program like java
    would. The program goes on only once its agent has made it see this run
    (directory, environment, randomness) and said so; otherwise it is ended
    and FastPathUnavailable raised, before it has done anything, so that the
    launcher starts java instead."""
    work = cache.scratch(entry.root, "restore.")
    repeat = rewrite.Repeat(meta.steps, meta.writes, entry.images, first_fd=CMD_FD + 1)
    ev_r, ev_w = os.pipe()
    cmd_r, cmd_w = os.pipe()
    term = terminal.Adopted()
    try:
        repeat.open()
        sb = _start(entry, meta, criu_path, io, env, work, {EV_FD: ev_w, CMD_FD: cmd_r},
                    repeat)
        if sb.exec_at is not None:
            report.lap("sandbox", sb.exec_at)    # made, and criu exec'd in it
        report.lap("criu")                # criu restoring the program, start to exit
        # Signals sent to jfast reach the program from the moment it exists
        # (a stopped one gets them when it resumes).
        with sb.forwarding():
            try:
                _resume(sb, entry, meta, env, ev_r, cmd_w)
            except BaseException:
                sb.kill()    # still held at its ready point: the program has done nothing
                sb.wait()    # the sandbox is gone, and with it any half-restored process
                term.restored(None)
                raise
            report.lap("resume")          # the agent making it this run's
            report.ran("restored")
            io.started()
            term.restored(meta.termios)
            repeat.finish()             # what it appended to files before its checkpoint
            if meta.output is not None:  # what the cold run printed before its checkpoint
                replay.replay(entry.output)
            _send(cmd_w, "go")           # and now the program goes on
            report.lap("go")
            if VERBOSE:                  # the agent's lines from now on
                threading.Thread(target=_show_agent_lines, args=(os.dup(ev_r),),
                                 daemon=True).start()
            entry.touch()
            if term.fd is not None:
                sb.send_signal(signal.SIGWINCH)   # the size may differ from the cold run's
            code = sb.wait()
        report.exit_signal = sb.signal
        io.finish()
        from jfast.criu import images  # after the program: its dataclasses cost 6 ms
        own = images.restore_ms(work)
        if own is not None:
            report.timings_ms["criu_own"] = own
        return code
    except BaseException:
        repeat.abandon()     # before `finish`: the files as they were; after it, nothing
        raise
    finally:
        term.release()
        for fd in (ev_r, cmd_w):
            os.close(fd)
        remove_tree(work)


def _start(entry: Entry, meta: Meta, criu_path: str, io: Stdio, env: dict[str, str],
           work, agent_fds: dict[int, int], repeat: rewrite.Repeat) -> Sandbox:
    """A fresh sandbox in which criu has restored the program (stopped, if
    it has a private X server); FastPathUnavailable if criu could not."""
    facts = kdat.facts(str(entry.root), meta.material["criu"])
    virtual = meta.display.get("mode") == "virtual"
    pidfile = os.path.join(work, "pid")
    argv = criu.restore_argv(criu_path, entry.images, work, pidfile,
                             inherit_list(meta) + repeat.ids,
                             facts.hook if facts else None, leave_stopped=virtual)
    criu_env = {**env, "JFAST_KDAT": facts.facts} if facts else env
    try:
        sb = Sandbox(Spawn(argv=argv, env=criu_env, fds={**io.fds, **agent_fds, **repeat.fds},
                           restore_pidfile=pidfile,
                           run_facts=(facts.load() or b"") if facts else None,
                           private_x11=virtual))
    finally:
        for fd in agent_fds.values():
            os.close(fd)     # the sandbox has its copies
    state, detail = sb.next_status()
    entry.release()          # CRIU has read the images (admission.py took the lock)
    if state != "restored":
        sb.wait()
        reason = criu.log_tail(os.path.join(work, "restore.log")) if "criu" in detail else detail
        if entry.failed(reason):
            reason += f" (set aside after {RESTORE_FAILURES} failed restores in a row)"
        raise FastPathUnavailable("restore failed", reason)
    return sb


def _resume(sb: Sandbox, entry: Entry, meta: Meta, env: dict[str, str], ev_r: int,
            cmd_w: int) -> None:
    """Make the restored program this run's: its private display checked
    (display/xvfb.py), its agent told what a fresh run would see and its
    answer awaited. Raises FastPathUnavailable when either fails."""
    screen = meta.display
    if screen.get("mode") == "virtual":
        from jfast.display import xvfb
        try:
            xvfb.resume(sb.init_pid, sb.program_pid() or -1, screen["number"],
                        screen.get("window"))
        except OSError as e:
            raise FastPathUnavailable("restored display broken", str(e)) from e
        env = {**env, "DISPLAY": f":{screen['number']}"}   # still its private one
    # A fresh JVM would have started when this run did (RuntimeMXBean).
    started = time.time() - (time.monotonic() - STARTED)
    os.set_blocking(cmd_w, False)        # never hang on an agent that went away
    _send(cmd_w, "restored " + jsoncodec.dumps({"cwd": os.getcwd(), "env": env,
                                           "start_ms": int(started * 1000)}))
    word, _, what = _verdict(ev_r, sb).partition(": ")
    if word == "failed":
        entry.quarantine()               # the same JDK would fail the same way next time
        raise FastPathUnavailable("restore not faithful", f"the agent could not update {what}")
    if word == "silent":
        raise FastPathUnavailable("restore not faithful", what)


def _show_agent_lines(ev_r: int) -> None:
    """Print what the agent says after the restore (JFAST_VERBOSE), until it is gone."""
    buf = b""
    try:
        while chunk := os.read(ev_r, 4096):
            *lines, buf = (buf + chunk).split(b"\n")
            for line in lines:
                word, _, rest = line.decode(errors="replace").partition(" ")
                if word == "log":
                    verbose(f"agent: {rest}")
    except OSError:
        pass
    finally:
        os.close(ev_r)


def _send(cmd_w: int, line: str) -> None:
    try:
        os.write(cmd_w, f"{line}\n".encode())
    except OSError:
        pass                 # the agent is gone: the program runs on without it


# How long the agent may take to answer: its work takes 5-6 ms (Jetty); a
# loaded machine may stretch that, a JVM stopped in a debugger much more.
VERDICT_TIMEOUT = 30.0


def _verdict(ev_r: int, sb: Sandbox) -> str:
    """The agent's answer to `restored`: "ok" or "failed: WHAT"; "exited"
    when the program ended first (then its status is the run's); "silent:
    WHY" when the agent closed its pipe or said nothing in time."""
    pidfd = sb.pidfd()
    poller = select.poll()
    poller.register(ev_r, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    buf = b""
    deadline = time.monotonic() + VERDICT_TIMEOUT
    try:
        while (left := deadline - time.monotonic()) > 0:
            ready = {fd for fd, _ in poller.poll(left * 1000)}
            if ev_r in ready:
                chunk = os.read(ev_r, 4096)
                if not chunk:
                    return "silent: the agent closed its pipe"
                *lines, buf = (buf + chunk).split(b"\n")
                for line in lines:
                    word, _, rest = line.decode(errors="replace").strip().partition(" ")
                    if word == "resumed":
                        return rest
                    if word == "log":
                        verbose(f"agent: {rest}")
            elif pidfd in ready:
                return "exited"
        return f"silent: the agent did not answer in {VERDICT_TIMEOUT:.0f} s"
    finally:
        os.close(pidfd)
