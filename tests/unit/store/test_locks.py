"""The entry and make locks (jfast/store/locks.py)."""

from __future__ import annotations

import os
from pathlib import Path

from jfast.store import locks


def test_one_maker_per_key_and_shared_restores_block_removal(tmp_path: Path):
    (tmp_path / "locks").mkdir()
    first = locks.claim(tmp_path, "k")
    assert first is not None and locks.claim(tmp_path, "k") is None
    first.release()
    assert locks.claim(tmp_path, "k") is not None
    a, b = locks.entry_lock(tmp_path, "k"), locks.entry_lock(tmp_path, "k")
    assert a.acquire(shared=True) and b.acquire(shared=True)        # two restores at once
    remover = locks.entry_lock(tmp_path, "k")
    assert not remover.acquire(blocking=False)
    a.release()
    b.release()
    assert remover.acquire(blocking=False)
    assert (tmp_path / "locks" / "k.lock").stat().st_mode & 0o777 == 0o600


def test_a_lock_file_removed_under_a_waiter_is_taken_afresh(tmp_path: Path):
    (tmp_path / "locks").mkdir()
    holder = locks.entry_lock(tmp_path, "k")
    holder.acquire()
    waiter = locks.entry_lock(tmp_path, "k")
    old_fd = os.open(waiter.path, os.O_RDONLY)      # the waiter opened the old file...
    holder.remove()                                 # ...which its holder then unlinked
    assert waiter.acquire(blocking=False)
    assert os.fstat(waiter.fd).st_ino == os.stat(waiter.path).st_ino != os.fstat(old_fd).st_ino
    os.close(old_fd)
