"""Judging what a restored probe saw (jfast/java/jdkprobe.py); the probe
itself runs on four JDKs in tests/integration/test_jdks.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

from jfast.java import jdkprobe


def run(stdout: str, stderr: str = "", code: int = 0, elapsed: float = 200.0):
    done = subprocess.CompletedProcess([], code, stdout, stderr)
    done.elapsed_ms = elapsed
    return done


def saw(tmp_path: Path, **over: str) -> str:
    lines = {"env": "v", "procenv": "v", "user.dir": str(tmp_path), "io": str(tmp_path / "rel.txt"),
             "nio": str(tmp_path / "rel.txt"), "cp": "/app", "args": "[]", "props": "",
             "started_ms_ago": "80", "uptime_ms": "80", **over}
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def test_a_fresh_run_has_no_problems(tmp_path: Path):
    (tmp_path / "jfast-probe.out").write_text("v")
    plain = run(saw(tmp_path))
    warm = run(saw(tmp_path))
    assert jdkprobe._compare(warm, jdkprobe._lines(warm.stdout), "v", tmp_path, plain,
                             jdkprobe._lines(plain.stdout)) == []


def test_each_stale_thing_is_named(tmp_path: Path):
    plain = run(saw(tmp_path))
    warm = run(saw(tmp_path, env="cold", procenv="cold", io="/elsewhere/rel.txt", args="[-agentpath:x]",
                   started_ms_ago="99999"), stderr="WARNING: restricted")
    problems = jdkprobe._compare(warm, jdkprobe._lines(warm.stdout), "v", tmp_path, plain,
                                 jdkprobe._lines(plain.stdout))
    text = "; ".join(problems)
    for what in ("stderr differs", "environment is the first run's", "environ shows",
                 "java.io resolves",
                 "relative file was not written", "JVM input arguments differ",
                 "start time is the first run's"):
        assert what in text, (what, problems)
