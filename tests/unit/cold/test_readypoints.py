"""Ready points seen from outside (jfast/cold/readypoints.py), on real
processes: a read of stdin."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import SimpleNamespace

from jfast.cold import readypoints
from jfast.java.protocol import RANK

NO_WINDOW = SimpleNamespace(watching=False, window_ready=lambda: False)


def until(check, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.02)
    return None


def test_polls_often_at_first_and_stop_when_nothing_better_is_left():
    watch = readypoints.Watch("auto", True, NO_WINDOW)
    assert watch.interval(-1, now=100.0) == 0.01
    assert watch.interval(-1, now=105.0) == 0.05
    assert watch.interval(-1, now=150.0) == 0.25
    assert watch.interval(RANK["stdin"], now=150.0) is None
    assert readypoints.Watch("explicit", True, NO_WINDOW).interval(-1) is None


def test_a_program_blocked_reading_stdin_twice_is_the_stdin_point():
    r, w = os.pipe()
    reader = subprocess.Popen([sys.executable, "-c", "import os; os.read(0, 1)"], stdin=r)
    try:
        watch = readypoints.Watch("stdin", True, NO_WINDOW)
        assert until(lambda: watch.reached(reader.pid, -1)) == "stdin"
    finally:
        os.write(w, b"x")
        reader.wait()
        os.close(r)
        os.close(w)
