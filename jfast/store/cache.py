"""Where the checkpoint cache lives, and its layout.

Layout under the cache directory (0700):

    entries/<key>/            a published checkpoint (store/entry.py)
    entries/<key>.*.pending/  a checkpoint being written (renamed when done)
    entries/<key>.bad.<pid>/  a damaged or refused entry, set aside
    entries/<key>.classes     classes a cold run loaded, preloaded next time
    locks/<key>.lock|.make    see store/locks.py
    work/                     per-run scratch (CRIU logs)
    memo.json                 file digests by file identity (store/digests.py)
    display-memo.json         whether a jar's main class opens windows (display/display.py)
    plain-memo                command lines java runs as they are (store/plainmemo.py)
    criu-version              the version of the criu binary last seen (criu/criu.py)
    run/                      the runs going on now (store/runs.py)
    maintenance.lock          one `jfast cache prune` or `clear` at a time (commands/cache.py)

Paths are strings: pathlib costs a restore 4-5 ms to import (it loads
urllib.parse). Directories are 0700 and files 0600 (store/trust.py refuses anything another
user could have written). The key is store/key.py's, the entry's format
store/entry.py's, listing and pruning store/inventory.py's and prune.py's.
"""

from __future__ import annotations

import os
import time

from jfast.settings import Settings, current
from jfast.store import trust


def cache_dir(settings: Settings | None = None) -> str:
    """$JFAST_CACHE_DIR, else the user's cache directory as platformdirs
    finds it. The usual cases (an absolute $XDG_CACHE_HOME or $HOME) are
    worked out here, because importing platformdirs costs every run some
    6 ms (it loads tempfile, shutil, bz2 and lzma); a test holds the two
    answers equal."""
    chosen = (settings or current()).cache_dir
    if chosen:
        return chosen
    xdg, home = os.environ.get("XDG_CACHE_HOME", ""), os.environ.get("HOME", "")
    if os.path.isabs(xdg):
        return os.path.join(xdg, "jfast")
    if os.path.isabs(home):
        return os.path.join(home, ".cache", "jfast")
    import platformdirs
    return platformdirs.user_cache_dir("jfast", appauthor=False)


def ensure_dirs(root: str) -> None:
    """Create the cache (0700), then refuse it if another user could write it."""
    for sub in ("", "entries", "locks", "work"):
        os.makedirs(os.path.join(root, sub), mode=0o700, exist_ok=True)
    trust.check_root(root)


def writable(root: str) -> bool:
    """False for a cache on a read-only file system (restores still work)."""
    return os.access(os.path.join(root, "entries"), os.W_OK)


def scratch(root: str, prefix: str) -> str:
    """A private scratch directory: in the cache's work/, else (a read-only
    or full cache) in the system's temporary directory."""
    path = os.path.join(root, "work", f"{prefix}{os.getpid()}.{time.monotonic_ns()}")
    try:
        os.mkdir(path, mode=0o700)
        return path
    except OSError:
        import tempfile  # rare: tempfile costs a restore 2 ms to import

        return tempfile.mkdtemp(prefix=f"jfast-{prefix}")
