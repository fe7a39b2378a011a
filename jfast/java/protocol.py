"""Ready points and the agent's pipes: what both the cold run (warmup.py)
and a restore (restore.py) need, kept apart so a restore loads no more."""

from __future__ import annotations

import re

from jfast.errors import FastPathUnavailable

# Ready points from weakest to strongest (docs/architecture.md, "Ready points").
# A window outranks a socket: a GUI program that also listens (an editor's
# server) is warm once its window is up. A point the user names (explicit
# in the code, or a method's first call) outranks all: the agent reports
# only one of the two, as the mode says.
RANK = {"main": 0, "stdin": 1, "socket": 2, "window": 3, "explicit": 4, "call": 4}
READY_MODES = ("auto", "none", "main", "stdin", "socket", "window", "explicit",
               "call:CLASS.METHOD")
# A binary class name and a method's name (a constructor is <init>).
CALL_POINT = re.compile(r"call:[^\W\d][\w$]*(?:\.[^\W\d][\w$]*)*\.(?:[^\W\d][\w$]*|<init>)")
EV_FD, CMD_FD = 3, 4          # the agent's event and command pipes in the program


def checked(mode: str, where: str) -> str:
    """A ready mode, as given in `where` (JFAST_READY, or a line of the
    ready-points file): FastPathUnavailable naming the fix if unknown."""
    if mode in READY_MODES[:-1] or CALL_POINT.fullmatch(mode):
        return mode
    raise FastPathUnavailable(f"{where}: ready point {mode} is not known",
                              f"use one of {', '.join(READY_MODES)}")
