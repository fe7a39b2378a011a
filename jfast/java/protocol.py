"""Ready points and the agent's pipes: what both the cold run (warmup.py)
and a restore (restore.py) need, kept apart so a restore loads no more."""

from __future__ import annotations

from jfast.errors import FastPathUnavailable

# Ready points from weakest to strongest (docs/architecture.md, "Ready points").
# A window outranks a socket: a GUI program that also listens (an editor's
# server) is warm once its window is up. A point the user names (explicit
# in the code, or a method's first call) outranks all: the agent reports
# only one of the two, as the mode says.
RANK = {"main": 0, "stdin": 1, "socket": 2, "window": 3, "explicit": 4, "call": 4}
READY_MODES = ("auto", "none", "main", "stdin", "socket", "window", "explicit",
               "call:CLASS.METHOD")
EV_FD, CMD_FD = 3, 4          # the agent's event and command pipes in the program


def checked(mode: str, where: str) -> str:
    """A ready mode, as given in `where` (JFAST_READY, or a line of the
    ready-points file): FastPathUnavailable naming the fix if unknown."""
    if mode in READY_MODES[:-1] or is_call_point(mode):
        return mode
    raise FastPathUnavailable(f"{where}: ready point {mode} is not known",
                              f"use one of {', '.join(READY_MODES)}")


def is_call_point(mode: str) -> bool:
    """call:CLASS.METHOD: a binary class name and a method's name (a
    constructor is <init>). Checked without `re`, which a restore never
    loads otherwise (jsoncodec.py)."""
    prefix, _, target = mode.partition(":")
    *names, method = target.split(".")
    return (prefix == "call" and bool(names) and all(map(_is_name, names))
            and (_is_name(method) or method == "<init>"))


def _is_name(name: str) -> bool:
    """A Java identifier: a letter or _ then letters, digits, _ or $."""
    return (name[:1].isalpha() or name[:1] == "_") and all(
        c.isalnum() or c in "_$" for c in name)
