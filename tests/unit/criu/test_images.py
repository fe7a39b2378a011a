"""Reading the regular files of CRIU's files.img (jfast/criu/images.py), from
bytes laid out as CRIU writes them."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from jfast.criu import images
from jfast.errors import FastPathUnavailable


def varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def reg(name: str, flags: int, pos: int, size: int | None = None, ext: bool = False) -> bytes:
    body = field(1, 7) + field(2, flags) + field(3, pos) + field(5, field(1, 0)) \
        + field(6, name.encode())
    if size is not None:
        body += field(8, size)
    if ext:
        body += field(9, 1)
    return field(1, 1) + field(2, 7) + field(3, body)


def write_image(tmp_path: Path, *entries: bytes) -> str:
    data = struct.pack("<II", images.IMG_COMMON_MAGIC, images.FILES_MAGIC)
    for e in entries:
        data += struct.pack("<I", len(e)) + e
    (tmp_path / "files.img").write_bytes(data)
    return str(tmp_path)


def test_regular_files_with_flags_offsets_and_sizes(tmp_path: Path):
    pipe = field(1, 2) + field(2, 9)                       # a pipe: not a regular file
    d = write_image(tmp_path, reg("/tmp/app.log", os.O_WRONLY | os.O_APPEND, 13), pipe,
                    reg("/etc/x", os.O_RDONLY, 0, size=5), reg("file[18:3]", os.O_RDWR, 0,
                                                               ext=True))
    files = images.regular_files(d)
    assert [(f.path, f.writable, f.pos, f.size, f.external) for f in files] == [
        ("/tmp/app.log", True, 13, None, False), ("/etc/x", False, 0, 5, False),
        ("file[18:3]", True, 0, None, True)]


def test_a_damaged_image_is_a_clear_failure(tmp_path: Path):
    (tmp_path / "files.img").write_bytes(b"not an image")
    with pytest.raises(FastPathUnavailable, match="cannot read CRIU's image"):
        images.regular_files(str(tmp_path))
