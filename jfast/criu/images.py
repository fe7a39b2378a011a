"""What CRIU's images say: the regular files a restore reopens, and how
long criu's own restore took.

CRIU writes `files.img` as its two magic numbers, then each file as a
32-bit little-endian length and a protobuf `file_entry` (CRIU's
images/fdinfo.proto and images/regfile.proto); `stats-restore`, in the
restore's work folder, as the same header and one `stats_entry`
(images/stats.proto). jfast reads only the fields it acts on, with the few
lines of protobuf decoding that takes, rather than depend on CRIU's Python
package.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from jfast.errors import FastPathUnavailable

FILES_IMG = "files.img"
STATS_RESTORE = "stats-restore"
IMG_COMMON_MAGIC, FILES_MAGIC = 0x54564319, 0x56303138
# stats_entry: restore = 2; restore_stats_entry: restore_time = 4 (µs)
_STATS_RESTORE, _RESTORE_TIME = 2, 4
FD_TYPE_REG = 1
# file_entry: type = 1, reg = 3; reg_file_entry: flags = 2, pos = 3, name = 6,
# size = 8, ext = 9
_ENTRY_TYPE, _ENTRY_REG = 1, 3
_REG_FLAGS, _REG_POS, _REG_NAME, _REG_SIZE, _REG_EXT = 2, 3, 6, 8, 9


@dataclass(frozen=True)
class RegularFile:
    path: str          # absolute, as the program opened it
    flags: int         # open(2) flags of the program's open file
    pos: int
    size: int | None   # the file's size at the dump (what CRIU checks at restore)
    external: bool     # named by `--external` (stdio jfast hands over), not a path

    @property
    def writable(self) -> bool:
        return self.flags & os.O_ACCMODE != os.O_RDONLY


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> dict[int, list[int | bytes]]:
    """A protobuf message's fields: number -> values (ints, or bytes for
    length-delimited ones)."""
    out: dict[int, list[int | bytes]] = {}
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _reg_file(entry: bytes) -> RegularFile | None:
    fields = _fields(entry)
    if fields.get(_ENTRY_TYPE, [None])[0] != FD_TYPE_REG or _ENTRY_REG not in fields:
        return None
    reg = _fields(fields[_ENTRY_REG][0])            # type: ignore[arg-type]
    name = reg[_REG_NAME][0]
    size = reg.get(_REG_SIZE, [None])[0]
    return RegularFile(path=os.fsdecode(name), flags=int(reg[_REG_FLAGS][0]),  # type: ignore[arg-type]
                       pos=int(reg[_REG_POS][0]), size=size,          # type: ignore[arg-type]
                       external=bool(reg.get(_REG_EXT, [0])[0]))


def regular_files(images: str) -> list[RegularFile]:
    """Every regular file the dump in `images` reopens at restore."""
    path = os.path.join(images, FILES_IMG)
    try:
        with open(path, "rb") as f:
            data = f.read()
        magic, kind = struct.unpack_from("<II", data, 0)
        if (magic, kind) != (IMG_COMMON_MAGIC, FILES_MAGIC):
            raise ValueError("not a CRIU files image")
        out, pos = [], 8
        while pos < len(data):
            (length,) = struct.unpack_from("<I", data, pos)
            pos += 4
            reg = _reg_file(data[pos:pos + length])
            pos += length
            if reg is not None:
                out.append(reg)
        return out
    except (OSError, ValueError, struct.error, KeyError, IndexError) as e:
        raise FastPathUnavailable("cannot read CRIU's image", f"{path}: {e}") from e


def restore_ms(work: str) -> float | None:
    """criu's own time for the restore whose work folder is `work` (its
    stats), or None where it wrote none."""
    try:
        with open(os.path.join(work, STATS_RESTORE), "rb") as f:
            data = f.read()
        (length,) = struct.unpack_from("<I", data, 8)
        restore = _fields(_fields(data[12:12 + length])[_STATS_RESTORE][0])  # type: ignore[arg-type]
        return int(restore[_RESTORE_TIME][0]) / 1000
    except (OSError, ValueError, struct.error, KeyError, IndexError, TypeError):
        return None
