"""The run report: one JSON object per run, appended to $JFAST_REPORT."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

from . import __version__


@dataclass
class Report:
    outcome: str = "passthrough"       # restored | started | fallback | passthrough
    checkpoint: str = "none"           # created | none | failed
    key: str | None = None
    reason: str | None = None          # why the fast path was not taken
    ready_point: str | None = None     # where the checkpoint was (or is) taken
    exit_status: int | None = None
    exit_signal: int | None = None     # the signal the program died of, if it did
    program: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    jfast_version: str = __version__

    def __post_init__(self) -> None:
        self._t0 = time.monotonic()
        self._last = self._t0

    def lap(self, name: str) -> None:
        """Record the time since the previous lap under `name`."""
        now = time.monotonic()
        self.timings_ms[name] = round((now - self._last) * 1000, 2)
        self._last = now

    def write(self) -> None:
        self.timings_ms["total"] = round((time.monotonic() - self._t0) * 1000, 2)
        path = os.environ.get("JFAST_REPORT")
        if not path:
            return
        line = json.dumps(asdict(self), sort_keys=True) + "\n"
        try:
            # One write() on an O_APPEND fd keeps concurrent runs' lines whole.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except OSError:
            pass
