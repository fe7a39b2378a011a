"""What jfast asks of criu before it runs it (jfast/criu/criu.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jfast.criu import criu
from jfast.errors import FastPathUnavailable
from jfast.linux.fs import identity


def test_the_criu_version_is_asked_once_per_binary(tmp_path: Path):
    fake = tmp_path / "criu"
    calls = tmp_path / "calls"
    fake.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'Version: 4.2'\n")
    fake.chmod(0o755)
    memo = tmp_path / "criu-version"
    for _ in range(2):
        assert criu.require_usable(str(fake), memo, identity(str(fake))) == "4.2"
    assert calls.read_text() == "x\n"
    fake.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'Version: 3.17'\n")   # replaced
    with pytest.raises(FastPathUnavailable, match="too old"):
        criu.require_usable(str(fake), memo, identity(str(fake)))
    assert calls.read_text() == "x\nx\n"


def test_the_restore_command_rebinds_each_inherited_fd(tmp_path: Path):
    argv = criu.restore_argv("/usr/sbin/criu", tmp_path / "images", tmp_path, tmp_path / "pid",
                             [(0, "tty[1]"), (3, "pipe:[8]")], hook="/h.sh", leave_stopped=True)
    assert argv[:2] == ["/usr/sbin/criu", "restore"] and "--leave-stopped" in argv
    assert argv[argv.index("--action-script") + 1] == "/h.sh"
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "--inherit-fd"]
    assert pairs == ["fd[0]:tty[1]", "fd[3]:pipe:[8]"]


def test_a_log_tail_names_the_errors(tmp_path: Path):
    log = tmp_path / "restore.log"
    log.write_text("(00.01) a\n(00.02) Error (criu/files.c:1): Can't open file\n(00.03) b\n")
    assert "Can't open file" in criu.log_tail(log)


def test_a_gate_whose_reader_is_gone_is_no_error(tmp_path):
    """criu's gate script can end (its sandbox went with the program)
    between jfast's open of the gate and its word: nothing is left to tell."""
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    reader = os.open(gate, os.O_RDONLY | os.O_NONBLOCK)
    dump = object.__new__(criu.Dump)
    dump.gate, dump._gate_fd = str(gate), os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
    os.close(reader)
    dump._say(b"no\n")
    assert dump._gate_fd is None
