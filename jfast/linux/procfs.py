"""Reading /proc: what each thread of a process shows, and its children."""

from __future__ import annotations

import os


def thread_files(pid: int, name: str) -> list[str] | None:
    """/proc/PID/task/*/NAME of every thread still there; None when the
    process is gone."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    out = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/{name}") as f:
                out.append(f.read())
        except OSError:
            continue                    # that thread just ended
    return out


def children(pid: int) -> list[int]:
    """The children of every thread of `pid` (host PIDs)."""
    return [int(c) for text in thread_files(pid, "children") or [] for c in text.split()]


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (host PIDs)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def cpu_flags() -> str:
    """The CPU's feature flags line from /proc/cpuinfo, or "" where it has none."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return line
    except OSError:
        pass
    return ""


def reading(pid: int, tid: int | None = None) -> set[int]:
    """The fds that threads of `pid` (or just thread `tid`) are blocked in
    read(2) on: syscall 0 on x86-64, its first argument the fd."""
    if tid is None:
        texts = thread_files(pid, "syscall") or []
    else:
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                texts = [f.read()]
        except OSError:
            texts = []
    out = set()
    for text in texts:
        fields = text.split()
        if len(fields) > 1 and fields[0] == "0":
            out.add(int(fields[1], 16))
    return out
