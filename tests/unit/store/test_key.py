"""The cache key (jfast/store/key.py): what changes it and what does not."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from jfast.java import cmdline
from jfast.store import key
from jfast.store.digests import FileDigests


def material(tmp_path: Path, jar: Path, cwd: str = "/", **env: str) -> dict:
    java = shutil.which("java") or "/bin/sh"
    parts = key.Parts(cmd=cmdline.parse(["-jar", str(jar), "a"], {}, cwd), java=java,
                      criu_id="criu|1", stdio_shape="dev0,pipe1,pipe1", env=env, cwd=cwd,
                      agent_id="agent", display={"mode": "none"})
    return key.material(parts, FileDigests(tmp_path))


def test_same_inputs_same_key_and_the_directory_is_not_in_it(tmp_path: Path):
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"jar bytes")
    here = key.key_of(material(tmp_path, jar, cwd="/"))
    assert key.key_of(material(tmp_path, jar, cwd="/tmp")) == here
    assert key.key_of(material(tmp_path, jar, cwd="/", SECRET="x")) == here   # not in KEY_ENV
    assert key.key_of(material(tmp_path, jar, cwd="/", TZ="UTC")) != here


def test_a_jar_changed_in_place_changes_the_key(tmp_path: Path):
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"one")
    before = key.key_of(material(tmp_path, jar))
    st = jar.stat()
    jar.write_bytes(b"two")                           # same size, mtime put back
    os.utime(jar, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert key.key_of(material(tmp_path, jar)) != before


def test_the_key_holds_the_display_part(tmp_path: Path):
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"x")
    m = material(tmp_path, jar)
    assert m["display"] == {"mode": "none"} and m["cpu"] == key.cpu_part()


def test_another_machine_gets_its_own_key_and_the_same_program_key(tmp_path: Path):
    """What names this machine's files and user is replaced by the importing
    machine's own (fleet/artifact.py); the rest is the program's."""
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"jar bytes")
    here = material(tmp_path, jar)
    there = {**here, "java": "8:1234|0|0", "criu": "criu|2", "uid": here["uid"] + 1,
             "kernel": "6.1.0-99", "cpu": "0123456789abcdef"}
    assert key.key_of(there) != key.key_of(here)
    assert key.program_key(there) == key.program_key(here) != key.key_of(here)
    assert key.localized(there, shutil.which("java") or "/bin/sh", "criu|1") == here
    assert key.program_key({**here, "args": ["b"]}) != key.program_key(here)
