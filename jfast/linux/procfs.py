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


def stat_fields(text: str) -> list[str]:
    """The fields of a /proc/PID/stat line after the command name (which may
    hold spaces and parentheses): [state, ppid, pgrp, ...]."""
    return text.rsplit(")", 1)[1].split()


def stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name, or None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return stat_fields(f.read())
    except (OSError, IndexError):
        return None


def comm(pid: int) -> str:
    """The process's command name ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def fds(pid: int) -> list[str]:
    """The open fds of `pid`, as the names in /proc/PID/fd ([] when gone)."""
    try:
        return os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []


def fdinfo(pid: int | str, fd: int | str, field: str) -> str:
    """One field of /proc/PID/fdinfo/FD ("mnt_id", "flags", ...); OSError
    when the fd or the field is not there."""
    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name == field:
                return value.strip()
    raise OSError(f"no {field} for fd {fd} of {pid}")


def fd_links(pid: int) -> list[str]:
    """What each open fd of `pid` points to (readlink of /proc/PID/fd/*)."""
    out = []
    for fd in fds(pid):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue                    # closed meanwhile
    return out
