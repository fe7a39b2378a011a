"""The user's ready-points file (jfast/readyfile.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from jfast.errors import FastPathUnavailable
from jfast.java import cmdline, readyfile
from jfast.settings import Settings


def write_file(home: Path, text: str) -> dict[str, str]:
    path = home / ".config" / "jfast" / "ready-points"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return {"HOME": str(home)}


def point(env: dict[str, str], argv: list[str], cwd: Path) -> tuple[str, bool]:
    return readyfile.ready_point(Settings(env), cmdline.parse(argv, env, str(cwd)), str(cwd))


def test_a_program_listed_by_main_class_or_jar_name_gets_its_point(tmp_path: Path):
    env = write_file(tmp_path, "# tools I run every day\n\n"
                               "org.example.Tool  call:org.example.Tool.run   # after setup\n"
                               "other.jar call:x.Y.z\n")
    jar = tmp_path / "tool.jar"
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: org.example.Tool\n")
    assert point(env, ["-cp", ".", "org.example.Tool"], tmp_path) == (
        "call:org.example.Tool.run", True)
    assert point(env, ["-jar", str(jar)], tmp_path) == ("call:org.example.Tool.run", True)
    (tmp_path / "other.jar").write_bytes(jar.read_bytes())
    assert point(env, ["-jar", "other.jar"], tmp_path) == ("call:org.example.Tool.run", True)
    assert point(env, ["-cp", ".", "Unlisted"], tmp_path) == ("auto", False)


def test_jfast_ready_wins_over_the_file(tmp_path: Path):
    env = write_file(tmp_path, "Main call:Main.run\n")
    assert point({**env, "JFAST_READY": "main"}, ["Main"], tmp_path) == ("main", False)


def test_no_file_or_no_home_is_auto(tmp_path: Path):
    assert point({"HOME": str(tmp_path)}, ["Main"], tmp_path) == ("auto", False)
    assert point({}, ["Main"], tmp_path) == ("auto", False)
    assert Settings({"XDG_CONFIG_HOME": "/cfg", "HOME": "/h"}).ready_points == \
        "/cfg/jfast/ready-points"


def test_a_bad_line_or_point_names_the_line_and_the_fix(tmp_path: Path):
    env = write_file(tmp_path, "Main call:Main.run extra\n")
    with pytest.raises(FastPathUnavailable, match="line 1 is not") as e:
        point(env, ["Main"], tmp_path)
    assert "one program and its point a line" in e.value.detail
    path = tmp_path / ".config" / "jfast" / "ready-points"
    path.write_text("Main later\n")
    with pytest.raises(FastPathUnavailable, match="ready-points line 1: ready point later"):
        point(env, ["Main"], tmp_path)
