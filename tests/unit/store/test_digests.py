"""File digests remembered by identity (jfast/store/digests.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOBODY = __import__("pwd").getpwnam("nobody").pw_uid


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give files to another user")


def test_a_digest_memo_another_user_could_write_is_ignored(tmp_path: Path):
    need_root()
    from jfast.store.digests import FileDigests
    memo = tmp_path / "memo.json"
    memo.write_text(json.dumps({"/x|1|2|3": {"sha": "forged", "class_path": []}}))
    os.chmod(memo, 0o600)
    assert FileDigests(tmp_path).memo != {}
    os.chown(memo, NOBODY, -1)
    assert FileDigests(tmp_path).memo == {}


def test_a_digest_is_taken_once_and_again_when_the_file_changes(tmp_path: Path, monkeypatch):
    from jfast.store import digests as module
    from jfast.store.digests import FileDigests
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"one")
    taken = []
    real = module.integrity.digest
    monkeypatch.setattr(module.integrity, "digest", lambda p: taken.append(p) or real(p))
    memo = FileDigests(tmp_path)
    first = memo.digest(str(jar))
    assert memo.digest(str(jar)) == first and len(taken) == 1
    memo.save()
    assert FileDigests(tmp_path).digest(str(jar)) == first and len(taken) == 1   # remembered
    jar.write_bytes(b"two")
    assert FileDigests(tmp_path).digest(str(jar)) != first and len(taken) == 2
    assert memo.digest(str(tmp_path / "gone.jar")) == "missing"
