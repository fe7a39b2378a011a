"""A restore's side of the files the program wrote before its ready point
(writes.py finds them in the cold run; store/entry.py keeps them as the
manifest's `steps` and `writes`).

Before CRIU runs, a restore checks that the files are where the first run
found them (`precondition`: else the run starts afresh), does the program's
removals and renames of files it found again, writes each `create` file
(CRIU may reopen it, and java would rewrite it anyway) and opens each file
the program holds open for writing, to hand it over. Appends wait until the
agent has said the restore is good, just before the program goes on. What
the steps removed or replaced is only set aside until then: a restore that
fails puts it back, and falls back to java with nothing appended twice.
"""

from __future__ import annotations

import os

from jfast.errors import FastPathUnavailable

CREATE = "create"
# The program's open flags a handed-over file keeps (not O_DIRECT: jfast's
# own writes to it are not aligned).
KEPT_FLAGS = os.O_ACCMODE | os.O_APPEND | os.O_SYNC | os.O_DSYNC


def precondition(steps: list[dict]) -> str | None:
    """Why a restore could not repeat `steps` here, or None: each file must
    be there or not as it was when the first run opened, removed or renamed
    it, counting what the steps before did."""
    now: dict[str, bool] = {}

    def there(path: str) -> bool:
        return now[path] if path in now else os.path.lexists(path)

    for step in steps:
        path = step["path"]
        if step["op"] == "opened":
            if there(path) != step["existed"]:
                return (f"{path} is there, and was not when the program first wrote it"
                        if step["existed"] is False
                        else f"{path} is gone since the program first wrote it")
            now[path] = True
            continue
        if step["op"] == "absent":
            if there(path):
                return f"{path} is there, and was not when the program looked for it"
            continue
        if not there(path):
            return f"{path} is gone since the program {step['op']}d it"
        now[path] = False
        if step["op"] == "rename":
            if there(step["to"]) != step["replaced"]:
                return (f"{step['to']} is gone since the program renamed a file over it"
                        if step["replaced"] else f"{step['to']} is there, and was not when "
                        "the program renamed a file to it")
            now[step["to"]] = True
    return None


class Repeat:
    """`open` before CRIU; `fds` and `ids` for it; `finish` once the agent
    said the restore is good, `abandon` when it is not."""

    def __init__(self, steps: list[dict], writes: list[dict], data_dir: str,
                 first_fd: int) -> None:
        self.steps = steps            # the manifest's records (store/entry.py)
        self.writes = writes
        self.data_dir = data_dir      # where their bytes are (checked by store/admission.py)
        self.first_fd = first_fd
        self.fds: dict[int, int] = {}          # target fd in the sandbox -> ours
        self.ids: list[tuple[int, str]] = []    # (target fd, CRIU's name for the file)
        self._appends: list[tuple[int, bytes]] = []
        self._undo: list[tuple[str, str]] = []  # renames that put things back, last first
        self._aside: list[str] = []             # removed or replaced: gone at `finish`
        self._created: list[str] = []

    def open(self) -> None:
        """Do the steps and the writes that must come before CRIU, as the
        caller (its permissions apply, as under java). FastPathUnavailable
        when one cannot be done: all is put back, and java runs."""
        try:
            for step in self.steps:
                if step.get("perform"):
                    self._perform(step)
            for w in self.writes:
                with open(os.path.join(self.data_dir, w["data"]), "rb") as f:
                    self._open_one(w, f.read())
        except OSError as e:
            self.abandon()
            raise FastPathUnavailable("cannot repeat what the program did to its files "
                                      "before its ready point",
                                      f"{e.filename}: {e.strerror}") from e

    def _set_aside(self, path: str) -> None:
        folder, name = os.path.split(path)
        aside = os.path.join(folder, f".{name}.jfast-{os.getpid()}")
        os.rename(path, aside)
        self._undo.append((aside, path))
        self._aside.append(aside)

    def _perform(self, step: dict) -> None:
        if step["op"] == "remove":
            self._set_aside(step["path"])
            return
        if os.path.lexists(step["to"]):
            self._set_aside(step["to"])
        os.rename(step["path"], step["to"])
        self._undo.append((step["to"], step["path"]))

    def _open_one(self, w: dict, data: bytes) -> None:
        path, reopen = w["path"], w["reopen"]
        if w["kind"] == CREATE and reopen is None and _holds(path, data):
            return                     # as the program left it (another restore wrote it)
        if not os.path.lexists(path):
            self._created.append(path)
        flags = os.O_CLOEXEC | os.O_CREAT | (reopen & KEPT_FLAGS if reopen is not None
                                             else os.O_WRONLY)
        flags |= os.O_TRUNC if w["kind"] == CREATE else os.O_APPEND
        fd = os.open(path, flags, w["mode"])
        if w["kind"] == CREATE:
            try:
                _write_all(fd, data)
            except OSError:
                os.close(fd)
                raise
        else:
            self._appends.append((fd, data))
        if reopen is not None:
            target = self.first_fd + len(self.fds)
            self.fds[target] = fd
            self.ids.append((target, path[1:]))     # CRIU names files without the "/"
        elif w["kind"] == CREATE:
            os.close(fd)

    def finish(self) -> None:
        """Append what the program had appended (it has not gone on yet),
        and let go of what the steps set aside."""
        for fd, data in self._appends:
            try:
                _write_all(fd, data)
            except OSError:
                pass                   # the program's own write would have failed too
        for aside in self._aside:
            try:
                os.unlink(aside)
            except OSError:
                pass
        self._undo, self._aside, self._created = [], [], []
        self.close()

    def abandon(self) -> None:
        """The restore failed: the files are put back as they were."""
        self.close()
        for path in reversed(self._created):
            try:
                os.unlink(path)
            except OSError:
                pass
        for src, dst in reversed(self._undo):
            try:
                os.rename(src, dst)
            except OSError:
                pass
        self._undo, self._aside, self._created = [], [], []

    def close(self) -> None:
        for fd in set(self.fds.values()) | {fd for fd, _ in self._appends}:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds, self._appends = {}, []


def _holds(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(data) + 1) == data
    except OSError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
