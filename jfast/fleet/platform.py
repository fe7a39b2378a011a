"""What a checkpoint needs of the machine that restores it, besides the
program itself: the owner of the `platform` record an exported entry
carries (artifact.py), and of the check that this machine can restore it.

The image is process memory: it holds code compiled for the CPU's features
(HotSpot picks instructions by them at start-up), the kernel's and CRIU's
view of the process, the C library's and the JDK's mapped code, and the
uid the process runs as. So an entry restores on another machine only
where the CPU has every feature the making one had (a superset is fine,
as for CRaC's images), the architecture, kernel, CRIU, C library, page size
and root-or-user-namespace mode are the same, the restoring user is the
one that made it, and every file the image maps or reopens has the same
digest there (artifact.py checks those).
"""

from __future__ import annotations

import os

from jfast.linux.procfs import cpu_flags


def cpu_features() -> list[str]:
    """This CPU's feature flags, as /proc/cpuinfo names them."""
    return sorted(cpu_flags().partition(":")[2].split())


def facts(criu_version: str, rootless: bool) -> dict:
    """This machine's platform, as an exported entry records it."""
    return {
        "arch": os.uname().machine,
        "cpu_features": cpu_features(),
        "kernel": os.uname().release,
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "libc": os.confstr("CS_GNU_LIBC_VERSION") or "unknown",
        "criu": criu_version,
        "mode": "user namespace" if rootless else "root",
        "uid": os.getuid(),
    }


def mismatch(recorded: dict, here: dict) -> str | None:
    """Why an entry made on `recorded`'s platform cannot be restored on
    `here`'s, naming the field that differs; None if it can."""
    missing = sorted(set(recorded.get("cpu_features", [])) - set(here["cpu_features"]))
    if missing:
        shown = " ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        return f"cpu_features: this CPU lacks {len(missing)} the making one had ({shown})"
    for field in ("arch", "kernel", "page_size", "libc", "criu", "mode", "uid"):
        if recorded.get(field) != here[field]:
            return f"{field}: made on {recorded.get(field)!r}, here {here[field]!r}"
    return None
