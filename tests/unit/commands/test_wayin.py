"""`jfast install` and `uninstall` for a user (jfast/commands/wayin.py), in
a home made for the test: what is made, what the login shell then sees,
and that undoing leaves the home as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jfast.commands import wayin
from jfast.errors import JfastError


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".profile").write_text('PATH="$HOME/bin:$PATH"\n')
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    jdk = tmp_path / "jdk"
    (jdk / "bin").mkdir(parents=True)
    (jdk / "release").write_text("")
    (jdk / "bin" / "java").write_text("#!/bin/sh\n")
    (jdk / "bin" / "java").chmod(0o755)
    jfast = tmp_path / "jfast"
    jfast.write_text("#!/bin/sh\n")
    jfast.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(jfast)])
    return home


def login_env(home: Path) -> dict[str, str]:
    out = subprocess.run(["env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin", "sh", "-lc", "env"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_install_sets_every_way_and_uninstall_takes_it_back(home: Path):
    before = (home / ".profile").read_text()
    scope = wayin.Scope(machine=False, home=str(home))
    jdk = str(home.parent / "jdk")
    done = wayin.install(scope, java=f"{jdk}/bin/java")
    assert any("made" in line for line in done)
    shim = home / ".local/share/jfast/jdk"
    env = login_env(home)
    assert env["JAVA_HOME"] == env["JRE_HOME"] == str(shim)
    assert env["JAVA_CMD"] == env["JAVACMD"] == f"{shim}/bin/java"
    assert env["PATH"].split(":")[0] == str(home / ".local/bin")
    assert os.path.realpath(home / ".local/bin/java") == str(home.parent / "jfast")
    conf = (home / ".config/environment.d/50-jfast.conf").read_text()
    assert f"JAVA_CMD={shim}/bin/java" in conf
    wayin.install(scope, java=f"{jdk}/bin/java")            # again: no second line
    assert (home / ".profile").read_text().count(wayin.MARK) == 1
    wayin.uninstall(scope)
    assert (home / ".profile").read_text() == before
    assert "JAVA_HOME" not in login_env(home)
    assert not (home / ".local/bin/java").exists() and not shim.exists()
    assert wayin.uninstall(scope) == []


def test_the_machine_needs_root(home: Path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(JfastError, match="needs root"):
        wayin.install(wayin.Scope(machine=True))


def test_a_file_of_the_users_own_is_never_replaced(home: Path):
    (home / ".local/bin").mkdir(parents=True)
    (home / ".local/bin/java").write_text("mine")
    with pytest.raises(JfastError, match="move it away"):
        wayin.install(wayin.Scope(machine=False, home=str(home)),
                      java=str(home.parent / "jdk/bin/java"))
    assert (home / ".local/bin/java").read_text() == "mine"
