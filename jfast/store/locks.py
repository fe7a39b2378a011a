"""Locks beside cache entries: flock(2) on small files under `locks/`.

    locks/<key>.lock   shared while a run restores from the entry (CRIU is
                       reading its images); exclusive while the entry is
                       published, set aside or removed
    locks/<key>.make   held by the one run that is making the key's
                       checkpoint; a run that finds it taken runs on without
                       making one, so N cold runs make one checkpoint

A flock goes away with the process that held it, so a jfast killed with
SIGKILL never leaves a stale lock. Lock files are unlinked only by a holder
of their exclusive lock; a run that opened the file before it went checks,
once it has the lock, that the path still names the file it locked, and
starts over if not.
"""

from __future__ import annotations

import errno
import fcntl
import os


class Lock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, shared: bool = False, blocking: bool = True) -> bool:
        """Take the lock; False when `blocking` is off and someone holds it."""
        op = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB)
        while True:
            fd = self._open()
            if fd is None:
                return True      # a read-only cache without this file: nothing can change
            try:
                fcntl.flock(fd, op)
            except BlockingIOError:
                os.close(fd)
                return False
            try:
                st, mine = os.stat(self.path), os.fstat(fd)
                same = (st.st_ino, st.st_dev) == (mine.st_ino, mine.st_dev)
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)         # unlinked while we waited: lock the file there now

    def _open(self) -> int | None:
        flags = os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | flags, 0o600)
        except OSError as e:
            if e.errno not in (errno.EROFS, errno.EACCES):
                raise
        try:
            return os.open(self.path, os.O_RDONLY | flags)   # flock needs no write access
        except FileNotFoundError:
            return None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def remove(self) -> None:
        """Unlink the lock file, then release it (hold it exclusively first)."""
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.release()

    def __enter__(self) -> Lock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def entry_lock(root: str, key: str) -> Lock:
    return Lock(os.path.join(root, "locks", f"{key}.lock"))


def make_lock(root: str, key: str) -> Lock:
    return Lock(os.path.join(root, "locks", f"{key}.make"))


def claim(root: str, key: str) -> Lock | None:
    """The right to make `key`'s checkpoint, or None if another run has it."""
    lock = make_lock(root, key)
    return lock if lock.acquire(blocking=False) else None
