"""The terminal a restored program wakes up on.

Terminal settings belong to the terminal, not to the process, so a
checkpoint does not hold them. A program that switched its terminal to
raw mode before its ready point (a line editor, a full-screen program)
would wake up on a terminal in the caller's cooked mode. So the cold run
records the settings at the checkpoint and a restore puts them on the
caller's terminal (CRIU also does, with the size); if the program leaves
them that way when it ends (it died, say), the caller's own settings come
back, as a shell does for a job killed by a signal. The size is put back
to the caller's at once, and the program gets a SIGWINCH to read it.
"""

from __future__ import annotations

import fcntl
import os
import termios


def tty_fd() -> int | None:
    for fd in (0, 1, 2):
        if os.isatty(fd):
            return fd
    return None


def _as_ints(attrs: list) -> list:
    """tcgetattr's answer as JSON-able ints."""
    *flags, cc = attrs
    return [*flags, [c if isinstance(c, int) else c[0] for c in cc]]


def foreground() -> bool:
    """Whether we (so the program, for the shell) own our terminal now, or
    there is none. In the background the terminal has the shell's settings,
    not the program's, and a checkpoint would keep those."""
    fd = tty_fd()
    if fd is None:
        return True
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return True


def settings() -> list | None:
    """The settings of our terminal, for the manifest; None without one."""
    fd = tty_fd()
    if fd is None:
        return None
    try:
        return _as_ints(termios.tcgetattr(fd))
    except termios.error:
        return None


class Adopted:
    """The caller's terminal across one restore. CRIU puts the checkpoint's
    settings and size on an inherited terminal; the settings are what the
    program expects, but the size must be the caller's own again."""

    def __init__(self) -> None:
        """Call before the restore: remembers the caller's settings and size."""
        self.fd = tty_fd()
        self.original: list | None = None
        self.size: bytes | None = None
        self.applied: list | None = None
        if self.fd is None:
            return
        try:
            self.original = termios.tcgetattr(self.fd)
            self.size = fcntl.ioctl(self.fd, termios.TIOCGWINSZ, b"\0" * 8)
        except OSError:
            self.fd = None

    def restored(self, recorded: list | None) -> None:
        """Call once the program is back: its settings, the caller's size."""
        if self.fd is None or self.original is None:
            return
        try:
            if self.size is not None and fcntl.ioctl(
                    self.fd, termios.TIOCGWINSZ, b"\0" * 8) != self.size:
                fcntl.ioctl(self.fd, termios.TIOCSWINSZ, self.size)
            current = _as_ints(termios.tcgetattr(self.fd))
            wanted = recorded or _as_ints(self.original)
            if current != wanted:
                termios.tcsetattr(self.fd, termios.TCSANOW, wanted)
                current = wanted
            if current != _as_ints(self.original):
                self.applied = current
        except (OSError, TypeError, ValueError):
            self.applied = None

    def release(self) -> None:
        """After the program: the caller's settings back, unless the program
        changed them itself (it restored its own, as it would under java)."""
        if self.applied is None or self.fd is None:
            return
        try:
            if _as_ints(termios.tcgetattr(self.fd)) == self.applied:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.original)
        except termios.error:
            pass
