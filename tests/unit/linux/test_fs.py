"""Files (jfast/linux/fs.py): write-then-rename, rm -rf, a file's identity."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jfast.linux import fs


def test_atomic_write_leaves_a_private_file_and_no_temporary_one(tmp_path: Path):
    target = tmp_path / "memo.json"
    fs.atomic_write(target, "text")
    fs.atomic_write(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["memo.json"]


def test_a_failed_write_removes_its_temporary_file(tmp_path: Path):
    with pytest.raises(TypeError):
        fs.atomic_write(tmp_path / "x", 5)            # neither str nor bytes
    assert os.listdir(tmp_path) == []


def test_identity_changes_with_a_same_size_same_mtime_copy(tmp_path: Path):
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"one")
    before = fs.identity(str(jar))
    assert fs.still(before)
    st = jar.stat()
    jar.write_bytes(b"two")                           # cp -p: same size, mtime put back
    os.utime(jar, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fs.identity(str(jar)) != before and not fs.still(before)
    jar.unlink()
    assert not fs.still(before)


def test_remove_tree_removes_everything_but_follows_no_link(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("k")
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "f").write_text("x")
    (tree / "link").symlink_to(outside)
    fs.remove_tree(tree)
    assert not tree.exists() and (outside / "keep").exists()
    fs.remove_tree(tree)                              # already gone: quietly


def test_fresh_names_differ():
    assert len({fs.fresh_name("p.", ".s") for _ in range(100)}) == 100
