"""The registry of running programs (jfast/store/runs.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jfast.store import runs


def test_a_run_is_listed_while_it_runs(tmp_path: Path):
    with runs.registered(tmp_path, "restored", "k1", ["-jar", "a.jar"], {"display": "none"}):
        [record] = runs.live(tmp_path)
        assert (record["pid"], record["run"], record["key"], record["command"]) == \
            (os.getpid(), "restored", "k1", "-jar a.jar")
    assert runs.live(tmp_path) == []


def test_the_record_of_a_run_that_is_gone_is_dropped(tmp_path: Path):
    Path(runs.run_dir(tmp_path)).mkdir()
    stale = Path(runs.run_dir(tmp_path)) / "999999.json"
    stale.write_text(json.dumps({"pid": 999999, "start": "1"}))
    assert runs.live(tmp_path) == [] and not stale.exists()
