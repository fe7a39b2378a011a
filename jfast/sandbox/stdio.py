"""The program's fds 0-2, named the way CRIU names them, and relays.

A checkpoint holds the program's stdin, stdout and stderr as they were on
the run that made it. At restore each is replaced by the caller's current
fd (`--inherit-fd`), so a restored program talks to the terminal, pipe or
file of the run that restored it. CRIU finds what to replace by a resource
name; ttys and devices opened outside the sandbox's mount namespace must
also be declared `--external` at dump time.

Regular files and sockets cannot be handed over as they are: CRIU checks a
regular file's size at restore, and a socket's peer is outside the image.
For those the program gets a pipe and jfast copies between the pipe and the
caller's fd, writing through the caller's own file description so that
offsets shared with the shell advance as they would under java.

The *shape* of stdio (which fds are a terminal, and which share one open
file) is part of the cache key: a checkpoint whose stdout and stderr were
one pipe cannot be rebound to a caller whose differ. Which kind of
non-terminal each fd is is not (docs/architecture.md, "The sandbox").
"""

from __future__ import annotations

import fcntl
import os
import select
import stat
import sys
import termios
import threading
import time
from collections import namedtuple

from jfast.linux.libc import same_open_file
from jfast.linux.procfs import fdinfo


class StdFd(namedtuple("StdFd", "fd kind resource identity")):
    """fd; kind: tty | pipe | dev | file | socket | closed; resource: CRIU's
    name for it; identity: equal for fds that are the same object."""

    __slots__ = ()

    @property
    def external(self) -> bool:
        """Whether CRIU must be told at dump time that this is external."""
        return self.kind in ("tty", "dev")


def describe(fd: int) -> StdFd:
    try:
        st = os.fstat(fd)
    except OSError:
        return StdFd(fd, "closed", "", ("closed", fd))
    mode = st.st_mode
    ident = (st.st_dev, st.st_ino)
    if stat.S_ISCHR(mode) and os.isatty(fd):
        return StdFd(fd, "tty", f"tty[{st.st_rdev:x}:{st.st_dev:x}]", ("tty", st.st_rdev))
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        link = os.readlink(f"/proc/self/fd/{fd}")
        if link.startswith("pipe:"):
            return StdFd(fd, "pipe", link, ("pipe", *ident))
        return StdFd(fd, "socket", link, ("socket", *ident))   # sockets and named pipes
    if stat.S_ISREG(mode):
        return StdFd(fd, "file", "", ("file", *ident))
    return StdFd(fd, "dev", f"file[{int(fdinfo('self', fd, 'mnt_id')):x}:{st.st_ino:x}]", ("dev", *ident))


def describe_all(fds: list[int]) -> list[StdFd]:
    """describe() each fd; fds on one inode but not one open file (two opens
    of /dev/null or of one file) get identities of their own, so that each
    keeps its own offset and the key tells `>f 2>f` from `>f 2>&1`."""
    out: list[StdFd] = []
    for f in map(describe, fds):
        if f.kind not in ("tty", "closed"):
            same_inode = [g for g in out if g.identity[:3] == f.identity]
            one = [g for g in same_inode if same_open_file(g.fd, f.fd) is not False]
            if one:
                f = f._replace(identity=one[0].identity)
            elif same_inode:
                f = f._replace(identity=(*f.identity, "open", f.fd))
        out.append(f)
    return out


def shape(fds: list[StdFd]) -> str:
    """The key's part: 'tty0,tty0,tty0' or 'io0,io1,io1', a terminal or not
    plus which fds are one object. Whether a non-terminal fd is /dev/null, a
    file or a pipe is no part of it: a cold run gives the program pipes for
    its output (it records what goes through them), and a restore hands it
    whatever the caller has, so one checkpoint serves `>/dev/null`, `>file`
    and `| cat` alike."""
    firsts: dict[tuple, int] = {}
    return ",".join(f"{'tty' if f.kind == 'tty' else 'io'}{firsts.setdefault(f.identity, f.fd)}"
                    for f in fds)


class Stdio:
    """fds 0-2 as the program gets them, with the relays that feed them."""

    def __init__(self) -> None:
        self.fds: dict[int, int] = {}             # program fd -> our fd to hand over
        self.program_side: list[StdFd] = []
        self._threads: list[threading.Thread] = []
        self._ours: list[int] = []                # relay ends we keep
        self._theirs: list[int] = []              # ends handed over
        self._feed: _Feed | None = None           # the relay into stdin, when recording

    @property
    def shape(self) -> str:
        return shape(self.program_side)

    @property
    def foreign_terminal(self) -> bool:
        """Whether a terminal among fds 0-2 belongs to another user, as
        after `su -l user` in root's terminal. Rootless criu cannot restore
        such a terminal ("tty: Can't setup uid"), and a checkpoint made on
        it restores nowhere else either."""
        return any(f.kind == "tty" and _foreign(f.fd) for f in self.program_side)

    def stdin_taken(self) -> int:
        """Bytes of the caller's stdin the program has read so far (0 where
        no recording relay feeds its stdin: a terminal, /dev/null)."""
        return self._feed.taken() if self._feed else 0

    def started(self) -> None:
        """Call once the sandbox holds its copies: start copying."""
        for fd in self._theirs:
            os.close(fd)
        self._theirs.clear()
        for t in self._threads:
            t.start()

    def finish(self) -> None:
        """Wait for output relays to drain (the program has exited)."""
        for t in self._threads:
            if not t.daemon:
                t.join()
        if self._feed:
            os.close(self._feed.probe)
            self._feed = None

    def abandon(self) -> None:
        """Drop relays of a failed attempt (nothing was started)."""
        if self._feed:
            self._ours.append(self._feed.probe)
            self._feed = None
        for fd in self._ours + self._theirs:
            try:
                os.close(fd)
            except OSError:
                pass
        self._ours.clear()
        self._theirs.clear()


def prepare(record: Recording | None = None) -> Stdio:  # noqa: F821 - replay.Recording
    """Work out what the program gets as fds 0-2 (pipes for files/sockets).
    With `record`, pipes get a relay too: output relays record into it, and
    the one into stdin counts what the program takes (a terminal never gets
    a relay: the program must see the terminal itself)."""
    io = Stdio()
    relays: dict[tuple, int] = {}        # (caller object, direction) -> end handed over
    handed: list[int] = []
    for f in describe_all([0, 1, 2]):
        if f.kind == "closed":
            # java would run with it closed; /dev/null is the nearest thing
            # that can be checkpointed and rebound.
            theirs = os.open(os.devnull, os.O_RDWR)
            io._theirs.append(theirs)
        elif _relayed(f, record is not None):
            inbound = f.fd == 0
            theirs = relays.get((f.identity, inbound), -1)
            if theirs < 0:
                r, w = os.pipe()
                if inbound and record:
                    mine, theirs = w, r
                    io._feed = _Feed(w, os.dup(r))
                    t = threading.Thread(target=io._feed.run, daemon=True)
                elif inbound:
                    mine, theirs = w, r
                    t = threading.Thread(target=_copy, args=(0, w, w), daemon=True)
                else:
                    mine, theirs = r, w
                    t = threading.Thread(target=_copy, args=(r, f.fd, r, record))
                    if record:
                        record.watch(r, t)
                io._ours.append(mine)
                io._theirs.append(theirs)
                io._threads.append(t)
                relays[(f.identity, inbound)] = theirs
        else:
            theirs = f.fd
        io.fds[f.fd] = theirs
        handed.append(theirs)
    io.program_side = [d._replace(fd=fd) for fd, d in enumerate(describe_all(handed))]
    return io


def _relayed(f: StdFd, recording: bool) -> bool:
    """Whether the program gets a pipe fed by a relay instead of `f`."""
    if f.kind in ("file", "socket"):
        return True                     # criu checks a file's size; a peer is outside
    if f.kind == "pipe":
        return recording or _foreign(f.fd)
    # a recording run records output to a device (/dev/null) too
    return recording and f.kind == "dev" and f.fd != 0


def _foreign(fd: int) -> bool:
    """A pipe or terminal another user owns (say root's shell, piping into
    `runuser`): a rootless criu cannot reopen it at restore."""
    return os.fstat(fd).st_uid != os.geteuid()


class _Feed:
    """The relay into the program's stdin on a recording run, counting what
    it passed: bytes passed less bytes still in the pipe is what the program
    has read. A checkpoint after that would hand every restore the state of
    a program that has read the first run's input, so there is none. Writes
    are non-blocking and at most PIPE_BUF, so each is whole or nothing and
    the count, kept under a lock with the write, is exact."""

    def __init__(self, w: int, probe: int) -> None:
        self.w = w
        self.probe = probe              # a read end of our own, for FIONREAD after EOF
        self.passed = 0
        self.lock = threading.Lock()

    def run(self) -> None:
        os.set_blocking(self.w, False)
        room = select.poll()
        room.register(self.w, select.POLLOUT)
        try:
            while data := os.read(0, 65536):
                view = memoryview(data)
                while view:
                    room.poll()
                    with self.lock:
                        try:
                            n = os.write(self.w, view[:select.PIPE_BUF])
                        except BlockingIOError:
                            n = 0
                        self.passed += n
                    if n == 0:
                        time.sleep(0.001)      # writable, but not PIPE_BUF bytes of room
                    view = view[n:]
        except OSError:
            pass
        finally:
            with self.lock:
                os.close(self.w)

    def taken(self) -> int:
        with self.lock:
            unread = fcntl.ioctl(self.probe, termios.FIONREAD, b"\0\0\0\0")
            return self.passed - int.from_bytes(unread, sys.byteorder)


def _copy(src: int, dst: int, close: int,
          record: Recording | None = None) -> None:  # noqa: F821 - replay.Recording
    """Copy until EOF or until the other side goes away, then close our end
    (EOF for the program's stdin; the read end of an output relay)."""
    try:
        while data := os.read(src, 65536):
            if record is not None:
                record.add(dst, data)
            view = memoryview(data)
            while view:
                view = view[os.write(dst, view):]
    except OSError:
        pass
    finally:
        os.close(close)
