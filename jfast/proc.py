"""The one place that runs helper commands: logs them and keeps their output."""

from __future__ import annotations

import subprocess
import time

from .log import verbose


def run(argv: list[str], timeout: float | None = None, **kw) -> subprocess.CompletedProcess:
    """Run a helper to completion, capturing its output for error messages."""
    t0 = time.monotonic()
    res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=timeout, **kw)
    verbose(f"ran {' '.join(argv)} -> {res.returncode} in {(time.monotonic() - t0) * 1000:.0f} ms")
    return res
