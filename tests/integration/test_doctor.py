"""`jfast doctor` on this machine: every check with its state, and a missing
criu named, with its fix, and a non-zero exit."""

from __future__ import annotations

import json

import pytest
from conftest import JFAST, Runner

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]


def test_doctor_lists_each_check_and_passes_here(runner: Runner):
    res = runner.run([*JFAST, "doctor"])
    assert res.returncode == 0, res.stdout + res.stderr
    for name in ("kernel", "mode", "criu", "criu check", "sandbox", "java", "agent", "Xvfb",
                 "cache", "jdk"):
        assert any(line.split()[1:2] == name.split()[:1] for line in res.stdout.splitlines()
                   if line.startswith("  ok")), f"{name} is not ok:\n{res.stdout}"
    assert res.stdout.rstrip().endswith("The fast path works.")


def test_doctor_names_a_missing_criu_and_fails(runner: Runner, tmp_path):
    env = {"JFAST_CRIU": str(tmp_path / "no-criu-here")}
    res = runner.run([*JFAST, "doctor"], env=env)
    assert res.returncode == 1
    assert "fail  criu" in res.stdout and "fix: " in res.stdout, res.stdout
    data = json.loads(runner.run([*JFAST, "doctor", "--json"], env=env).stdout)
    assert data["works"] is False
    criu = [c for c in data["checks"] if c["name"] == "criu"]
    assert criu and criu[0]["state"] == "fail" and "setup.sh" in criu[0]["fix"]
