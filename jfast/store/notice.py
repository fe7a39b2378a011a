"""Messages a user should read once, not on every run: why the fast path is
off for them and how to turn it on. A marker file per message remembers."""

from __future__ import annotations

import os

from jfast.linux.sha256 import sha256
from jfast.log import warn
from jfast.store import cache


def once(message: str) -> None:
    try:
        folder = os.path.join(cache.cache_dir(), "notices")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        marker = os.path.join(folder, sha256(message.encode()).hexdigest()[:16])
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    except OSError:
        pass                # nowhere to remember it: say it every time
    warn(f"the fast path is off: {message}. Programs run normally under java; "
         "`jfast doctor` checks the whole set-up. (Said once.)")
