"""The C library, for the system calls Python's os module lacks (unshare,
mount, setns, capset, prctl, fanotify, statfs, kcmp), and its error check."""

from __future__ import annotations

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)


def check(ret: int, what: str) -> None:
    """Raise OSError with errno when a call returned non-zero."""
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


# kcmp(2) is not in every libc; its number per architecture (asm/unistd.h).
_SYS_KCMP = {"x86_64": 312, "aarch64": 272}.get(os.uname().machine)
_KCMP_FILE = 0


def same_open_file(fd1: int, fd2: int) -> bool | None:
    """Whether two of our fds are one open file (dup'ed or inherited as one),
    which (device, inode) cannot tell: `>/dev/null 2>/dev/null` opens one
    inode twice. None where kcmp is unknown or refused (seccomp)."""
    if _SYS_KCMP is None:
        return None
    pid = os.getpid()
    ret = libc.syscall(_SYS_KCMP, pid, pid, _KCMP_FILE, fd1, fd2)
    return None if ret < 0 else ret == 0
