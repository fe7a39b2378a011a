"""A jar's `Class-Path` manifest attribute, which the key follows.

zipfile builds an object for every entry of a jar's central directory
before it can read one (about 9 ms for PlantUML's 11,000 entries, and
Debian's PlantUML names ten more jars). Only the manifest is needed, so its
record is found in the raw central directory; zipfile remains for what this
does not handle (zip64, a record split across the directory).
"""

from __future__ import annotations

import struct
import zlib

NAME = b"META-INF/MANIFEST.MF"
EOCD = b"PK\x05\x06"         # end of central directory
CENTRAL = b"PK\x01\x02"      # a central directory record
LOCAL = b"PK\x03\x04"        # a local file header
TAIL = 22 + 0xFFFF            # the end record plus the longest zip comment


def class_path(path: str) -> list[str]:
    """The relative URLs of the manifest's Class-Path (http ones dropped)."""
    if not path.endswith((".jar", ".JAR", ".zip")):
        return []
    try:
        text = _read(path)
    except (OSError, ValueError, zlib.error, struct.error):
        text = None
    if text is None:
        text = _read_with_zipfile(path)
    # Manifest lines wrap at 72 bytes; a leading space continues a line.
    text = text.replace("\r\n", "\n").replace("\n ", "")
    for line in text.split("\n"):
        if line.lower().startswith("class-path:"):
            return [p for p in line.split(":", 1)[1].split() if not p.startswith("http")]
    return []


def _read(path: str) -> str | None:
    """The manifest's text, "" when there is none, None to ask zipfile."""
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
        at = directory.find(NAME, 46)
        while at >= 0:
            rec = at - 46
            method, csize, name_len, local = struct.unpack_from("<10xH8xI4xH12xI", directory, rec)
            if directory[rec:rec + 4] == CENTRAL and name_len == len(NAME):
                f.seek(local)
                header = f.read(30)
                if header[:4] != LOCAL:
                    return None
                f.seek(local + 30 + sum(struct.unpack_from("<HH", header, 26)))
                data = f.read(csize)
                if method == 8:
                    data = zlib.decompress(data, -15)
                elif method != 0:
                    return None
                return data.decode("utf-8", "replace")
            at = directory.find(NAME, at + 1)
        return ""


def _read_with_zipfile(path: str) -> str:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return ""
