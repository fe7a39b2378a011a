"""Files the program wrote before its ready point, as the cold run finds
them: what each restore must do again so that it leaves the files java's
run would (docs/architecture.md, "Files the program wrote"). A restore's
side is rewrite.py.

Under java, every run writes its own log lines, lock files and temporary
files on its way to the ready point, and may rotate a log first; a restore
starts after that point. The native library logs each regular file the
program opens for writing, removes or renames (java-agent/native/
jfast_writes.c); at a checkpoint jfast turns that log into
- steps, in the program's order: each first open, with whether the file
  was there (a restore needs the same: the program may have looked), and
  each removal or rename of a file the program did not make in this run
  (a restore does it again: jEdit moves its old activity.log aside);
- the content of each file it wrote, as `create` (it truncated the file, or
  made it other than to append: the file as it was at the checkpoint) or
  `append` (the bytes it appended, whether or not the file was there).
Anything else (a file written in place, one changed where jfast could not
see how) cannot be repeated, and there is no checkpoint (`Unrepeatable`).
A file the program still holds open for writing at the checkpoint is
reopened by jfast as the caller and handed to CRIU (`--inherit-fd`),
instead of CRIU reopening it and checking its size, which the first run
goes on changing.
"""

from __future__ import annotations

import os

CREATE, APPEND = "create", "append"
LIMIT = 16 << 20        # bytes a checkpoint may carry to write again
PSEUDO = ("/proc/", "/sys/", "/dev/")


class Unrepeatable(Exception):
    """What the program did to a file, which a restore could not repeat.
    `again`: a matter of timing, which the next run may well not meet."""

    def __init__(self, message: str, again: bool = False) -> None:
        super().__init__(message)
        self.again = again


class Opened:
    """One line of the native library's log: an open for writing."""

    def __init__(self, flags: int, size: int, mtime_ns: int, dev: int, ino: int,
                 existed: bool, path: str) -> None:
        self.flags = flags
        self.size = size               # as the open left it (after O_TRUNC)
        self.mtime_ns = mtime_ns
        self.dev, self.ino = dev, ino
        self.existed = existed         # before the open
        self.path = path


class Gone:
    """One line of the log: a regular file removed (`to` None) or renamed;
    or, `absent`, a removal or rename that found no file."""

    def __init__(self, path: str, to: str | None = None, replaced: bool = False,
                 absent: bool = False) -> None:
        self.path = _resolved(path)
        self.to = _resolved(to) if to is not None else None
        self.replaced = replaced            # `to` was there, and is no more
        self.absent = absent


class Read:
    """One line of the log: a regular file opened to read, as it was then
    (cold/inputs.py's identity: size, mtime, ctime, inode, device)."""

    def __init__(self, identity: list[int], path: str) -> None:
        self.identity = identity
        self.path = path


class UnderWay:
    """A call the checkpoint froze: its line before (`? ...`) and none after.
    `flags` for an open (`existed` as for Opened), else `gone` (a Gone that
    says what the removal or rename would do). settled() says what it did."""

    def __init__(self, path: str, flags: int = 0, existed: bool = True,
                 gone: Gone | None = None) -> None:
        self.path = gone.path if gone is not None else _resolved(path)
        self.flags, self.existed = flags, existed
        self.gone = gone

    def settled(self, held: set[str]) -> Opened | Gone | None:
        """What the call did, from the files the frozen program holds open for
        writing (`held`) and what is on disk; None: nothing yet."""
        if self.gone is None:
            if self.path not in held:
                return None
            try:
                st = os.stat(self.path)    # as the open left it: the thread did no more
            except OSError:
                return None
            return Opened(self.flags, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino,
                          self.existed, self.path)
        if "?" in (self.path, self.gone.to):
            return self.gone                  # which jfast cannot settle
        done = not os.path.lexists(self.path) and (
            self.gone.to is None or os.path.lexists(self.gone.to))
        return self.gone if done else None


def _resolved(path: str) -> str:
    """`path` with its folder resolved, as the kernel names an open file."""
    if path == "?":
        return path
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def _event(line: bytes) -> Opened | Gone | Read:
    """One line's record (its thread id taken off)."""
    if line.startswith(b"r "):
        parts = line[2:].split(b" ", 5)
        return Read([int(p) for p in parts[:5]], os.fsdecode(parts[5]))
    if line.startswith(b"rm "):
        return Gone(os.fsdecode(line[3:]))
    if line.startswith(b"no "):
        return Gone(os.fsdecode(line[3:]), absent=True)
    if line.startswith(b"mv "):
        replaced, _, names = line[3:].partition(b" ")
        old, _, new = names.partition(b"\t")
        return Gone(os.fsdecode(old), os.fsdecode(new), replaced == b"1")
    parts = line.split(b" ", 6)
    flags, size, mtime, dev, ino, existed = (int(p, 8 if i == 0 else 10)
                                             for i, p in enumerate(parts[:6]))
    return Opened(flags, size, mtime, dev, ino, existed == 1, os.fsdecode(parts[6]))


def _under_way(line: bytes) -> UnderWay:
    """A `? ...` line's record."""
    if line.startswith((b"rm ", b"mv ")):
        gone = _event(line)
        return UnderWay(gone.path, gone=gone)
    flags, existed, path = line.split(b" ", 2)
    return UnderWay(os.fsdecode(path), int(flags, 8), existed == b"1")


def read_log(path: str) -> list[Opened | Gone | Read | UnderWay]:
    """The log's records in the order the calls began: each call's line
    after it, or, for one the checkpoint froze, its line before. A line
    cut short (the program was writing it) is left out: it is always the
    last, and later than any checkpoint."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    out: list[Opened | Gone | Read | UnderWay | None] = []
    begun: dict[bytes, list[int]] = {}      # thread -> its calls under way (out's index)
    for line in data.split(b"\n")[:-1]:
        tid, _, rest = line.partition(b" ")
        try:
            if rest.startswith(b"? "):
                begun.setdefault(tid, []).append(len(out))
                out.append(_under_way(rest[2:]))
                continue
            event = None if rest == b"x" else _event(rest)
        except (ValueError, IndexError):
            continue
        calls = begun.get(tid)
        if calls:
            out[calls.pop()] = event
        elif event is not None:
            out.append(event)
    return [e for e in out if e is not None]


class FileWrite:
    """What a restore writes into one file."""

    def __init__(self, path: str, kind: str, start: int, mode: int) -> None:
        self.path = path
        self.kind = kind                    # CREATE or APPEND
        self.start = start                  # where `data` begins in the file
        self.data = b""
        self.mode = mode                    # permission bits, for a file it creates
        self.reopen: int | None = None      # open flags, when the program holds it open

    def reread(self, end: int) -> None:
        """Take the bytes up to `end` (the size CRIU saw at the dump)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.start)
                data = f.read(end - self.start)
        except OSError as e:
            raise Unrepeatable(f"cannot read {self.path}: {e.strerror}") from e
        if len(data) != end - self.start:
            raise Unrepeatable(f"{self.path} shrank while its checkpoint was taken")
        self.data = data


class Collected:
    """What the log says before a dump: the steps and writes a restore
    repeats, the files opened for writing but left as they were, every
    path it names (what the program wrote that jfast saw how), and the
    files it opened to read, each as it was at its first open."""

    def __init__(self) -> None:
        self.steps: list[dict] = []
        self.writes: dict[str, FileWrite] = {}
        self.untouched: set[str] = set()
        self.named: set[str] = set()
        self.read: dict[str, list[int]] = {}


def collect(log: str | None, skip: list[str], watched: set[str] | None = None,
            held: set[str] | None = None) -> Collected:
    """What the program wrote so far, from the log at `log` (None: there is
    none), files under `skip` (jfast's own) left out. `held`: the files the
    program, frozen by the dump, holds open for writing, which settle the
    opens under way (None: it runs on, and only their paths count).
    Unrepeatable when a write cannot be repeated, or when a file the file
    watch saw written (`watched`, cold/inputs.py) is still there and the
    log does not name it (a child process's write, or any under
    JFAST_READY=main)."""
    out = Collected()
    prefixes = tuple(os.path.join(p, "") for p in skip) + PSEUDO
    opens = _opens(read_log(log) if log else [], prefixes, out, held or set())
    # Files written and gone again left nothing to repeat (the keymap the
    # private display's xkbcomp writes and Xvfb removes).
    for path in sorted((watched or set()) - out.named):
        if not path.startswith(prefixes) and os.path.exists(path):
            raise Unrepeatable(f"the program wrote {path} before its ready point, where "
                               "jfast could not see how")
    total = 0
    for path, seen in opens.items():
        first = seen[0]
        try:
            st = os.stat(path)
        except OSError:
            if any(o.existed for o in seen):
                raise Unrepeatable(f"{path} is gone, and jfast did not see how") from None
            continue                           # a file of its own, already gone
        if (st.st_dev, st.st_ino) != (first.dev, first.ino):
            raise Unrepeatable(f"{path} was replaced after the program opened it")
        # Appending to a file that was not there creates it either way.
        if any(o.flags & os.O_TRUNC for o in seen):
            kind, start = CREATE, 0
        elif all(o.flags & os.O_APPEND for o in seen):
            kind, start = APPEND, first.size
        elif not first.existed:
            kind, start = CREATE, 0
        elif (st.st_size, st.st_mtime_ns) == (first.size, first.mtime_ns):
            out.untouched.add(path)           # opened to write (a lock), not written
            continue
        else:
            raise Unrepeatable(f"the program wrote {path} in place before its ready point")
        if st.st_size < start:
            raise Unrepeatable(f"{path} shrank after the program opened it")
        if kind == APPEND and st.st_size == start and first.existed:
            out.untouched.add(path)
            continue
        total += st.st_size - start
        if total > LIMIT:
            raise Unrepeatable(f"the program wrote more than {LIMIT >> 20} MiB to files "
                               "before its ready point")
        w = FileWrite(path, kind, start, st.st_mode & 0o7777)
        w.reread(st.st_size)
        out.writes[path] = w
    return out


def _opens(log: list[Opened | Gone | Read | UnderWay], prefixes: tuple[str, ...],
           out: Collected, held: set[str]) -> dict[str, list[Opened]]:
    """The opens for writing of each file there now, following renames (the
    records go with the file); the steps into `out.steps` and every path
    named into `out.named`."""
    opens: dict[str, list[Opened]] = {}
    made: set[str] = set()        # files this run made: a restore makes them itself
    checked: set[str] = set()     # paths whose presence a step already says
    for record in log:
        if record.path.startswith(prefixes):
            continue
        if isinstance(record, Read):
            out.read.setdefault(record.path, record.identity)
            continue
        out.named.add(record.path)
        event = record.settled(held) if isinstance(record, UnderWay) else record
        if event is None:
            continue
        if "?" in (event.path, getattr(event, "to", None)):
            raise Unrepeatable("the program removed or renamed a file jfast could not name")
        if isinstance(event, Opened):
            opens.setdefault(event.path, []).append(event)
            if event.path not in checked:
                out.steps.append({"op": "opened", "path": event.path,
                                  "existed": event.existed})
                checked.add(event.path)
            if not event.existed:
                made.add(event.path)
            continue
        if event.absent:
            if event.path not in checked:     # the program found none there
                out.steps.append({"op": "absent", "path": event.path})
            continue
        seen = opens.pop(event.path, [])
        ours = event.path in made
        made.discard(event.path)
        checked.discard(event.path)
        if event.to is None:
            out.steps.append({"op": "remove", "path": event.path, "perform": not ours})
            continue
        out.named.add(event.to)
        out.steps.append({"op": "rename", "path": event.path, "to": event.to,
                          "replaced": event.replaced, "perform": not ours})
        opens.pop(event.to, None)         # what it wrote there before is replaced
        if seen:
            opens[event.to] = seen
        checked.add(event.to)
        if ours:
            made.add(event.to)
    return opens


def settle(before: Collected, held: list, log: str | None = None) -> list[FileWrite]:
    """After the dump: fit the writes to what CRIU recorded. `held` is the
    image's regular files (criu.images.RegularFile); one held open for
    writing gets reopened by jfast, with the bytes up to the size CRIU saw.
    Unrepeatable when the program holds a file open in a way a restore
    could not give back: also the native library's own `log`, which a
    thread holds for the few microseconds of writing a line to it."""
    paths = [f.path for f in held]
    for f in held:
        if not f.writable or f.external or f.path.startswith(PSEUDO):
            continue
        if f.path == log:
            raise Unrepeatable("a thread was writing to jfast's log of the program's files "
                               "as the checkpoint was taken; the next run tries again",
                               again=True)
        w = before.writes.get(f.path)
        if w is None:
            if f.path in before.untouched:
                continue                       # CRIU reopens it and checks its size
            raise Unrepeatable(f"the program holds {f.path} open for writing, opened "
                               "where jfast could not see it")
        if paths.count(f.path) > 1:
            raise Unrepeatable(f"the program holds {f.path} open more than once")
        if w.kind == CREATE and not f.flags & os.O_APPEND and f.pos != f.size:
            raise Unrepeatable(f"the program writes {f.path} at a position of its own")
        if w.kind == APPEND and not f.flags & os.O_APPEND:
            raise Unrepeatable(f"the program holds {f.path} open for writing without append")
        # CRIU records no size for a file open to append only; its offset
        # is then where the program's last write through it ended.
        end = f.size if f.size is not None else f.pos
        if end >= w.start and end != w.start + len(w.data):
            w.reread(end)
        w.reopen = f.flags
    return list(before.writes.values())
