"""Messages for humans on stderr: `JFAST_VERBOSE=1` turns on the details."""

from __future__ import annotations

import sys

from jfast.settings import current

VERBOSE = current().verbose


def verbose(msg: str) -> None:
    if VERBOSE:
        warn(msg)


def warn(msg: str) -> None:
    """One line on stderr; none where the caller closed it (`2>&-`)."""
    try:
        sys.stderr.write(f"jfast: {msg}\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def flush() -> bool:
    """Flush stdout and stderr before an exec or exit, as far as the caller
    left them open (a daemon or cron job may close them: `>&-`). False when
    one could not take what was written to it."""
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            ok = False
    return ok
