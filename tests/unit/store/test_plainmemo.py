"""Command lines remembered as plain (jfast/store/plainmemo.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from jfast.store import plainmemo

ARGV = ["-cp", "app.jar", "Main", "a\nb"]


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> str:
    (tmp_path / "cache" / "entries" / "k1").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return str(tmp_path / "cache")


def used(root: str) -> int:
    path = Path(root, "entries", "k1", "used")
    return path.stat().st_size if path.exists() else 0


def test_a_remembered_command_line_is_plain_until_its_time(root: str):
    env = {"PATH": "/usr/bin", "HOME": "/h", "TERM": "xterm"}
    assert not plainmemo.plain(root, ARGV, env, "/usr/bin/jfast")
    plainmemo.remember(root, ARGV, env, "/usr/bin/jfast", "k1", time.time() + 60)
    assert plainmemo.plain(root, ARGV, env, "/usr/bin/jfast")
    assert used(root) == 1                                     # a hit is a use
    assert plainmemo.plain(root, ARGV, {**env, "TERM": "dumb"}, "/usr/bin/jfast")
    # What shapes the key or the java found, or how jfast was reached, is not.
    for other_env, argv, invoked in (({**env, "LANG": "C"}, ARGV, "/usr/bin/jfast"),
                                     ({**env, "JFAST_READY": "main"}, ARGV, "/usr/bin/jfast"),
                                     ({**env, "PATH": "/opt/bin"}, ARGV, "/usr/bin/jfast"),
                                     (env, [*ARGV, "c"], "/usr/bin/jfast"),
                                     (env, ARGV, "/home/u/bin/java")):
        assert not plainmemo.plain(root, argv, other_env, invoked)
    plainmemo.remember(root, ARGV, env, "/usr/bin/jfast", "k1", time.time() - 1)
    assert not plainmemo.plain(root, ARGV, env, "/usr/bin/jfast")


def test_another_working_directory_or_ready_points_file_is_not(root: str, tmp_path: Path,
                                                              monkeypatch):
    env = {"HOME": str(tmp_path)}
    plainmemo.remember(root, ARGV, env, "jfast", "k1", time.time() + 60)
    points = tmp_path / ".config" / "jfast" / "ready-points"
    points.parent.mkdir(parents=True)
    points.write_text("Main call:Main.run\n")
    assert not plainmemo.plain(root, ARGV, env, "jfast")      # the user set a point since
    plainmemo.remember(root, ARGV, env, "jfast", "k1", time.time() + 60)
    assert plainmemo.plain(root, ARGV, env, "jfast")
    monkeypatch.chdir(tmp_path / ".config")
    assert not plainmemo.plain(root, ARGV, env, "jfast")


def test_a_memo_another_user_could_write_counts_for_nothing(root: str):
    plainmemo.remember(root, ARGV, {}, "jfast", "k1", time.time() + 60)
    os.chmod(os.path.join(root, plainmemo.MEMO), 0o666)
    assert not plainmemo.plain(root, ARGV, {}, "jfast")
