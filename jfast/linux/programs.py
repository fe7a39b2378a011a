"""The one place that runs helper commands: finds them, logs them and keeps
their output. subprocess loads only when a helper runs: a restore runs none."""

from __future__ import annotations

import os
import time

from jfast.log import verbose


def which(name: str, path: str | None = None, accept=None) -> str | None:
    """shutil.which without importing shutil (and its compression modules):
    the first executable `name` on `path` (default $PATH) that `accept`, if
    given, takes."""
    for d in (os.environ.get("PATH", os.defpath) if path is None else path).split(os.pathsep):
        found = os.path.join(d or ".", name)
        if os.path.isfile(found) and os.access(found, os.X_OK) and (accept is None
                                                                    or accept(found)):
            return found
    return None


def run(argv: list[str], timeout: float | None = None, **kw):
    """Run a helper to completion, capturing its output for error messages."""
    import subprocess

    t0 = time.monotonic()
    res = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=timeout, **kw)
    verbose(f"ran {' '.join(argv)} -> {res.returncode} in {(time.monotonic() - t0) * 1000:.0f} ms")
    return res
