"""`jfast demo` (jfast/commands/demo.py): timing a run to its `ready` line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from jfast.commands import demo
from jfast.errors import JfastError


def test_time_to_ready_and_the_rest_of_the_output():
    seconds, rest = demo._time_to_ready(
        [sys.executable, "-c", "print('ready', flush=True); print('hello world: 1234')"], {})
    assert 0 < seconds < 60 and rest == "hello world: 1234"


def test_a_run_that_fails_or_never_gets_ready_is_an_error():
    for code in ("import sys; sys.exit(1)", "print('not yet')"):
        with pytest.raises(JfastError, match="the demo failed"):
            demo._time_to_ready([sys.executable, "-c", code], {})


def test_the_last_report_line(tmp_path: Path):
    report = tmp_path / "r.jsonl"
    report.write_text(json.dumps({"outcome": "started"}) + "\n" +
                      json.dumps({"outcome": "restored"}) + "\n")
    assert demo._last_report(str(report))["outcome"] == "restored"
