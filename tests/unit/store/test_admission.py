"""Before a restore (jfast/store/admission.py): a damaged entry is set aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from jfast.store.admission import SetAside, admit
from jfast.store.entry import Entry
from unit.store.test_entry import published


def test_no_entry_is_no_checkpoint(tmp_path: Path):
    (tmp_path / "entries").mkdir()
    assert admit(Entry(tmp_path, "k")) is None


def test_a_whole_entry_is_admitted_under_its_shared_lock(tmp_path: Path):
    entry = published(tmp_path)
    meta = admit(entry)
    assert meta.key == "k1" and entry._held is not None
    entry.release()


@pytest.mark.parametrize("damage", ["manifest", "image", "extra"])
def test_a_damaged_entry_is_set_aside(tmp_path: Path, damage: str):
    entry = published(tmp_path)
    if damage == "manifest":
        (Path(entry.dir) / "meta.json").write_text("[]")
    elif damage == "image":
        (Path(entry.images) / "core-1000.img").write_bytes(b"")
    else:
        (Path(entry.images) / "stray.img").write_bytes(b"x")
        (Path(entry.images) / "stray.img").chmod(0o600)
    with pytest.raises(SetAside, match="checkpoint damaged"):
        admit(entry)
    assert not Path(entry.dir).exists()
