"""Ready points seen from outside (jfast/cold/readypoints.py), on real
processes: a listening socket, a read of stdin."""

from __future__ import annotations

import os
import socket
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
    assert watch.interval(RANK["socket"], now=150.0) is None
    assert readypoints.Watch("explicit", True, NO_WINDOW).interval(-1) is None


def test_a_fresh_listening_socket_is_the_socket_point():
    watch = readypoints.Watch("socket", False, NO_WINDOW)
    server = subprocess.Popen([sys.executable, "-c",
                               "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',0)); "
                               "s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        assert until(lambda: watch.reached(server.pid, -1)) == "socket"
        assert watch.reached(server.pid, -1) is None          # said once
    finally:
        server.kill()
        server.wait()


def test_a_socket_that_already_served_is_no_point():
    watch = readypoints.Watch("socket", False, NO_WINDOW)
    server = subprocess.Popen([sys.executable, "-c",
                               "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',0)); "
                               "s.listen(); print(s.getsockname()[1], flush=True); "
                               "c=s.accept(); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        client = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.1)
        assert watch.reached(server.pid, -1) is None and not watch.socket
        client.close()
    finally:
        server.kill()
        server.wait()


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


LISTENER = """if 1:
    import socket, sys
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    print(s.getsockname()[1], flush=True)
    sys.stdin.read()
"""


def test_the_cold_runs_poll_tells_a_fresh_listening_socket_from_a_used_one():
    """What a cold run polls for besides the native listen(2) point
    (readypoints._listening): the program's socket fds against the
    kernel's TCP tables (jfast/linux/sockdiag.py), on a real listening process."""
    child = subprocess.Popen([sys.executable, "-c", LISTENER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        assert readypoints._listening(child.pid, readypoints._Before()) is None   # listening before
        before = readypoints._Before()
        before.listeners.clear()
        assert readypoints._listening(child.pid, before) == "fresh"
        with socket.create_connection(("127.0.0.1", port)):
            assert readypoints._listening(child.pid, before) == "used"
            # a connection that was there before the program is not its own
            before.connections = readypoints._connections()
            assert readypoints._listening(child.pid, before) == "fresh"
    finally:
        child.kill()
        child.wait()
