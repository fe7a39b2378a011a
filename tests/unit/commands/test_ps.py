"""`jfast ps` (jfast/commands/ps.py)."""

from __future__ import annotations

import os
from pathlib import Path

from jfast.commands import ps
from jfast.store import runs


def test_uptimes_read_for_people():
    assert [ps._age(s) for s in (5, 65, 3725)] == ["5s", "1m05s", "1h02m"]


def test_a_running_program_is_listed_with_its_uptime(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path))
    with runs.registered(tmp_path, "restored", "k1", ["-jar", "app.jar"], {"display": "none"}):
        assert ps.main([]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["PID", "SANDBOX", "PROGRAM"]
    assert row.split()[0] == str(os.getpid()) and row.endswith("-jar app.jar")
    assert "restored" in row.split()
