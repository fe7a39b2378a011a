"""The sandbox (jfast/sandbox/sandbox.py): what can be checked without
namespaces. Runs in one are tested in tests/integration."""

from __future__ import annotations

import os
import signal
import subprocess

from jfast.sandbox.sandbox import PROGRAM_PID, exit_code


def test_exit_status_as_a_shell_reports_it():
    done = subprocess.run(["sh", "-c", "exit 7"])
    assert exit_code(7 << 8) == 7 == done.returncode
    child = os.fork()
    if child == 0:
        os.kill(os.getpid(), signal.SIGTERM)
        os._exit(0)
    _, status = os.waitpid(child, 0)
    assert exit_code(status) == 128 + signal.SIGTERM


def test_the_program_runs_high_above_criu_s_own_pids():
    assert PROGRAM_PID >= 1000
