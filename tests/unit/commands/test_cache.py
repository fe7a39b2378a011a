"""`jfast cache` (jfast/commands/cache.py): its table, usage and exit codes,
and a prune beside what is in use, on a cache made by hand."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jfast.commands import cache as cache_command
from jfast.store import locks


def test_table_pads_columns_and_right_aligns_numbers():
    out = cache_command.table(["A", "SIZE", "N"],
                              [["long name", "1.0 KiB", "3"], ["x", "20 B", "12"]],
                         right={1, 2})
    assert out.splitlines() == ["A             SIZE   N",
                                "long name  1.0 KiB   3",
                                "x             20 B  12"]


def test_help_documents_json_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_:
        cache_command.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for text in ("--json", "exit status", "4  remove, prune, clear", "JFAST_CACHE_MAX", "list",
                 "info",
                 "prune", "clear", '"state"'):
        assert text in out


def test_usage_errors_exit_2_and_missing_entry_1(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path / "c"))
    assert cache_command.main(["prune", "--max-size", "huge"]) == 2
    assert "'huge' is not a size" in capsys.readouterr().err
    assert cache_command.main(["prune", "--max-age", "later"]) == 2
    assert cache_command.main(["frobnicate"]) == 2
    assert cache_command.main(["info", "abc"]) == 1
    assert "no entry abc" in capsys.readouterr().err
    assert cache_command.main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert (listing["entries"], listing["total_bytes"], listing["max_bytes"]) == ([], 0, 4 << 30)


def test_prune_keeps_what_is_in_use(tmp_path: Path, monkeypatch, capsys):
    root = tmp_path / "c"
    monkeypatch.setenv("JFAST_CACHE_DIR", str(root))
    for sub in ("entries/k1/images", "entries/k2.x.pending/images", "locks", "work"):
        (root / sub).mkdir(parents=True, mode=0o700)
    for d in root.rglob("*"):
        os.chmod(d, 0o700)
    os.chmod(root, 0o700)
    (root / "entries" / "k1" / "meta.json").write_text(json.dumps({"created": 1.0}))
    restoring = locks.entry_lock(root, "k1")
    restoring.acquire(shared=True)                  # a run is restoring from k1
    writing = locks.claim(root, "k2")               # a run is writing k2
    assert cache_command.main(["prune", "--max-size", "1", "--json"]) == 4
    out = json.loads(capsys.readouterr().out)
    assert sorted(r["name"] for r in out["in_use"]) == ["k1", "k2.x.pending"]
    assert (root / "entries" / "k1").exists() and (root / "entries" / "k2.x.pending").exists()
    restoring.release()
    writing.release()
    assert cache_command.main(["prune", "--max-size", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(r["name"] for r in out["removed"]) == ["k1", "k2.x.pending"]
    assert os.listdir(root / "entries") == [] and os.listdir(root / "locks") == []


def test_a_damaged_entry_is_listed_and_removed_by_its_key(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path))
    for sub in ("entries", "locks", "work"):
        (tmp_path / sub).mkdir(mode=0o700)
    os.chmod(tmp_path, 0o700)
    bad = tmp_path / "entries" / "deadbeef00"
    bad.mkdir(mode=0o700)
    (bad / "meta.json").write_bytes(os.urandom(300))
    assert cache_command.main(["list", "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)["entries"]
    assert (entry["key"], entry["state"]) == ("deadbeef00", "damaged")
    assert cache_command.main(["info", "dead"]) == 0
    assert "damaged" in capsys.readouterr().out
    assert cache_command.main(["remove", "dead", "--json"]) == 0
    assert [r["key"] for r in json.loads(capsys.readouterr().out)["removed"]] == ["deadbeef00"]
    assert not bad.exists() and cache_command.main(["remove", "dead"]) == 1


def test_what_cannot_be_removed_is_said_and_exits_3(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path))
    for sub in ("entries", "locks", "work"):
        (tmp_path / sub).mkdir(mode=0o700)
    os.chmod(tmp_path, 0o700)
    (tmp_path / "entries" / "k1.abc.pending").mkdir()

    def read_only(*args, **kw):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr("jfast.store.prune.os.rename", read_only)
    monkeypatch.setattr("jfast.store.prune.remove_tree", lambda path: None)
    assert cache_command.main(["prune"]) == 3
    out = capsys.readouterr().out
    assert "could not remove partial k1.abc.pending" in out and "removed" not in out
