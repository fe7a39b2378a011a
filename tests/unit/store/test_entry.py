"""One entry and the one format of its files (jfast/store/entry.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jfast.store import entry as entry_format
from jfast.store.entry import FORMAT, PLAIN_DAYS, BadEntry, Entry, Meta, Pending


def fields(key: str, **over) -> dict:
    """What a cold run hands Pending.publish for a checkpoint at main."""
    return {"key": key, "argv": ["-cp", ".", "App"], "java": "/usr/bin/java",
            "criu_version": "4.2", "material": {"criu": "/usr/sbin/criu|1|2|3|4"},
            "ready_point": "main", "stdio": [{"fd": 0, "kind": "dev", "resource": "x"}],
            "pipes": {"ev": "pipe:[1]", "cmd": "pipe:[2]"}, "display": {"mode": "none"},
            "inputs": {"cwd": "/", "files": {}}, "termios": None,
            "output": {"file": "jfast-output", "bytes": 0}, **over}


def published(tmp_path: Path, key: str = "k1", **over) -> Entry:
    (tmp_path / "entries").mkdir(exist_ok=True)
    (tmp_path / "locks").mkdir(exist_ok=True)
    entry = Entry(tmp_path, key)
    pending = Pending(entry)
    (Path(pending.images) / "core-1000.img").write_bytes(b"core")
    Path(pending.output).write_bytes(b"")
    pending.publish(fields(key, **over))
    return entry


def test_a_published_entry_reads_back_with_its_fields(tmp_path: Path):
    entry = published(tmp_path)
    meta = entry.meta()
    assert (meta.key, meta.ready_point, meta.plain, meta.inputs_cwd) == ("k1", "main", None, "/")
    assert meta.raw["format"] == FORMAT
    assert meta.raw["image_files"] == {"core-1000.img": 4, "jfast-output": 0}
    assert Path(entry.output).exists() and meta.output == {"file": "jfast-output", "bytes": 0}
    assert Entry(tmp_path, "other").meta() is None


@pytest.mark.parametrize("text,why", [
    ("\x00garbage", "not JSON"),
    ("null", "holds a NoneType"),
    ("[]", "holds a list"),
    ('"a string"', "holds a str"),
])
def test_a_manifest_that_is_no_object_is_bad(tmp_path: Path, text: str, why: str):
    entry = published(tmp_path)
    (Path(entry.dir) / "meta.json").write_text(text)
    with pytest.raises(BadEntry, match=why):
        entry.meta()


@pytest.mark.parametrize("change,why", [
    (lambda m: m.pop("format"), "format None"),
    (lambda m: m.update(format=99), "format 99"),
    (lambda m: m.update(key="k2"), "manifest of k2, not of k1"),
    (lambda m: m.update(output={"file": "/etc/passwd"}), "another output file"),
    (lambda m: m.update(output={"file": 5}), "another output file"),
    (lambda m: m.update(stdio=[{"fd": "0"}]), "stdio is malformed"),
    (lambda m: m.update(pipes={"ev": 3}), "pipes are malformed"),
    (lambda m: m.update(argv="java"), "argv is a str"),
    (lambda m: m.update(created=True), "created is a bool"),
    (lambda m: m.pop("stdio"), "has no stdio"),
])
def test_a_manifest_of_the_wrong_shape_is_bad(tmp_path: Path, change, why: str):
    entry = published(tmp_path)
    raw = json.loads((Path(entry.dir) / "meta.json").read_text())
    change(raw)
    entry_format._write(str(Path(entry.dir) / "meta.json"), raw)    # with its digest
    with pytest.raises(BadEntry, match=why):
        entry.meta()


def test_a_flipped_byte_that_leaves_valid_json_is_caught(tmp_path: Path):
    entry = published(tmp_path)
    path = Path(entry.dir) / "meta.json"
    path.write_text(path.read_text().replace('"ready_point": "main"', '"ready_point": "maim"'))
    with pytest.raises(BadEntry, match="does not match its own digest"):
        entry.meta()


def test_a_plain_entry_needs_no_image_fields():
    raw = {"format": FORMAT, "key": "k", "argv": [], "java": "/j", "criu_version": "4.2",
           "material": {}, "created": 1.0, "plain": "quick"}
    raw["meta_sha256"] = entry_format._digest(raw)
    meta = Meta.parse(json.dumps(raw), "k")
    assert meta.plain == "quick"
    # One run's measure decided it: measured again after PLAIN_DAYS.
    assert not meta.plain_expired(now=1.0 + PLAIN_DAYS * 86400 - 1)
    assert meta.plain_expired(now=1.0 + PLAIN_DAYS * 86400 + 1)


def test_publishing_over_an_entry_replaces_it_whole(tmp_path: Path):
    published(tmp_path, ready_point="main")
    entry = published(tmp_path, ready_point="socket")
    assert entry.meta().ready_point == "socket"
    assert sorted(p.name for p in (tmp_path / "entries").iterdir()) == ["k1"]


def test_quarantine_and_touch(tmp_path: Path):
    entry = published(tmp_path)
    entry.touch()
    entry.touch()
    assert (Path(entry.dir) / "used").read_bytes() == b".."
    entry.quarantine()
    assert not Path(entry.dir).exists() and entry.meta() is None
    assert [p.name.split(".")[1] for p in (tmp_path / "entries").iterdir()] == ["bad"]


def test_two_failed_restores_in_a_row_set_the_entry_aside_and_stop_checkpoints(
        tmp_path: Path):
    entry = published(tmp_path)
    assert not entry.failed("criu: Can't open file tmp/+~JF1.tmp")
    entry.touch()                                   # one that worked starts over
    assert entry.failures() == []
    assert not entry.failed("criu: Can't open file tmp/+~JF2.tmp")
    assert entry.failed("criu: Can't open file tmp/+~JF3.tmp")
    assert entry.meta() is None and Path(entry.unrestorable).read_text().startswith("criu:")
