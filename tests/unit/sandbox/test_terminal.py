"""The caller's terminal across a restore (jfast/sandbox/terminal.py), on a
real pseudo-terminal in a child process."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import fcntl, struct, sys, termios
from jfast.sandbox import terminal
fd = 0
size = lambda: struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
before = terminal.settings()
raw = [a if i != 3 else a & ~termios.ECHO for i, a in enumerate(before)]   # what "criu" left
adopted = terminal.Adopted()
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))     # the image's size
adopted.restored(raw)
during = terminal.settings()
adopted.release()
after = terminal.settings()
print(size(), during[3] & termios.ECHO == 0, after == before, terminal.foreground(),
      file=sys.stderr)
"""


def test_the_program_gets_its_settings_and_the_caller_keeps_its_size():
    main, side = pty.openpty()
    proc = subprocess.run([sys.executable, "-c", CHILD], stdin=side, stdout=side,
                          stderr=subprocess.PIPE, text=True, start_new_session=True,
                          cwd=Path(__file__).resolve().parents[3])
    os.close(side)
    os.close(main)
    assert proc.stderr.strip().splitlines()[-1] == "(40, 120) True True True", proc.stderr


def test_no_terminal_no_settings():
    res = subprocess.run([sys.executable, "-c", "from jfast.sandbox import terminal; "
                          "print(terminal.settings(), terminal.foreground())"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert res.stdout.strip() == "None True"
