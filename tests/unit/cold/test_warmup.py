"""The cold run's own logic (jfast/cold/warmup.py): the agent's events, the
plain verdict at main, and refusing a checkpoint the agent cannot make
faithful. Whole cold runs are in tests/integration."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

from jfast.cold.warmup import MAIN_GAIN, ColdRun, main_verdict
from jfast.report import Report
from jfast.sandbox.stdio import Stdio
from jfast.store.entry import Entry


def cold_run(ready: str = "auto", entry: Entry | None = None) -> ColdRun:
    run = ColdRun(SimpleNamespace(ready=ready, entry=entry, ahead=None), Report(), Stdio())
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


def test_a_quick_preload_at_main_makes_the_entry_plain(tmp_path: Path):
    (tmp_path / "entries").mkdir()
    run = cold_run(entry=Entry(str(tmp_path), "k"))
    _, cmd_r = run.test_pipes
    run._spawned = time.monotonic() - 0.100          # 100 ms since the JVM was spawned
    run._on_event("ready main 20")                   # 20 ms of it preloading: < 1.5 x 80
    assert run._plain and run.best < 0
    assert os.read(cmd_r, 10) == b"go\n"              # the agent goes on at once
    assert MAIN_GAIN == 1.5
    assert (tmp_path / "entries" / "k.samples").read_text() == "0.25\n"


def test_a_close_call_at_main_waits_for_more_runs(tmp_path: Path):
    (tmp_path / "entries").mkdir()
    entry = Entry(str(tmp_path), "k")
    verdicts = []
    for preload_ms in (60, 50, 45):                  # against 40 ms of start: 1.5, 1.25, 1.1
        run = cold_run(entry=entry)
        run._spawned = time.monotonic() - (0.040 + preload_ms / 1000)
        run._on_event(f"ready main {preload_ms}")
        verdicts.append((run._plain is not None, run._plain_later is not None))
    # Close to 1.5 each time: no verdict until the third, whose median is 1.25.
    assert verdicts == [(False, True), (False, True), (True, False)]


def test_the_main_verdict():
    assert main_verdict([3.0]) is True and main_verdict([0.5]) is False     # clear alone
    assert main_verdict([1.4]) is None and main_verdict([1.4, 1.6]) is None
    assert main_verdict([0.5, 1.4, 1.6, 1.7]) is True          # the last three's median
    assert main_verdict([1.4, 1.3, 1.7]) is False


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
