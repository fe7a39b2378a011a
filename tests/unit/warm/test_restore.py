"""A restore's own logic (jfast/warm/restore.py): which fd plays which part,
and the agent's verdict. Whole restores are in tests/integration."""

from __future__ import annotations

import os
import subprocess
import time

from jfast.java.protocol import CMD_FD, EV_FD
from jfast.store.entry import Meta
from jfast.warm import restore


class Program:
    """Stands in for a Sandbox: a real process, for its pidfd."""

    def __init__(self, seconds: str = "30") -> None:
        self.proc = subprocess.Popen(["sleep", seconds])

    def pidfd(self) -> int:
        return os.pidfd_open(self.proc.pid)

    def end(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_each_recorded_object_gets_the_fd_that_plays_its_part():
    meta = Meta({"stdio": [{"fd": 0, "kind": "tty", "resource": "tty[1]"},
                           {"fd": 1, "kind": "tty", "resource": "tty[1]"},
                           {"fd": 2, "kind": "pipe", "resource": "pipe:[7]"}],
                 "pipes": {"ev": "pipe:[8]", "cmd": "pipe:[9]"}})
    assert restore.inherit_list(meta) == [(0, "tty[1]"), (2, "pipe:[7]"), (EV_FD, "pipe:[8]"),
                                          (CMD_FD, "pipe:[9]")]


def verdict_after(lines: bytes, close: bool = False, program: Program | None = None) -> str:
    program = program or Program()
    r, w = os.pipe()
    os.write(w, lines)
    if close:
        os.close(w)
    try:
        return restore._verdict(r, program)
    finally:
        os.close(r)
        if not close:
            os.close(w)
        program.end()


def test_the_agents_verdict():
    assert verdict_after(b"resumed ok\n") == "ok"
    assert verdict_after(b"noise\nresumed failed: java.io working directory\n") == \
        "failed: java.io working directory"
    assert verdict_after(b"", close=True).startswith("silent: the agent closed its pipe")


def test_a_program_that_ends_before_the_verdict():
    program = Program("0")
    time.sleep(0.2)                  # ended, not yet reaped: its pidfd says so
    assert verdict_after(b"", program=program) == "exited"


def test_an_agent_that_says_nothing_in_time(monkeypatch):
    monkeypatch.setattr(restore, "VERDICT_TIMEOUT", 0.2)
    assert verdict_after(b"") == "silent: the agent did not answer in 0 s"
