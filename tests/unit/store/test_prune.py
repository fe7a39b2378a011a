"""Pruning plans and the size limit (jfast/store/prune.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jfast.errors import BadSetting
from jfast.settings import Settings
from jfast.store import prune
from jfast.store.entry import Meta
from jfast.store.inventory import Item


def test_plan_order_leftovers_stale_age_then_least_recently_used():
    now = 1_000_000.0
    items = [
        _item("a", 100, now - 50, used=now - 10),      # used recently
        _item("b", 100, now - 40),                     # never used, made after a's creation
        _item("c", 100, now - 30, used=now - 20),
        _item("d", 100, now - 99 * 86400),             # idle for 99 days
        _item("e", 100, now - 5),                      # its jar changed
        _item("p.x.pending", 7, now, kind="partial"),
    ]
    plan = prune.removals(items, now, max_size=150, max_age=30 * 86400,
                      stale=lambda i: "app.jar has changed" if i.key == "e" else None)
    got = [(r.item.name, r.reason.split(":")[0].split(" of ")[0]) for r in plan]
    assert got == [("p.x.pending", "a checkpoint that was never finished"),
                   ("d", "unused for 99.0 days"),
                   ("e", "can never be used again"),
                   ("b", "over the size limit"),       # oldest activity first
                   ("c", "over the size limit")]       # a (used last) stays


def test_plan_without_limits_removes_only_leftovers():
    items = [_item("a", 10 << 30, 0.0), _item("q.bad.1", 5, 0.0, kind="quarantined")]
    assert [r.item.name for r in prune.removals(items, 1e9)] == ["q.bad.1"]


def test_a_class_list_waiting_for_its_second_run_is_kept_like_an_entry():
    now = 1_000_000.0
    items = [_item("a", 100, now - 10), _item("k.classes", 5, now - 20, kind="classes"),
             _item("o.classes", 5, now - 99 * 86400, kind="classes")]
    assert prune.removals(items, now) == []
    plan = prune.removals(items, now, max_size=102, max_age=30 * 86400)
    assert [(r.item.name, r.reason.split(" ")[0]) for r in plan] == [
        ("o.classes", "unused"), ("k.classes", "over")]


def test_cache_max_setting():
    assert prune.cap(Settings({})) == 4 << 30
    assert prune.cap(Settings({"JFAST_CACHE_MAX": "500M"})) == 500 << 20
    assert prune.cap(Settings({"JFAST_CACHE_MAX": "off"})) is None
    with pytest.raises(BadSetting, match="JFAST_CACHE_MAX.*off for no limit"):
        prune.cap(Settings({"JFAST_CACHE_MAX": "lots"}))


def _item(key: str, size: int, created: float, used: float | None = None,
          kind: str = "entry") -> Item:
    return Item(key, key, kind, Path("/nonexistent") / key, size=size, created=created,
                last_used=used, meta=Meta({"material": {"mode": "class", "target": f"P{key}"}}))


def test_a_file_made_anew_while_it_is_removed_is_not_a_failure(tmp_path: Path, monkeypatch):
    """A run that ends beside a prune writes its class list again: that file
    is another run's; a folder that stays as it was could not be removed."""
    path = tmp_path / "key.classes"
    path.write_text("old list")
    real_unlink = Path.unlink

    def unlink_and_rewrite(self: Path, missing_ok: bool = False) -> None:
        real_unlink(self)
        self.write_text("a new run's list")

    monkeypatch.setattr(Path, "unlink", unlink_and_rewrite)
    prune._delete(path)
    assert path.read_text() == "a new run's list"
    folder = tmp_path / "entry"
    (folder / "images").mkdir(parents=True)
    monkeypatch.setattr(prune, "remove_tree", lambda p: None)
    with pytest.raises(OSError, match="could not be removed"):
        prune._delete(folder)
