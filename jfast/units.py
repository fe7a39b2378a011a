"""Sizes and ages as people write and read them: `1.2 GiB`, `500M`, `30d`.

Pure functions, shared by the cache commands and the size cap.
"""

from __future__ import annotations

import re
import time

_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text: str) -> int:
    """Bytes from `1234`, `500K`, `1.5G`, `2GiB`, `100 MB` (all powers of 1024).

    Raises ValueError with a message that shows the accepted forms."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not m:
        raise ValueError(f"{text!r} is not a size: write e.g. 500M, 2G or 1.5GiB")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


def format_size(n: int) -> str:
    """`512 B`, `20.5 MiB`, `1.2 GiB`: three significant digits at most."""
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if n < 100 else f"{n:.0f} {unit}"
    raise AssertionError("unreachable")


def parse_age(text: str) -> float:
    """Seconds from `90` (seconds), `45s`, `30m`, `12h`, `7d`, `2w`."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text.lower())
    if not m:
        raise ValueError(f"{text!r} is not an age: write e.g. 12h, 7d or 2w")
    return float(m.group(1)) * _AGE_UNITS[m.group(2) or "s"]


def format_age(seconds: float) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `12 days ago`."""
    if seconds < 60:
        return "just now"
    for limit, div, unit in ((3600, 60, "min"), (86400, 3600, "h"), (float("inf"), 86400, "days")):
        if seconds < limit:
            n = int(seconds // div)
            return f"{n} {'day' if unit == 'days' and n == 1 else unit} ago"
    raise AssertionError("unreachable")


def when(epoch: float | None, now: float | None = None) -> str:
    """A time for a table: `never`, or how long ago."""
    if epoch is None:
        return "never"
    return format_age(max(0.0, (time.time() if now is None else now) - epoch))


def iso(epoch: float | None) -> str | None:
    """A time for JSON: ISO 8601 in UTC, or None."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
