"""Ready points and the agent's pipes: what both the cold run (warmup.py)
and a restore (restore.py) need, kept apart so a restore loads no more."""

from __future__ import annotations

from jfast.errors import FastPathUnavailable
from jfast.settings import Settings

# Ready points from weakest to strongest (docs/architecture.md, "Ready points").
# A window outranks a socket: a GUI program that also listens (an editor's
# server) is warm once its window is up.
RANK = {"main": 0, "stdin": 1, "socket": 2, "window": 3, "explicit": 4}
READY_MODES = ("auto", "none", *RANK)
EV_FD, CMD_FD = 3, 4          # the agent's event and command pipes in the program


def ready_mode(settings: Settings) -> str:
    """JFAST_READY, checked."""
    mode = settings.ready
    if mode not in READY_MODES:
        raise FastPathUnavailable(f"JFAST_READY={mode} is not known",
                                  f"use one of {', '.join(READY_MODES)}")
    return mode
