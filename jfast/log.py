"""Messages for humans on stderr: `JFAST_VERBOSE=1` turns on the details."""

from __future__ import annotations

import os
import sys

VERBOSE = os.environ.get("JFAST_VERBOSE", "") not in ("", "0")


def verbose(msg: str) -> None:
    if VERBOSE:
        sys.stderr.write(f"jfast: {msg}\n")
        sys.stderr.flush()


def warn(msg: str) -> None:
    sys.stderr.write(f"jfast: {msg}\n")
    sys.stderr.flush()
