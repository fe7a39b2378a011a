"""The shim JDK home (jfast/java/shim.py) and how jfast finds the real java
through it (jfast/java/jdk.py), on folders made for the test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jfast.java import shim
from jfast.java.jdk import find_java


def fake_jdk(top: Path) -> Path:
    home = top / "jdk"
    (home / "bin").mkdir(parents=True)
    (home / "lib").mkdir()
    (home / "release").write_text('JAVA_VERSION="17.0.1"\n')
    for tool in ("java", "javac"):
        (home / "bin" / tool).write_text("#!/bin/sh\n")
        (home / "bin" / tool).chmod(0o755)
    return home


def fake_jfast(top: Path) -> Path:
    jfast = top / "jfast"
    jfast.write_text("#!/usr/bin/env python3\n# jfast\n")
    jfast.chmod(0o755)
    return jfast


def test_a_shim_is_the_real_home_but_its_java(tmp_path: Path):
    home, jfast = fake_jdk(tmp_path), fake_jfast(tmp_path)
    s = tmp_path / "shim"
    shim.make(str(s), str(home), str(jfast))
    assert os.readlink(s / "bin" / "java") == str(jfast)
    assert os.readlink(s / "bin" / "javac") == str(home / "bin" / "javac")
    assert (s / "release").read_text() == 'JAVA_VERSION="17.0.1"\n'
    assert shim.real_home(str(s)) == str(home)
    # Reached through a chain of links, as /usr/bin/java's alternative is.
    (tmp_path / "alt").symlink_to(s / "bin" / "java")
    (tmp_path / "usr-bin-java").symlink_to(tmp_path / "alt")
    assert shim.real_java(str(tmp_path / "usr-bin-java")) == str(home / "bin" / "java")
    assert shim.real_java(str(jfast)) is None


def test_a_shim_replaces_only_a_shim(tmp_path: Path):
    home, jfast = fake_jdk(tmp_path), fake_jfast(tmp_path)
    s = tmp_path / "shim"
    shim.make(str(s), str(home), str(jfast))
    shim.make(str(s), str(home), str(jfast))            # again: replaced
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(FileExistsError):
        shim.make(str(other), str(home), str(jfast))
    assert not shim.remove(str(other)) and other.exists()
    assert shim.remove(str(s)) and not s.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_jfast_finds_the_real_java_behind_a_shim_whichever_way(tmp_path: Path):
    home, jfast = fake_jdk(tmp_path), fake_jfast(tmp_path)
    s = tmp_path / "shim"
    shim.make(str(s), str(home), str(jfast))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "java").symlink_to(s / "bin" / "java")
    real = str(home / "bin" / "java")
    # started through the shim
    assert find_java({"PATH": "/nonexistent"}, invoked=str(bindir / "java")) == real
    # JAVA_HOME is the shim, started as jfast
    assert find_java({"JAVA_HOME": str(s), "PATH": "/nonexistent"},
                     invoked=str(jfast)) == real
    # only PATH, whose java is the shim's
    assert find_java({"PATH": str(bindir)}, invoked=str(jfast)) == real
