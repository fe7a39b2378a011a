"""What a cold run printed before its checkpoint, printed again by each
restored run, so a restored run's output is the cold run's.

The cold run's stdout and stderr go through jfast's relay pipes (unless
they are a terminal, which must stay the program's own), and the relays
record every chunk in arrival order until the recording is full. At a
checkpoint the recording so far is saved beside the image; a restored run
writes it to its own stdout and stderr before the program goes on.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
import threading
import time

from jfast.linux.procfs import reading

LIMIT = 1 << 20            # bytes; past that no checkpoint is taken
OVERFLOW = 255             # the agent's frame for "more than LIMIT"
_HEADER = struct.Struct("<BI")   # fd, length (little-endian, as the agent writes it)


class Recording:
    """Chunks of the program's output as (fd, bytes), in arrival order."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, bytes]] = []
        self.size = 0
        self.full = False
        self._lock = threading.Lock()
        self._relays: list[tuple[int, threading.Thread]] = []   # (read end, thread)

    def watch(self, read_end: int, thread: threading.Thread) -> None:
        self._relays.append((read_end, thread))

    def add(self, fd: int, data: bytes) -> None:
        with self._lock:
            if self.full:
                return
            if self.size + len(data) > LIMIT:
                self.full = True
                self.chunks.clear()
                return
            self.chunks.append((fd, data))
            self.size += len(data)

    def settle(self, timeout: float = 2.0) -> None:
        """Wait until the relays have recorded all that is in their pipes:
        each pipe empty and its relay back in read(2) (or finished)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(_drained(fd, t) for fd, t in self._relays):
                return
            time.sleep(0.002)

    def save(self, path: str) -> dict:
        """Write the recording so far to `path` (the entry's output file,
        store/entry.py); its description for the manifest."""
        with self._lock:
            chunks, full = list(self.chunks), self.full
        if full:
            raise OSError(f"the output before the ready point exceeds {LIMIT} bytes")
        with open(path, "wb") as f:
            for fd, data in chunks:
                f.write(_HEADER.pack(fd, len(data)))
                f.write(data)
        return {"file": os.path.basename(path), "bytes": sum(len(d) for _, d in chunks)}


def add_framed(record: Recording, data: bytes) -> None:
    """Add chunks framed as in the saved file (the agent records a
    terminal's output that way: jfast/cold/warmup.py, EarlyOutput.java). fd 255
    says the agent's copy outgrew the limit."""
    for fd, chunk in _frames(data):
        if fd == OVERFLOW:
            with record._lock:
                record.full = True
                record.chunks.clear()
            return
        record.add(fd, bytes(chunk))


def _frames(data: bytes):
    pos = 0
    while pos + _HEADER.size <= len(data):
        fd, length = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        yield fd, memoryview(data)[pos:pos + length]
        pos += length


def ends_line(path: str, fd: int = 1) -> bool:
    """Whether what a checkpoint recorded at `path` on `fd` ends a line (or
    is nothing), so that what comes next starts one."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return True
    last = b"\n"
    for at, chunk in _frames(data):
        if at == fd and len(chunk):
            last = bytes(chunk[-1:])
    return last == b"\n"


def _drained(read_end: int, thread: threading.Thread) -> bool:
    if not thread.is_alive():
        return True
    try:
        waiting = struct.unpack("i", fcntl.ioctl(read_end, termios.FIONREAD, b"\0" * 4))[0]
    except OSError:
        return True
    if waiting:
        return False
    # the relay waits in read(2) on its pipe: it has taken all there was
    return read_end in reading(os.getpid(), thread.native_id)


def replay(path: str) -> None:
    """Write a checkpoint's recorded output (its file at `path`) to our
    stdout and stderr."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    for fd, view in _frames(data):
        try:
            while view:
                view = view[os.write(fd, view):]
        except OSError:
            pass          # the caller's end is gone, as java's writes would find
