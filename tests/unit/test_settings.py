"""jfast's settings, every JFAST_* variable (jfast/settings.py)."""

from __future__ import annotations

from jfast.settings import Settings, current


def test_defaults_and_values():
    s = Settings({})
    assert (s.disabled, s.verbose, s.report, s.java, s.ready, s.display, s.cache_max) == \
        (False, False, None, None, None, "auto", "")
    s = Settings({"JFAST_DISABLE": "1", "JFAST_VERBOSE": "0", "JFAST_READY": "main",
                  "JFAST_CACHE_MAX": " 2G ", "JFAST_CACHE_DIR": "/c"})
    assert (s.disabled, s.verbose, s.ready, s.cache_max, s.cache_dir) == \
        (True, False, "main", "2G", "/c")


def test_current_reads_the_environment_as_it_is_now(monkeypatch):
    monkeypatch.setenv("JFAST_REPORT", "/tmp/a")
    assert current().report == "/tmp/a"
    monkeypatch.setenv("JFAST_REPORT", "/tmp/b")
    assert current().report == "/tmp/b"
