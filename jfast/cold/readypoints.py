"""The ready points jfast sees from outside the program in a cold run
(docs/architecture.md, "Ready points"): the main thread blocking on a
terminal's stdin (a REPL at its prompt) and its first window on its private
display. The agent reports the others (main-entry, explicit, call, and the
socket point its native library sees: a server's first wait for a
connection).
"""

from __future__ import annotations

from jfast.java.protocol import RANK
from jfast.linux.procfs import reading


class Watch:
    """What a cold run still watches for, polled while the program starts."""

    def __init__(self, mode: str, stdin_is_tty: bool, display) -> None:
        self.stdin = mode in ("auto", "stdin") and stdin_is_tty
        self.display = display             # display/displayrun.py's ColdDisplay
        self.window = display.watching
        self._stdin_hits = 0
        self._started = None

    def interval(self, best: int, now: float | None = None) -> float | None:
        """Seconds until the next poll (often at first, less so later), or
        None when no point better than `best` is left to watch for."""
        import time
        now = time.monotonic() if now is None else now
        if self._started is None:
            self._started = now
        polling = ((self.stdin and best < RANK["stdin"])
                   or (self.window and best < RANK["window"]))
        if not polling:
            return None
        elapsed = now - self._started
        return 0.01 if elapsed < 2 else 0.05 if elapsed < 20 else 0.25

    def reached(self, pid: int, best: int) -> str | None:
        """The point the program `pid` has reached now, if better than `best`."""
        if self.window and best < RANK["window"] and self.display.window_ready():
            self.window = False
            return "window"
        if self.stdin and best < RANK["stdin"]:
            self._stdin_hits = self._stdin_hits + 1 if 0 in reading(pid) else 0
            if self._stdin_hits >= 2:         # blocked across two polls, not passing through
                self.stdin = False
                return "stdin"
        return None
