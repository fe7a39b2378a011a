"""Ownership and modes: refusing what another user could write
(jfast/store/trust.py)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from jfast.errors import FastPathUnavailable
from jfast.store import trust

NOBODY = pwd.getpwnam("nobody").pw_uid


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give files to another user")


def test_cache_root_checks(tmp_path: Path, capsys):
    need_root()
    root = tmp_path / "cache"
    for sub in ("entries", "locks", "work"):
        (root / sub).mkdir(parents=True)
    os.chmod(root, 0o755)
    trust.check_root(root)                        # ours: merely tightened
    assert root.stat().st_mode & 0o777 == 0o700
    os.chown(root / "entries", NOBODY, -1)
    with pytest.raises(FastPathUnavailable, match="entries is owned by nobody"):
        trust.check_root(root)
    assert "set JFAST_CACHE_DIR to a directory of your own" in capsys.readouterr().err
    os.chown(root / "entries", 0, -1)
    os.chmod(tmp_path, 0o777)                     # a parent anyone may rename things in
    with pytest.raises(FastPathUnavailable, match="writable by other users"):
        trust.check_root(root)
    os.chmod(tmp_path, 0o1777)                    # sticky, like /tmp: fine
    trust.check_root(root)
    os.chmod(tmp_path, 0o700)
