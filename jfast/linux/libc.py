"""The C library, for the system calls Python's os module lacks (unshare,
mount, setns, capset, prctl, fanotify, statfs), and its error check."""

from __future__ import annotations

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)


def check(ret: int, what: str) -> None:
    """Raise OSError with errno when a call returned non-zero."""
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
