"""The cold run's own logic (jfast/cold/warmup.py): the agent's events, the
plain verdict at main, and refusing a checkpoint the agent cannot make
faithful. Whole cold runs are in tests/integration."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

from jfast.cold.warmup import MAIN_GAIN, ColdRun
from jfast.report import Report
from jfast.sandbox.stdio import Stdio


def cold_run(ready: str = "auto") -> ColdRun:
    run = ColdRun(SimpleNamespace(ready=ready), Report(), Stdio())
    run.ev_r, ev_w = os.pipe()
    cmd_r, run.cmd_w = os.pipe()
    run.test_pipes = (ev_w, cmd_r)
    return run


def test_agent_lines_are_split_and_its_word_on_the_jdk_kept_apart():
    run = cold_run()
    ev_w, _ = run.test_pipes
    os.write(ev_w, b"ready ex")
    assert run._read_events() and run._events == []          # half a line waits
    os.write(ev_w, b"plicit\nprepared missing: File's FileSystem\nenv HOME LANG\ngc done\n")
    run._read_events()
    assert run._events == ["ready explicit", "gc done"] and run._env_read == "HOME LANG"
    assert run._unfaithful() == ("on this JDK a restore could not update File's FileSystem "
                                 "(the agent found no such JDK internal)")
    os.write(ev_w, b"prepared ok\n")
    run._read_events()
    assert run._unfaithful() is None
    os.write(ev_w, b"refuse the kernel chose port 40000\nrefuse a later word\n")
    run._read_events()
    assert run._unfaithful() == "the kernel chose port 40000"     # the first word stands


def test_no_word_from_the_agent_is_no_checkpoint():
    assert "did not start" in cold_run()._unfaithful()
    run = cold_run()
    run._prepared = "ok"
    assert "environment variables" in run._unfaithful()    # no word on what it read


def test_a_quick_preload_at_main_makes_the_entry_plain():
    run = cold_run()
    _, cmd_r = run.test_pipes
    run._spawned = time.monotonic() - 0.100          # 100 ms since the JVM was spawned
    run._on_event("ready main 20")                   # 20 ms of it preloading: < 1.5 x 80
    assert run._plain and run.best < 0
    assert os.read(cmd_r, 10) == b"go\n"              # the agent goes on at once
    assert MAIN_GAIN == 1.5


def test_an_error_of_jfasts_own_lets_the_program_run_on():
    """The agent's command pipe closes (which releases every thread it holds)
    and jfast reads its events until the program is gone."""
    import subprocess
    run = cold_run()
    ev_w, cmd_r = run.test_pipes
    program = subprocess.Popen(["sleep", "0.3"])
    run.sandbox = SimpleNamespace(pidfd=lambda: os.pidfd_open(program.pid))
    os.write(ev_w, b"log still talking\n")
    os.close(ev_w)                                   # the program's end, as at its exit
    run._give_up(RuntimeError("a bug"))
    assert os.read(cmd_r, 10) == b""                 # EOF: the agent lets go
    assert (run.report.checkpoint, run.report.reason) == ("failed",
                                                          "internal error: RuntimeError: a bug")
    assert run.cmd_w == -1 and run.best == 99
    program.wait()
