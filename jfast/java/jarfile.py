"""Single members of a jar, its manifest above all: the `Class-Path` the key
follows, and the `Main-Class` (and that class) whose use of AWT picks a
display.

zipfile builds an object for every entry of a jar's central directory
before it can read one: about 9 ms for PlantUML's 11,000 entries, and 50 ms
for jython's, on every first run. So a member's record is found in the raw
central directory; zipfile remains for what this does not handle (zip64, a
record split across the directory).
"""

from __future__ import annotations

import struct
import zlib

MANIFEST = "META-INF/MANIFEST.MF"
EOCD = b"PK\x05\x06"         # end of central directory
CENTRAL = b"PK\x01\x02"      # a central directory record
LOCAL = b"PK\x03\x04"        # a local file header
TAIL = 22 + 0xFFFF            # the end record plus the longest zip comment
ABSENT = b""                  # _read's answer for a jar without the member


def member(path: str, name: str) -> bytes | None:
    """The member `name` of the jar at `path`, or None (no such member, not
    a readable jar)."""
    try:
        data = _read(path, name.encode())
    except (OSError, ValueError, zlib.error, struct.error):
        data = None
    if data is None:
        data = _read_with_zipfile(path, name)
    return data if data is not ABSENT else None


def class_path(path: str) -> list[str]:
    """The relative URLs of the manifest's Class-Path (http ones dropped)."""
    if not path.endswith((".jar", ".JAR", ".zip")):
        return []
    value = _attribute(path, "class-path") or ""
    return [p for p in value.split() if not p.startswith("http")]


def main_class(path: str) -> str | None:
    """The manifest's Main-Class, or None."""
    return _attribute(path, "main-class")


def _attribute(path: str, key: str) -> str | None:
    data = member(path, MANIFEST)
    if data is None:
        return None
    # Manifest lines wrap at 72 bytes; a leading space continues a line.
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\n ", "")
    for line in text.split("\n"):
        if line.lower().startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return None


def _read(path: str, name: bytes) -> bytes | None:
    """The member's bytes, ABSENT when there is none, None to ask zipfile."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - TAIL))
        tail = f.read()
        end = tail.rfind(EOCD)
        if end < 0 or len(tail) - end < 22:
            return None
        cd_size, cd_offset = struct.unpack_from("<II", tail, end + 12)
        if cd_offset == 0xFFFFFFFF:
            return None                               # zip64
        f.seek(cd_offset)
        directory = f.read(cd_size)
        # The name follows its 46-byte record: find the name, then check it
        # is a whole record's (not the tail of a longer name).
        at = directory.find(name, 46)
        while at >= 0:
            rec = at - 46
            method, csize, name_len, local = struct.unpack_from("<10xH8xI4xH12xI", directory, rec)
            if directory[rec:rec + 4] == CENTRAL and name_len == len(name):
                f.seek(local)
                header = f.read(30)
                if header[:4] != LOCAL:
                    return None
                f.seek(local + 30 + sum(struct.unpack_from("<HH", header, 26)))
                data = f.read(csize)
                if method == 8:
                    return zlib.decompress(data, -15)
                return data if method == 0 else None
            at = directory.find(name, at + 1)
        return ABSENT


def _read_with_zipfile(path: str, name: str) -> bytes:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return z.read(name)
    except (OSError, KeyError, zipfile.BadZipFile):
        return ABSENT
