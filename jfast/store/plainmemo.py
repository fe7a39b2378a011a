"""Command lines that java runs as they are (a `plain` entry: a restore would
start the program no sooner, cold/warmup.py's main_verdict), remembered by
the command line itself, so that such a run execs java before jfast loads
the rest of itself: the key needs the class path's digests, the display's
plan and most of jfast's modules (14 of a plain run's 25 ms over java).

`plain-memo` in the cache holds a line per command line: until when its
verdict stands, the entry's key, and the command line (how jfast was
invoked, its arguments, the working directory, the environment that shapes
the key or the java found, the identity of the user's ready-points file),
with backslash and newline escaped; tabs between. A hit counts as a use of
the entry, as the long way's does (`jfast cache list`, and pruning by age). No json: importing it costs 7 ms (re, enum).
A hit only ever runs java, the one jfast would find anyway: a stale or
planted line can cost a restore, never run anything else.
"""

from __future__ import annotations

import os
import time

from jfast.linux.fs import atomic_write, identity
from jfast.settings import Settings
from jfast.store import trust
from jfast.store.entry import Entry
from jfast.store.keyenv import KEY_ENV

MEMO = "plain-memo"
LIMIT = 200                     # command lines kept; the soonest to expire go first
FINDS_JAVA = ("PATH", "JAVA_HOME")   # besides KEY_ENV and jfast's own settings


def _line(argv: list[str], env: dict[str, str], invoked: str) -> str:
    ready = Settings(env).ready_points
    try:
        ready_id = identity(ready) if ready else ""
    except OSError:
        ready_id = ""
    shaping = sorted(f"{k}={v}" for k, v in env.items()
                     if k in KEY_ENV or k in FINDS_JAVA or k.startswith("JFAST_"))
    text = "\0".join([invoked, *argv, "\0", os.getcwd(), *shaping, "\0", ready_id])
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _load(root: str) -> dict[str, tuple[float, str]]:
    """Command line: (until when, the entry's key)."""
    path = os.path.join(root, MEMO)
    memo: dict[str, tuple[float, str]] = {}
    try:
        if trust.problem(path):
            return memo
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for record in f.read().split("\n"):
                until, _, rest = record.partition("\t")
                key, _, line = rest.partition("\t")
                try:
                    memo[line] = (float(until), key)
                except ValueError:
                    continue
    except OSError:
        pass
    return memo


def plain(root: str, argv: list[str], env: dict[str, str], invoked: str) -> bool:
    """Whether this command line's verdict is `plain` and still stands (and
    then its entry counts the use)."""
    try:
        line = _line(argv, env, invoked)
    except OSError:                 # no working directory: the long way says so
        return False
    until, key = _load(root).get(line, (0.0, ""))
    if time.time() >= until or not key.isalnum():
        return False
    Entry(root, key).touch()
    return True


def remember(root: str, argv: list[str], env: dict[str, str], invoked: str,
             key: str, until: float) -> None:
    """Remember this command line as plain until `until` (its entry's
    `key`); best effort."""
    try:
        now = time.time()
        memo = {k: v for k, v in _load(root).items() if v[0] > now}
        memo[_line(argv, env, invoked)] = (until, key)
        kept = sorted(memo.items(), key=lambda kv: kv[1][0])[-LIMIT:]
        text = "".join(f"{u}\t{k}\t{line}\n" for line, (u, k) in kept)
        atomic_write(os.path.join(root, MEMO), text.encode("utf-8", "surrogateescape"))
    except OSError:
        pass
