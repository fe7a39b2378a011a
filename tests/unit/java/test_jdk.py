"""Finding the real java, never jfast (jfast/java/jdk.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jfast.errors import JfastError
from jfast.java import jdk
from jfast.settings import Settings


def fake_jdk(root: Path, version: str = "21.0.8") -> Path:
    (root / "bin").mkdir(parents=True)
    java = root / "bin" / "java"
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    (root / "release").write_text(f'JAVA_VERSION="{version}"\nIMPLEMENTOR="Eclipse Adoptium"\n')
    return java


def test_jfast_java_then_java_home_then_path(tmp_path: Path):
    a, b, c = (fake_jdk(tmp_path / n) for n in "abc")
    env = {"JAVA_HOME": str(tmp_path / "b"), "PATH": str(c.parent)}
    assert jdk.find_java(env) == str(b)
    assert jdk.find_java({**env, "JFAST_JAVA": str(a)}) == str(a)
    assert jdk.find_java({"PATH": str(c.parent)}) == str(c)
    assert jdk.find_java(env, Settings({"JFAST_JAVA": str(a)})) == str(a)


def test_jfast_itself_on_path_is_passed_over(tmp_path: Path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "java").write_text("#!/usr/bin/env python3\nfrom jfast.cli import run\n")
    (shim / "java").chmod(0o755)
    real = fake_jdk(tmp_path / "jdk")
    assert jdk.find_java({"PATH": f"{shim}:{real.parent}"}) == str(real)
    with pytest.raises(JfastError, match="no java found"):
        jdk.find_java({"PATH": str(shim)})
    with pytest.raises(JfastError, match="JFAST_JAVA="):
        jdk.find_java({"JFAST_JAVA": str(shim / "java")})


@pytest.mark.parametrize("version,feature", [("21.0.8", 21), ("1.8.0_402", 8), ("25", 25),
                                             ("17-ea", 17), ("", None)])
def test_the_feature_release_from_the_release_file(tmp_path: Path, version, feature):
    java = fake_jdk(tmp_path / "jdk", version)
    assert jdk.feature_version(str(java)) == feature
    assert jdk.java_home(str(java)) == str(tmp_path / "jdk")
    assert jdk.jdk_release(str(java))["implementor"] == "Eclipse Adoptium"
