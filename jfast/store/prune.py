"""Removing cache entries: by size (least recently used first), by age, when
they can never be used again, and the leftovers of runs that did not finish.

Nothing in use is removed. An entry is removed under its exclusive lock,
taken without waiting: a run restoring from it holds the shared lock, so a
busy entry is skipped (and counted as kept). A partial checkpoint is removed
only when no run holds its key's make-lock, i.e. when the run that was
writing it is gone.

`enforce_cap` runs after each new checkpoint, so the cache stays under
JFAST_CACHE_MAX by itself.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from jfast.errors import BadSetting
from jfast.linux.fs import atomic_write, remove_tree, still
from jfast.log import warn
from jfast.settings import Settings
from jfast.store import locks
from jfast.store.entry import BadEntry, Entry
from jfast.store.inventory import Item, scan
from jfast.units import format_size, parse_size

DEFAULT_CAP = 4 << 30
NO_CAP = ("off", "none", "unlimited")


def cap(settings: Settings) -> int | None:
    """JFAST_CACHE_MAX in bytes (None: no limit). Raises BadSetting."""
    text = settings.cache_max
    if not text:
        return DEFAULT_CAP
    if text.lower() in NO_CAP:
        return None
    try:
        return parse_size(text)
    except ValueError as e:
        raise BadSetting(f"JFAST_CACHE_MAX: {e}, or off for no limit") from None


@dataclass
class Removal:
    item: Item
    reason: str
    done: bool = False           # False until removed; stays False if in use
    failed: str | None = None    # why it could not be removed (a read-only cache)


def removals(items: list[Item], now: float, max_size: int | None = None,
         max_age: float | None = None, stale=None) -> list[Removal]:
    """What to remove, in order: leftovers, entries that can never be used
    again (`stale(item)` says why), entries unused for longer than
    `max_age`, then the least recently used until the rest fit `max_size`.
    A class list waiting for its program's next run counts as an entry."""
    kept_kinds = ("entry", "classes")
    out = [Removal(i, LEFTOVER_REASONS[i.kind]) for i in items if i.kind not in kept_kinds]
    keep: list[Item] = []
    for item in (i for i in items if i.kind in kept_kinds):
        why = stale(item) if stale and item.kind == "entry" else None
        idle = now - item.last_activity
        if why:
            out.append(Removal(item, f"can never be used again: {why}"))
        elif max_age is not None and idle > max_age:
            out.append(Removal(item, f"unused for {_days(idle)}"))
        else:
            keep.append(item)
    if max_size is not None:
        total = sum(i.size for i in keep)
        for item in sorted(keep, key=lambda i: i.last_activity):
            if total <= max_size:
                break
            out.append(Removal(item, f"over the size limit of {format_size(max_size)}"))
            total -= item.size
    return out


LEFTOVER_REASONS = {
    "partial": "a checkpoint that was never finished",
    "quarantined": "damaged or refused, set aside",
    "replaced": "replaced by a newer checkpoint",
    "removing": "left over from a removal",
    "scratch": "scratch files of a run that did not finish",
    "unrestorable": "kept runs from checkpointing a program whose checkpoints failed "
                    "to restore; the next run tries again",
}


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f} days" if seconds >= 86400 else f"{seconds / 3600:.1f} h"


def remove(root: Path | str, item: Item) -> bool:
    """Remove one item; False when it is in use (nothing was touched).
    Raises OSError when it cannot be removed."""
    root = Path(root)
    if item.kind in ("entry", "partial") and "." not in item.name:
        lock = locks.entry_lock(root, item.key)
    elif item.kind == "partial":
        lock = locks.make_lock(root, item.key)       # held by the run writing it
    else:
        lock = None
    if lock is not None and not lock.acquire(blocking=False):
        return False
    gone = False
    try:
        target = item.path
        if item.kind == "entry" and item.path.exists() and _created(item.path) != item.created:
            return False                             # replaced since we looked: a new one
        if lock is not None and item.path.is_dir():
            # Out of sight under the lock; the slow delete happens after.
            target = item.path.with_name(f"{item.key}.trash.{os.getpid()}.{time.time_ns()}")
            try:
                os.rename(item.path, target)
            except FileNotFoundError:
                target = None                        # someone else removed it
        for extra in item.extra:
            _delete(extra)
        gone = True
    finally:
        if lock is not None:
            if gone and item.kind == "entry":
                lock.remove()                        # nothing left for it to guard
            else:
                lock.release()
    if target is not None:
        _delete(target)
    return True


def _created(path: Path) -> float | None:
    try:
        meta = Entry(path.parent.parent, path.name).meta()
    except BadEntry:
        return None
    return meta.created if meta else None


def _delete(path: Path) -> None:
    """Remove a file or folder; OSError when it could not be. A file there
    after a removal that worked is one made anew meanwhile (a run that ended
    beside us wrote its class list again): another run's, not a failure."""
    if not path.is_dir() or path.is_symlink():
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        return
    before = os.lstat(path)
    remove_tree(path)                 # quiet: what is left says what it could not do
    try:
        after = os.lstat(path)
    except FileNotFoundError:
        return
    if (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino):
        raise OSError(f"{path} could not be removed: "
                      + ("the cache is read-only" if not os.access(path.parent, os.W_OK)
                         else "permission denied"))


def run(root: Path | str, planned: list[Removal]) -> None:
    root = Path(root)
    for r in planned:
        try:
            r.done = remove(root, r.item)
        except OSError as e:
            r.failed = e.strerror or str(e)


def tidy(root: Path | str) -> None:
    """Drop lock files no entry needs and remembered digests of files that
    changed or went away (both only grow otherwise)."""
    root = Path(root)
    names = set(os.listdir(root / "entries"))
    pending = {n.partition(".")[0] for n in names if n.endswith(".pending")}
    for name in os.listdir(root / "locks"):
        key, _, kind = name.partition(".")
        if key in (names if kind == "lock" else pending):
            continue                                 # may be needed: leave it
        lock = locks.Lock(root / "locks" / name)
        if lock.acquire(blocking=False):
            lock.remove()
    memo = root / "memo.json"
    try:
        data = json.loads(memo.read_text())
    except (OSError, ValueError):
        return
    kept = {ident: v for ident, v in data.items() if still(ident)}
    if len(kept) != len(data):
        atomic_write(memo, json.dumps(kept))


def enforce_cap(root: Path | str, settings: Settings, made: str) -> str | None:
    """After a new checkpoint: evict least recently used entries (and
    leftovers) until the cache fits JFAST_CACHE_MAX. Returns why the new
    entry itself had to go, when it alone is over the limit."""
    root = Path(root)
    try:
        limit = cap(settings)
    except BadSetting as e:
        warn(f"{e}; using the default {format_size(DEFAULT_CAP)}")
        limit = DEFAULT_CAP
    items = scan(root)
    planned = removals(items, time.time(), max_size=limit)
    run(root, planned)
    tidy(root)
    for r in planned:
        if r.item.kind == "entry" and r.item.key == made and r.done:
            return (f"its {format_size(r.item.size)} are over JFAST_CACHE_MAX "
                    f"({format_size(limit or 0)})")
    return None
