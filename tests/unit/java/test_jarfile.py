"""Members of a jar read from its central directory (jfast/java/jarfile.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from jfast.java import jarfile


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_jars_manifest_and_members_are_read_from_its_directory(tmp_path: Path, compression: int):
    jar = tmp_path / "app.jar"
    with zipfile.ZipFile(jar, "w", compression) as z:
        z.writestr("lib/META-INF/MANIFEST.MF", "Class-Path: wrong.jar\n")   # not the manifest
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nClass-Path: a.jar b\r\n"
                   " c.jar http://x/y.jar\r\nMain-Class: M\r\n")
        z.writestr("pkg/M.class", b"decoy")                                 # ends with the name
        z.writestr("M.class", b"\xca\xfe")
    assert jarfile.class_path(str(jar)) == ["a.jar", "bc.jar"]
    assert jarfile.main_class(str(jar)) == "M"
    assert jarfile.member(str(jar), "M.class") == b"\xca\xfe"
    assert jarfile.member(str(jar), "N.class") is None
    bare = tmp_path / "bare.jar"
    with zipfile.ZipFile(bare, "w") as z:
        z.writestr("M.class", b"\xca\xfe")
    assert jarfile.class_path(str(bare)) == []
    assert jarfile.main_class(str(bare)) is None
    (tmp_path / "broken.jar").write_bytes(b"not a zip")
    assert jarfile.class_path(str(tmp_path / "broken.jar")) == []
    assert jarfile.member(str(tmp_path / "broken.jar"), "M.class") is None
