"""Files a program read before its ready point, and whether they changed.

A checkpoint holds what the program computed from its configuration, data
and scripts. If one of those files changes, restoring would replay stale
state, so the cold run records the files the program opened before each
checkpoint, and every restore first checks them: size, mtimes, inode and
device, a stat each. A changed or missing file means a cold start that
replaces the checkpoint.

With root, recording uses fanotify, so it sees every open, from Java or
native code or a child process, and costs the program nothing. Without
root, the opens the JVM makes through the C library, which jfast's native
library logs (java-agent/native/jfast_writes.c, read by sandbox/writes.py),
stand in: a child process's reads are not seen there. The marks go on the
sandbox's own copies of the mounts (set in the sandbox's holder, right
after it unshares the mount namespace), so only the sandbox's processes
report; of those, only the program and its descendants count (not criu).
Files the program wrote are not inputs: they change as it runs.
Files that the key already covers by content (class path, JDK), pseudo
files and the account and linker databases are left out.
"""

from __future__ import annotations

import ctypes
import os
import select
import stat
import struct
import threading

from jfast.linux import procfs
from jfast.linux.libc import check, libc
from jfast.linux.sha256 import sha256
from jfast.log import verbose

FAN_CLOEXEC, FAN_NONBLOCK, FAN_UNLIMITED_QUEUE = 0x1, 0x2, 0x10
FAN_MODIFY, FAN_CLOSE_WRITE, FAN_OPEN, FAN_Q_OVERFLOW = 0x2, 0x8, 0x20, 0x4000
FAN_MARK_ADD, FAN_MARK_MOUNT = 0x1, 0x10
AT_FDCWD = -100
EVENT = struct.Struct("=IBBHQii")      # struct fanotify_event_metadata
PSEUDO_FS = {"proc", "sysfs", "devpts", "devtmpfs", "cgroup", "cgroup2", "mqueue",
             "debugfs", "tracefs", "securityfs", "bpf", "configfs", "fusectl", "pstore",
             "hugetlbfs", "autofs", "binfmt_misc", "nsfs", "rpc_pipefs", "efivarfs"}
PSEUDO_PATHS = ("/proc/", "/sys/", "/dev/")
# Read by every JVM as it starts, and rewritten whenever any account or
# library on the machine changes: the key already has the user (uid, HOME,
# USER), and the libraries the program mapped are inputs themselves.
SYSTEM_DATABASES = {"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
                    "/etc/ld.so.cache"}

libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64,
                                ctypes.c_int, ctypes.c_char_p]


DIGEST_LIMIT = 1 << 20     # small files also get a content digest


def identity(st: os.stat_result) -> list:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return sha256(f.read(DIGEST_LIMIT + 1)).hexdigest()
    except OSError:
        return None


def changed(files: dict[str, list]) -> str | None:
    """The first recorded input that is gone or different now, or None. A
    stat each; a file whose stat moved but whose content did not (touched,
    or rewritten as it was, like /etc/passwd) is compared by its digest."""
    for path, recorded in files.items():
        ident, digest = recorded[:5], (recorded[5] if len(recorded) > 5 else None)
        try:
            st = os.stat(path)
        except OSError:
            return f"{path} is gone"
        if identity(st) == ident:
            continue
        if digest is None or st.st_size != ident[0] or _digest(path) != digest:
            return f"{path} changed"
    return None


def _mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            if len(fields) < 5 or right.split()[:1] and right.split()[0] in PSEUDO_FS:
                continue
            # mountinfo escapes space, tab, newline and backslash in octal
            points.append(fields[4].encode().decode("unicode_escape").encode("latin-1")
                          .decode(errors="surrogateescape"))
    return points


class Recorder:
    """A fanotify group watching the sandbox's mounts for one cold run."""

    def __init__(self) -> None:
        fd = libc.fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
                                os.O_RDONLY | os.O_LARGEFILE | os.O_CLOEXEC)
        if fd < 0:
            check(fd, "fanotify_init")
        self.fd = fd
        self.opened: dict[str, list[int]] = {}
        self.written: set[str] = set()
        self.overflow = False
        self.program_pid: int | None = None
        self._tree: dict[int, bool] = {}          # pid -> in the program's tree
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None

    # -- in the sandbox's holder, after it unshared the mount namespace ----

    def mark_mounts(self) -> None:
        """Watch every real mount of this (new) mount namespace; then drop
        the holder's copy of the group so the sandbox never holds it."""
        for point in _mount_points():
            libc.fanotify_mark(self.fd, FAN_MARK_ADD | FAN_MARK_MOUNT,
                                FAN_OPEN | FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD,
                                os.fsencode(point))
        for fd in (self.fd, self._wake_r, self._wake_w):
            os.close(fd)

    @property
    def fds(self) -> tuple[int, ...]:
        """Our fds the holder must keep open until `mark_mounts`."""
        return (self.fd, self._wake_r, self._wake_w)

    # -- in jfast ------------------------------------------------------------

    def start(self, program_pid: int) -> None:
        self.program_pid = program_pid
        self._thread = threading.Thread(target=self._run, name="jfast-inputs", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            self.drain()

    def drain(self) -> None:
        """Handle every queued event (the program's opens so far)."""
        with self._lock:
            while True:
                try:
                    buf = os.read(self.fd, 65536)
                except BlockingIOError:
                    return
                except OSError:
                    return
                if not buf:
                    return
                pos = 0
                while pos + EVENT.size <= len(buf):
                    length, _, _, _, mask, fd, pid = EVENT.unpack_from(buf, pos)
                    pos += max(length, EVENT.size)
                    if mask & FAN_Q_OVERFLOW:
                        self.overflow = True
                    if fd >= 0:
                        try:
                            self._event(mask, fd, pid)
                        finally:
                            os.close(fd)

    def _ours(self, pid: int) -> bool:
        """Whether `pid` is the program or one of its descendants. A process
        already gone counts: better a needless cold start than a stale restore."""
        known = self._tree.get(pid)
        if known is not None:
            return known
        chain, cur, ours = [], pid, True
        while cur > 1:
            if cur == self.program_pid or self._tree.get(cur):
                break
            chain.append(cur)
            fields = procfs.stat(cur)
            if not fields or not fields[1].isdigit():
                break
            cur = int(fields[1])
        else:
            ours = False
        for p in chain:
            self._tree[p] = ours
        return ours

    def _event(self, mask: int, fd: int, pid: int) -> None:
        if self.program_pid is None or not self._ours(pid):
            return
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
            st = os.fstat(fd)
        except OSError:
            return
        if not stat.S_ISREG(st.st_mode) or not path.startswith("/"):
            return
        if mask & (FAN_MODIFY | FAN_CLOSE_WRITE):
            self.written.add(path)
        if mask & FAN_OPEN:
            self.opened.setdefault(path, identity(st))

    def written_so_far(self) -> set[str]:
        """The regular files the program (or a child of it) wrote so far."""
        self.drain()
        with self._lock:
            return set(self.written)

    def snapshot(self, skip_prefixes: list[str], skip_files: set[str],
                 class_dirs: list[str]) -> dict[str, list[int]]:
        """The inputs so far: opened, never written, not open for writing now,
        not under `skip_prefixes`, not in `skip_files`, and not a class file
        under `class_dirs` (the key covers those). Path: identity at open;
        with_digests adds the digests once the program runs again."""
        self.drain()
        with self._lock:
            writing = self.written | _open_for_writing(self.program_pid)
            return kept(self.opened, skip_prefixes, skip_files | writing, class_dirs)

    def close_behind(self) -> threading.Thread:
        """close() on a thread of its own: the kernel releases a fanotify group
        only after an RCU grace period (18 ms here), which can pass while
        the sandbox winds down."""
        t = threading.Thread(target=self.close, name="jfast-inputs-close", daemon=True)
        t.start()
        return t

    def close(self) -> None:
        if self._thread is not None:
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=5)
        for fd in (self.fd, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


def kept(opened: dict[str, list], skip_prefixes: list[str], skip_files: set[str],
         class_dirs: list[str]) -> dict[str, list]:
    """The inputs among the files `opened` (path: identity at open), in
    order: not under `skip_prefixes`, not in `skip_files`, not a system
    database, and not a class file under `class_dirs`."""
    prefixes = tuple(os.path.join(p, "") for p in skip_prefixes) + PSEUDO_PATHS
    classes = tuple(os.path.join(p, "") for p in class_dirs)
    return {p: ident for p, ident in sorted(opened.items())
            if p not in skip_files and p not in SYSTEM_DATABASES
            and not p.startswith(prefixes) and not p.endswith(" (deleted)")
            and not (p.endswith(".class") and p.startswith(classes))}


def with_digests(files: dict[str, list]) -> dict[str, list]:
    """A snapshot with each small file's content digest, taken only while
    the file is still as the program opened it: Jetty's 184 inputs took 35
    ms to hash, which is better spent after the dump than in the pause."""
    return {p: ident + [_digest_if_same(p, ident)] for p, ident in files.items()}


def _digest_if_same(path: str, ident: list) -> str | None:
    """The content digest of a small file still as the program opened it;
    None (compare by stat alone) when it is large or already different."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if st.st_size > DIGEST_LIMIT or identity(st) != ident:
        return None
    return _digest(path)


def _open_for_writing(pid: int | None) -> set[str]:
    """Paths the program holds open for writing right now."""
    out: set[str] = set()
    for fd in procfs.fds(pid) if pid is not None else []:
        try:
            if int(procfs.fdinfo(pid, fd, "flags"), 8) & os.O_ACCMODE != os.O_RDONLY:
                out.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except (OSError, ValueError):
            continue
    return out


def recorder() -> Recorder | None:
    try:
        return Recorder()
    except OSError as e:
        verbose(f"not recording the program's input files: {e}")
        return None
