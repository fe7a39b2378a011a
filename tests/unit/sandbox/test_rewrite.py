"""A restore's side of the files the program wrote (jfast/sandbox/rewrite.py),
on real files in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jfast.errors import FastPathUnavailable
from jfast.sandbox import rewrite


def test_each_file_must_be_where_the_first_run_found_it(tmp_path: Path):
    log, old = str(tmp_path / "a.log"), str(tmp_path / "a.log.1")
    steps = [{"op": "rename", "path": log, "to": old, "replaced": False, "perform": True},
             {"op": "opened", "path": log, "existed": False}]
    assert "a.log is gone since" in rewrite.precondition(steps)
    Path(log).write_text("x")
    assert rewrite.precondition(steps) is None          # the rename makes room for it
    Path(old).write_text("y")
    assert "a.log.1 is there, and was not" in rewrite.precondition(steps)
    assert "is there, and was not when the program looked" in rewrite.precondition(
        [{"op": "absent", "path": old}])


def data_dir(tmp_path: Path, *blobs: bytes) -> str:
    d = tmp_path / "images"
    d.mkdir()
    for i, blob in enumerate(blobs):
        (d / f"jfast-write-{i}").write_bytes(blob)
    return str(d)


def test_steps_writes_and_appends_in_their_order(tmp_path: Path):
    log, old, state = tmp_path / "a.log", tmp_path / "a.log.1", tmp_path / "state"
    log.write_text("last run\n")
    old.write_text("older run\n")
    steps = [{"op": "rename", "path": str(log), "to": str(old), "replaced": True,
              "perform": True},
             {"op": "opened", "path": str(log), "existed": False}]
    writes = [{"path": str(log), "kind": "append", "start": 0, "data": "jfast-write-0",
               "mode": 0o640, "reopen": os.O_WRONLY | os.O_APPEND},
              {"path": str(state), "kind": "create", "start": 0, "data": "jfast-write-1",
               "mode": 0o600, "reopen": None}]
    repeat = rewrite.Repeat(steps, writes, data_dir(tmp_path, b"before\n", b"state"), 10)
    repeat.open()
    assert old.read_text() == "last run\n" and log.read_text() == ""
    assert state.read_text() == "state" and oct(state.stat().st_mode & 0o777) == "0o600"
    assert repeat.ids == [(10, str(log)[1:])] and list(repeat.fds) == [10]
    repeat.finish()
    assert log.read_text() == "before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.log", "a.log.1", "images",
                                                          "state"]


def test_a_failed_restore_puts_everything_back(tmp_path: Path):
    log, old = tmp_path / "a.log", tmp_path / "a.log.1"
    log.write_text("last run\n")
    old.write_text("older run\n")
    steps = [{"op": "rename", "path": str(log), "to": str(old), "replaced": True,
              "perform": True}]
    writes = [{"path": str(log), "kind": "create", "start": 0, "data": "jfast-write-0",
               "mode": 0o644, "reopen": os.O_WRONLY}]
    repeat = rewrite.Repeat(steps, writes, data_dir(tmp_path, b"new"), 10)
    repeat.open()
    assert log.read_text() == "new"
    repeat.abandon()
    assert (log.read_text(), old.read_text()) == ("last run\n", "older run\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.log", "a.log.1", "images"]


def test_a_file_that_cannot_be_written_gives_java_the_run(tmp_path: Path):
    writes = [{"path": str(tmp_path / "no" / "such" / "dir"), "kind": "create", "start": 0,
               "data": "jfast-write-0", "mode": 0o644, "reopen": None}]
    repeat = rewrite.Repeat([], writes, data_dir(tmp_path, b"x"), 10)
    with pytest.raises(FastPathUnavailable, match="cannot repeat"):
        repeat.open()
