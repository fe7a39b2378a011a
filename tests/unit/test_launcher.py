"""The launcher's decisions that need neither root nor CRIU
(jfast/launcher.py): what goes straight to java, and a fallback that still
runs the program. A stand-in java prints its arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jfast import launcher
from jfast.launcher import _inputs_changed
from jfast.store.entry import Meta

TOP = Path(__file__).resolve().parents[2]


def fake_java(tmp_path: Path) -> Path:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    java = home / "bin" / "java"
    java.write_text("#!/bin/sh\necho \"java $*\"\nexit 3\n")
    java.chmod(0o755)
    (home / "release").write_text('JAVA_VERSION="17.0.15"\n')
    return java


def jfast(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / "report.jsonl"
    run = subprocess.run([sys.executable, str(TOP / "bin" / "jfast"), *args], cwd=tmp_path,
                         env={"PATH": os.defpath, "JFAST_JAVA": str(fake_java(tmp_path)),
                              "JFAST_REPORT": str(report),
                              "JFAST_CACHE_DIR": str(tmp_path / "cache"), **env},
                         capture_output=True, text=True, timeout=60)
    return run, json.loads(report.read_text().splitlines()[-1])


def test_what_goes_straight_to_java(tmp_path: Path):
    for args, env, reason in (
            (["-version"], {}, "informational option -version"),
            (["-cp", ".", "App"], {"JFAST_DISABLE": "1"}, "JFAST_DISABLE is set"),
            (["-XX:AOTMode=record", "-cp", ".", "App"], {},
             "option -XX:AOTMode=record does not mix with checkpoints"),
            (["@missing.args"], {}, "missing.args")):
        run, rep = jfast(tmp_path, *args, **env)
        assert (run.returncode, run.stdout) == (3, "java " + " ".join(args) + "\n")
        assert rep["outcome"] == "passthrough" and reason in rep["reason"], rep


def test_without_criu_the_program_runs_under_java_with_the_reason(tmp_path: Path):
    run, rep = jfast(tmp_path, "-cp", ".", "App", "x", JFAST_CRIU="/nonexistent/criu")
    assert (run.returncode, run.stdout) == (3, "java -cp . App x\n")
    assert (rep["outcome"], rep["reason"].split(":")[0]) == ("fallback", "criu not found")


def test_a_checkpoint_is_replaced_when_what_it_read_changed(tmp_path: Path):
    conf = tmp_path / "app.conf"
    conf.write_text("a")
    st = conf.stat()
    files = {str(conf): [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev,
                         None]}
    meta = Meta({"inputs": {"cwd": str(tmp_path), "files": files}})
    os.chdir(tmp_path)
    assert _inputs_changed(meta, {}) is None
    conf.write_text("bb")
    assert "app.conf" in _inputs_changed(meta, {})
    gone = Meta({"inputs": {"cwd": str(tmp_path / "gone"), "files": {}}})
    assert "is gone" in _inputs_changed(gone, {})
    read = Meta({"inputs": {"cwd": "/", "files": {}, "env": {"SECRET": "s1", "UNSET": None}}})
    assert _inputs_changed(read, {"SECRET": "s1", "OTHER": "x"}) is None
    assert "$SECRET" in _inputs_changed(read, {"SECRET": "s2"})
    assert "$UNSET" in _inputs_changed(read, {"SECRET": "s1", "UNSET": ""})


# -- callers java handles, and so must jfast (issue: odd callers) ---------------

def sh(tmp_path: Path, script: str, **env: str) -> subprocess.CompletedProcess:
    """`script` in sh, with $JFAST the jfast command and a stand-in java."""
    java = fake_java(tmp_path)
    return subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={"PATH": os.defpath, "JFAST_JAVA": str(java),
                                           "JFAST": f"{sys.executable} {TOP / 'bin' / 'jfast'}",
                                           "JFAST_CACHE_DIR": str(tmp_path / "cache"), **env})


def test_closed_stdout_or_stderr_still_runs_the_program(tmp_path: Path):
    """As daemons and cron jobs run it (`>&-`): the program runs, and the
    status is its own."""
    for redirect in (">&-", "2>&-", ">&- 2>&-"):
        for args, env in (("-version", {}), ("-cp . App", {"JFAST_DISABLE": "1"})):
            run = sh(tmp_path, f"$JFAST {args} {redirect}; echo status=$?", **env)
            assert "Traceback" not in run.stderr, (redirect, args, run.stderr)
            assert run.stdout.endswith("status=3\n"), (redirect, args, run.stdout)


def test_a_deleted_working_directory_is_javas_to_report(tmp_path: Path):
    run = sh(tmp_path, "mkdir gone && cd gone && rmdir ../gone && $JFAST -cp . App; "
                       "echo status=$?")
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stdout.endswith("java -cp . App\nstatus=3\n"), run.stdout


def test_jfast_java_must_be_a_java(tmp_path: Path):
    run = sh(tmp_path, "$JFAST -cp . App; echo status=$?", JFAST_JAVA="/bin/echo")
    assert run.stdout == "status=127\n"
    assert "JFAST_JAVA=/bin/echo is not a java" in run.stderr and "-agentpath" not in run.stdout


def test_a_program_killed_by_sigkill_kills_jfast_the_same_way():
    code = ("import os, sys; sys.path.insert(0, %r); from jfast.launcher import _die_of; "
            "_die_of(9); sys.exit(5)" % str(TOP))
    run = subprocess.run([sys.executable, "-c", code])
    assert run.returncode == -9


def test_the_report_is_not_written_through_a_symbolic_link(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("theirs\n")
    (tmp_path / "report.jsonl").symlink_to(victim)
    run = sh(tmp_path, "$JFAST -version; echo status=$?",
             JFAST_REPORT=str(tmp_path / "report.jsonl"))
    assert run.stdout.endswith("status=3\n") and victim.read_text() == "theirs\n"


def test_a_whole_environment_read_ignores_only_where_the_caller_is():
    then = {"A": "1", "PWD": "/one", "TMUX": "/tmp/tmux-0/a,1,0"}
    read = Meta({"inputs": {"cwd": "/", "files": {}, "env": then, "env_whole": True}})
    assert _inputs_changed(read, {"A": "1", "PWD": "/two", "TMUX": "/tmp/tmux-0/b,2,0"}) is None
    assert "$A" in _inputs_changed(read, {"A": "2", "PWD": "/one"})
    assert "without $B" in _inputs_changed(read, {"A": "1", "B": "new"})
    named = Meta({"inputs": {"cwd": "/", "files": {}, "env": {"PWD": "/one"}}})
    assert "$PWD" in _inputs_changed(named, {"PWD": "/two"})          # read by name: counts


def test_jfast_checkpoint_runs_again_only_after_a_matter_of_timing(monkeypatch):
    tries: list[bool] = []

    def once(argv, timeout, outcomes):
        tries.append(True)
        again = outcomes.pop(0)
        if again is None:
            return "key"
        raise launcher.NoCheckpoint("no point", again=again)

    outcomes = [True, True, None]
    monkeypatch.setattr(launcher, "_checkpoint_once", lambda a, t: once(a, t, outcomes))
    assert launcher.checkpoint(["-version"], 1) == "key" and len(tries) == 3
    outcomes[:] = [True, True, True, None]
    with pytest.raises(launcher.NoCheckpoint):          # not forever
        launcher.checkpoint(["-version"], 1)
    outcomes[:] = [False, None]
    tries.clear()
    with pytest.raises(launcher.NoCheckpoint, match="no point"):
        launcher.checkpoint(["-version"], 1)
    assert len(tries) == 1
