"""The one place that runs helper commands: finds them, logs them and keeps
their output. subprocess loads only when a helper runs: a restore runs none."""

from __future__ import annotations

import os
import time

from .log import verbose


def which(name: str) -> str | None:
    """shutil.which without importing shutil (and its compression modules)."""
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(d or ".", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def run(argv: list[str], timeout: float | None = None, **kw):
    """Run a helper to completion, capturing its output for error messages."""
    import subprocess

    t0 = time.monotonic()
    res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=timeout, **kw)
    verbose(f"ran {' '.join(argv)} -> {res.returncode} in {(time.monotonic() - t0) * 1000:.0f} ms")
    return res
