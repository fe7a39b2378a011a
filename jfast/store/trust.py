"""Refuse cache files that another user could have written.

A checkpoint is process memory that jfast restores and runs as the user who
runs jfast (root included): an image another user could write is code that
user could make us run. So, one stat per path:
- the cache directory, its subdirectories, an entry and its files must be
  owned by us and not writable by group or others (jfast makes them 0700
  and 0600);
- every directory above the cache must be owned by us or root and not
  writable by group or others unless sticky (like /tmp): whoever can rename
  a parent can swap the cache under us.
"""

from __future__ import annotations

import os
import pwd
import stat

from jfast.errors import FastPathUnavailable
from jfast.log import warn

REFUSED = "cache directory not safe"


def owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def problem(path: str, st: os.stat_result | None = None,
            parent: bool = False) -> str | None:
    """Why `path` could have been written by another user, or None."""
    try:
        st = st or (os.stat(path) if parent else os.lstat(path))
    except OSError as e:
        return f"{path}: {e.strerror}"
    me = os.geteuid()
    if stat.S_ISLNK(st.st_mode) and not parent:
        return f"{path} is a symbolic link"
    if st.st_uid != me and not (parent and st.st_uid == 0):
        return f"{path} is owned by {owner_name(st.st_uid)}, not {owner_name(me)}"
    if st.st_mode & 0o022 and not (parent and st.st_mode & stat.S_ISVTX):
        return f"{path} is writable by other users"
    return None


def check_root(root: str) -> None:
    """Raise (after a warning on stderr) when the cache directory or a
    directory above it is not safe; tighten a directory of ours that is
    merely readable by others."""
    real = os.path.realpath(root)
    for parent in _above(real):
        why = problem(parent, parent=True)
        if why:
            refuse(why, "set JFAST_CACHE_DIR to a directory of your own")
    for sub in ("", "entries", "locks", "work"):
        path = os.path.join(real, sub) if sub else real
        why = problem(path)
        if why:
            refuse(why, f"set JFAST_CACHE_DIR to a directory of your own, or "
                        f"chown -R {owner_name(os.geteuid())} {real} && chmod -R go-rwx {real}")
        _tighten(path, 0o700)


def _above(path: str) -> list[str]:
    """The folders above an absolute `path`, from / down."""
    out = []
    while (parent := os.path.dirname(path)) != path:
        out.append(parent)
        path = parent
    return out[::-1]


def _tighten(path: str, mode: int) -> None:
    """Images are secrets: a directory of ours should not even be readable."""
    try:
        if os.lstat(path).st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except OSError:
        pass      # a read-only cache stays as it is


def refuse(why: str, fix: str, reason: str = REFUSED) -> None:
    """Say it on stderr (a security refusal is never silent) and fall back."""
    warn_refused(why, fix, reason)
    raise FastPathUnavailable(reason, why)


def warn_refused(why: str, fix: str, reason: str) -> None:
    warn(f"{reason}: {why}; {fix}")
