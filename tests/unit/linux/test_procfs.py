"""Reading /proc (jfast/linux/procfs.py), on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from jfast.linux import procfs


def test_children_and_tree_of_a_real_process():
    child = subprocess.Popen([sys.executable, "-c",
                              "import subprocess,sys,time; subprocess.Popen(['sleep','30']); "
                              "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while not procfs.children(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        [grandchild] = procfs.children(child.pid)
        assert procfs.tree(child.pid) == [child.pid, grandchild]
        assert child.pid in procfs.children(os.getpid())
    finally:
        for pid in procfs.tree(child.pid)[::-1]:
            os.kill(pid, 9)
        child.wait()


def test_a_thread_blocked_in_read_is_seen_with_its_fd():
    r, w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", "import os,sys; os.read(int(sys.argv[1]), 1)",
                             str(r)], pass_fds=(r,))
    try:
        deadline = time.monotonic() + 10
        while r not in procfs.reading(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert r in procfs.reading(proc.pid)
    finally:
        os.write(w, b"x")
        proc.wait()
        os.close(r)
        os.close(w)
    assert procfs.reading(proc.pid) == set() and procfs.thread_files(proc.pid, "stat") is None


def test_cpu_flags_is_the_cpuinfo_flags_line():
    flags = procfs.cpu_flags()
    assert flags.startswith("flags") and " fpu " in flags


def test_stat_comm_and_fds_of_a_process_with_an_odd_name(tmp_path):
    odd = tmp_path / "a (b) c"
    odd.symlink_to("/bin/sleep")
    proc = subprocess.Popen([str(odd), "30"])
    try:
        time.sleep(0.1)
        fields = procfs.stat(proc.pid)
        assert fields[0] in "RS" and int(fields[1]) == os.getpid()   # state, parent
        assert procfs.comm(proc.pid) == "a (b) c"
        assert any(link.startswith("/dev/") for link in procfs.fd_links(proc.pid))
    finally:
        proc.kill()
        proc.wait()
    assert procfs.stat(proc.pid) is None and procfs.comm(proc.pid) == ""


def test_fdinfo_fields_of_an_open_file(tmp_path):
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert int(procfs.fdinfo("self", fd, "flags"), 8) & os.O_ACCMODE == os.O_WRONLY
        assert int(procfs.fdinfo(os.getpid(), fd, "mnt_id")) > 0
        with pytest.raises(OSError):
            procfs.fdinfo("self", fd, "no_such_field")
    finally:
        os.close(fd)
