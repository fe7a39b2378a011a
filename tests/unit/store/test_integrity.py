"""The image manifest (jfast/store/integrity.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jfast.store import integrity

NOBODY = __import__("pwd").getpwnam("nobody").pw_uid


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give files to another user")


def _sealed(tmp_path: Path) -> tuple[Path, dict]:
    entry = tmp_path / "entry"
    (entry / "images").mkdir(parents=True)
    (entry / "images" / "pages-1.img").write_bytes(os.urandom(300_000))
    (entry / "images" / "core-1000.img").write_bytes(b"core")
    (entry / "dump.log").write_text("log")
    return entry, integrity.seal(entry)


def test_seal_makes_files_private_and_records_digests(tmp_path: Path):
    entry, meta = _sealed(tmp_path)
    assert {p.name: p.stat().st_mode & 0o777 for p in entry.rglob("*")} == {
        "images": 0o700, "pages-1.img": 0o600, "core-1000.img": 0o600, "dump.log": 0o600}
    assert meta["image_files"] == {"pages-1.img": 300_000, "core-1000.img": 4}
    assert meta["image_bytes"] == 300_004 and len(meta["image_digests"]) == 2
    assert integrity.quick_check(entry / "images", meta) == (None, False)


def test_a_flipped_byte_with_its_mtime_put_back_is_caught(tmp_path: Path):
    entry, meta = _sealed(tmp_path)
    pages = entry / "images" / "pages-1.img"
    st = pages.stat()
    data = bytearray(pages.read_bytes())
    data[1234] ^= 0x01
    pages.write_bytes(data)
    os.utime(pages, ns=(st.st_atime_ns, st.st_mtime_ns))   # mtime back; ctime moves anyway
    assert integrity.quick_check(entry / "images", meta) == (None, True)
    why = integrity.verify(entry / "images", meta)
    assert why == "image file pages-1.img does not match its sha256 digest"


def test_touched_but_intact_files_pass_the_full_check(tmp_path: Path):
    entry, meta = _sealed(tmp_path)
    os.utime(entry / "images" / "core-1000.img")
    assert integrity.quick_check(entry / "images", meta) == (None, True)
    assert integrity.verify(entry / "images", meta) is None


@pytest.mark.parametrize("damage,why", [
    ("truncate", "image file pages-1.img has 10 bytes, expected 300000"),
    ("remove", "image file core-1000.img is missing"),
    ("extra", "unexpected image file stray.img"),
])
def test_quick_check_sees_missing_truncated_and_extra_files(tmp_path: Path, damage, why):
    entry, meta = _sealed(tmp_path)
    images = entry / "images"
    if damage == "truncate":
        os.truncate(images / "pages-1.img", 10)
    elif damage == "remove":
        (images / "core-1000.img").unlink()
    else:
        (images / "stray.img").write_bytes(b"")
        os.chmod(images / "stray.img", 0o600)
    assert integrity.quick_check(images, meta) == (why, False)


def test_a_manifest_without_digests_is_not_trusted(tmp_path: Path):
    entry, meta = _sealed(tmp_path)
    del meta["image_digests"]
    assert "no image digests" in integrity.quick_check(entry / "images", meta)[0]


def test_files_another_user_could_write_are_refused(tmp_path: Path):
    need_root()
    entry, meta = _sealed(tmp_path)
    pages = entry / "images" / "pages-1.img"
    os.chmod(pages, 0o620)
    with pytest.raises(integrity.Refused, match="writable by other users"):
        integrity.quick_check(entry / "images", meta)
    os.chmod(pages, 0o600)
    os.chown(pages, NOBODY, -1)
    with pytest.raises(integrity.Refused, match="owned by nobody, not root"):
        integrity.quick_check(entry / "images", meta)
