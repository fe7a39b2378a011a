"""What the cache holds (jfast/store/inventory.py)."""

from __future__ import annotations

from pathlib import Path

from jfast.store.entry import FORMAT, _write
from jfast.store.inventory import scan


def test_scan_names_entries_and_leftovers(tmp_path: Path):
    entries = tmp_path / "entries"
    for name in ("k1", "k1.abc.pending", "k2.bad.7", "k3.old.8", "k4.trash.9.1"):
        (entries / name).mkdir(parents=True)
    _write(str(entries / "k1" / "meta.json"), {
        "format": FORMAT, "key": "k1", "argv": ["-jar", "/opt/app/app.jar"],
        "java": "/usr/bin/java", "criu_version": "4.2", "created": 5.0, "plain": "quick",
        "material": {"mode": "jar", "target": "/opt/app/app.jar"}})
    (entries / "k6").mkdir()
    (entries / "k6" / "meta.json").write_text("[]")       # damaged: listed, not a crash
    (entries / "k1" / "used").write_bytes(b"...")
    (entries / "k1.classes").write_text("java.lang.String\n")
    (entries / "k1.samples").write_text("2.5\n")
    (entries / "k5.classes").write_text("x\n")
    (entries / "k7.samples").write_text("1.2\n")
    (entries / "unrelated.txt").write_text("not ours")
    got = {i.name: i for i in scan(tmp_path)}
    assert {n: i.kind for n, i in got.items()} == {
        "k1": "entry", "k1.abc.pending": "partial", "k2.bad.7": "quarantined",
        "k3.old.8": "replaced", "k4.trash.9.1": "removing", "k5.classes": "classes",
        "k6": "entry", "k7.samples": "classes"}
    assert got["k6"].meta is None and "holds a list" in got["k6"].broken
    k1 = got["k1"]
    assert (k1.program, k1.hits, k1.created) == ("app.jar", 3, 5.0)
    assert k1.size == len(b"...") + (entries / "k1" / "meta.json").stat().st_size + 17 + 4
