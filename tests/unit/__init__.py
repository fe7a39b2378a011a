"""Unit tests: each module's own logic, without root, in seconds. The
folders mirror jfast's packages (docs/architecture.md, "Tests")."""

from __future__ import annotations

import struct
import subprocess
import textwrap
import zlib
from pathlib import Path


def compile_java(out: Path, sources: dict[str, str], classpath: str | None = None,
                 options: tuple[str, ...] | list[str] = ()) -> Path:
    """Write and compile Java sources into `out` (with javac `options`); returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in sources.items():
        p = out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
        paths.append(str(p))
    argv = ["javac", "-nowarn", *options, "-d", str(out)]
    if classpath:
        argv += ["-cp", classpath]
    subprocess.run([*argv, *paths], check=True)
    return out


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """An independent reader for the unfiltered RGB PNGs jfast writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == \
            zlib.crc32(kind + body)
        if kind == b"IHDR":
            width, height, bits, color = struct.unpack(">IIBB", body[:10])
            assert (bits, color) == (8, 2)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3
    rows = []
    for y in range(height):
        row = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        assert row[0] == 0
        rows.append(row[1:])
    return width, height, b"".join(rows)
