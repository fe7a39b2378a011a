"""`jfast screenshot` (jfast/commands/screenshot.py): which run, and why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from jfast.commands import screenshot
from jfast.errors import JfastError
from jfast.store import runs


def test_runs_without_a_virtual_display_are_explained(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path))
    with pytest.raises(JfastError, match="no program with a virtual display"):
        screenshot.main([])
    with runs.registered(tmp_path, "started", "k1", ["App"], {"display": ":5 (host)"}):
        with pytest.raises(JfastError, match="no program run by jfast has PID 1"):
            screenshot.find_run(1)
        import os
        with pytest.raises(JfastError, match="the caller's display"):
            screenshot.main([str(os.getpid())])
