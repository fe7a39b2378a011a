"""The run report (jfast/report.py)."""

from __future__ import annotations

import json
from pathlib import Path

from jfast.report import Report


def test_one_json_line_per_run_with_laps(tmp_path: Path, monkeypatch):
    path = tmp_path / "r.jsonl"
    monkeypatch.setenv("JFAST_REPORT", str(path))
    for outcome in ("restored", "started"):
        r = Report()
        r.lap("parse")
        r.ran(outcome)
        r.exit_status = 0
        r.write()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["outcome"] for x in lines] == ["restored", "started"]
    assert set(lines[0]["timings_ms"]) == {"imports", "parse", "total"}
    assert "program_ran" not in lines[0] and path.stat().st_mode & 0o777 == 0o600


def test_program_ran_is_kept_once_set():
    r = Report()
    assert not r.program_ran
    r.ran("started")
    r.outcome = "fallback"          # a set-aside entry's cold run reports fallback
    assert r.program_ran


def test_no_report_file_no_write(monkeypatch):
    monkeypatch.delenv("JFAST_REPORT", raising=False)
    Report().write()
