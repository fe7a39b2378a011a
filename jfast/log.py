"""Messages for humans on stderr: `JFAST_VERBOSE=1` turns on the details."""

from __future__ import annotations

import sys

from jfast.settings import current

VERBOSE = current().verbose


def verbose(msg: str) -> None:
    if VERBOSE:
        sys.stderr.write(f"jfast: {msg}\n")
        sys.stderr.flush()


def warn(msg: str) -> None:
    sys.stderr.write(f"jfast: {msg}\n")
    sys.stderr.flush()
