"""Messages said once (jfast/store/notice.py)."""

from __future__ import annotations

from pathlib import Path

from jfast.store import notice


def test_a_message_is_said_once_per_cache(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path))
    for _ in range(3):
        notice.once("user namespaces are off")
    assert capsys.readouterr().err.count("user namespaces are off") == 1
    notice.once("another thing")
    assert "another thing" in capsys.readouterr().err
