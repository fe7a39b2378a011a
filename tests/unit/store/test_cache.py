"""Where the cache lives, and its root's checks (jfast/store/cache.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jfast.settings import Settings
from jfast.store import cache


@pytest.mark.parametrize("xdg", [None, "", "  ", "/srv/cache", "relative/cache"])
@pytest.mark.parametrize("home", ["/home/ada", None])
def test_the_default_cache_is_where_platformdirs_puts_it(monkeypatch, xdg, home):
    import platformdirs

    monkeypatch.delenv("JFAST_CACHE_DIR", raising=False)
    for name, value in (("XDG_CACHE_HOME", xdg), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert Path(cache.cache_dir(Settings(os.environ))) == Path(platformdirs.user_cache_dir(
        "jfast", appauthor=False))
