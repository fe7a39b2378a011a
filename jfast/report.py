"""The run report: one JSON object per run, appended to $JFAST_REPORT."""

from __future__ import annotations

import os
import time

from jfast import STARTED, __version__, jsoncodec
from jfast.settings import current


class Report:
    FIELDS = ("outcome", "checkpoint", "key", "reason", "ready_point", "exit_status",
              "exit_signal", "program", "display", "timings_ms", "jfast_version")

    def __init__(self) -> None:
        self.outcome = "passthrough"         # restored | started | fallback | passthrough
        self.checkpoint = "none"             # created | none | failed
        self.key: str | None = None
        self.reason: str | None = None       # why the fast path was not taken
        self.ready_point: str | None = None  # where the checkpoint was (or is) taken
        self.exit_status: int | None = None
        self.exit_signal: int | None = None  # the signal the program died of, if it did
        self.program = ""
        self.display: str | None = None      # virtual | host | none (JFAST_DISPLAY)
        self.timings_ms: dict[str, float] = {}
        self.jfast_version = __version__
        self.program_ran = False                 # not in the report: see ran()
        self.try_again = False      # not in the report: no checkpoint, by a timing another run may miss
        self._t0 = STARTED
        self._last = STARTED
        self.lap("imports")

    def ran(self, outcome: str) -> None:
        """The program started: `started` (a cold run) or `restored`. From
        then on a failure must not lead to starting it again (program_ran)."""
        self.outcome = outcome
        self.program_ran = True

    def lap(self, name: str, now: float | None = None) -> None:
        """Record the time since the previous lap under `name`, until `now`
        (time.monotonic()'s) or this moment."""
        now = time.monotonic() if now is None else now
        self.timings_ms[name] = round((now - self._last) * 1000, 2)
        self._last = now

    def write(self) -> None:
        self.timings_ms["total"] = round((time.monotonic() - self._t0) * 1000, 2)
        path = current().report
        if not path:
            return
        line = jsoncodec.dumps({k: getattr(self, k) for k in self.FIELDS}, sort_keys=True) + "\n"
        try:
            # One write() on an O_APPEND fd keeps concurrent runs' lines whole.
            # Not through a link: in a shared sticky folder another user's
            # planted one would have us append to a file of theirs.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except OSError:
            pass
