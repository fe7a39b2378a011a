"""CRIU's kernel facts, kept between restores where CRIU cannot keep them.

Every criu run first probes the kernel (netns, iptables, vdso, CPU and
pagemap features): about 35 ms here, a quarter of a restore. CRIU caches the
result in /run/criu.kdat, but only when /run is a tmpfs, so that a reboot
forgets it; on hosts whose /run is a plain directory it probes every time.

There, the restore sandbox (a private mount namespace) gets a small tmpfs
over /run holding the facts saved from an earlier restore of this boot and
this criu. CRIU reads them at start-up; at its `pre-restore` stage, before
it creates the program's processes or opens any of their files, the hook
below saves the facts if they were new and unmounts the tmpfs, so the
restored program sees the host's /run.
"""

from __future__ import annotations

import ctypes
import os

from jfast.linux.libc import libc
from jfast.linux.sha256 import sha256

TMPFS_MAGIC = 0x01021994
RUN = "/run"
KDAT = "criu.kdat"

# Executable, shipped with the package: criu runs it by path.
HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kdat-hook.sh")


class Facts:
    """Where this boot's facts for this criu live, and the hook that keeps them."""

    def __init__(self, facts: str, hook: str) -> None:
        self.facts = facts
        self.hook = hook

    def load(self) -> bytes | None:
        try:
            with open(self.facts, "rb") as f:
                return f.read()
        except OSError:
            return None


class _StatFs(ctypes.Structure):
    # statfs has no os wrapper; f_type is the first field of struct statfs
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 112)]


def run_is_tmpfs() -> bool:
    buf = _StatFs()
    if libc.statfs(RUN.encode(), ctypes.byref(buf)) != 0:
        return True             # no /run to speak of: leave CRIU alone
    return buf.f_type == TMPFS_MAGIC


def facts(root: str, criu_identity: str) -> Facts | None:
    """Where a restore keeps the facts, or None where CRIU caches them itself,
    or where they cannot be kept (a read-only cache). Rootless criu keeps
    its facts in $XDG_RUNTIME_DIR by itself."""
    if os.geteuid() != 0 or run_is_tmpfs() or not os.access(HOOK, os.X_OK):
        return None
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot = f.read().strip()
    criu = sha256(criu_identity.encode()).hexdigest()[:16]
    folder = os.path.join(root, "criu")
    path = os.path.join(folder, f"{KDAT}.{boot}.{criu}")
    if not os.path.exists(path):
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            for name in os.listdir(folder):     # facts of other boots or criu builds
                os.unlink(os.path.join(folder, name))
        except OSError:
            return None
    return Facts(path, HOOK)
