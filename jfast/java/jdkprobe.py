"""Is a restored run a fresh run on this JDK? The probe program jfast ships
(jfast/demo/FreshProbe.java) is run by plain java, then by jfast in one
directory (the run that makes the checkpoint) and twice more in another with
a changed environment (two restores). What a restore showed the program that
java would not have is a problem. `jfast doctor` runs this on the java it
would use; the JDK tests run it on 11, 17, 21 and 25.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jfast.java import agentfiles

RANDOM = ("math", "random", "secure", "tlr", "split", "uuid")
SAME_AS_JAVA = {"cp": "class path", "args": "JVM input arguments",
                "props": "system properties"}


class Verdict:
    """What the probe found: `made` says whether jfast checkpointed and
    restored it at all (else `why` says why not: fail closed), `problems`
    what a restored run saw that a fresh one would not."""

    def __init__(self) -> None:
        self.made = False
        self.why = ""
        self.problems: list[str] = []


def _lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def probe(java: str, timeout: float = 120) -> Verdict:
    """Run the probe under `java` and jfast; raises OSError or
    subprocess.TimeoutExpired if a run cannot be made."""
    verdict = Verdict()
    demo = str(agentfiles.locate("jfast-demo.jar"))
    argv = ["-cp", demo, "FreshProbe"]
    jfast = [sys.executable, "-m", "jfast.cli"]
    with tempfile.TemporaryDirectory(prefix="jfast-probe.") as tmp:
        top = Path(tmp)
        first, later = top / "first", top / "later"
        first.mkdir()
        later.mkdir()
        report = top / "report.jsonl"
        env = {**os.environ, "JFAST_JAVA": java, "JFAST_CACHE_DIR": str(top / "cache"),
               "JFAST_REPORT": str(report), "JFAST_READY": "explicit",
               "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        env.pop("JFAST_VERBOSE", None)

        def run(cmd: list[str], cwd: Path, value: str) -> subprocess.CompletedProcess:
            t0 = time.time()
            done = subprocess.run(cmd, check=False, cwd=cwd, env={**env, "JFAST_PROBE": value},
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout)
            done.elapsed_ms = (time.time() - t0) * 1000     # what a fresh JVM's age can be
            return done

        def last() -> dict:
            return json.loads(report.read_text().splitlines()[-1])

        plain = run([java, *argv], later, "java")
        if plain.returncode != 0:
            verdict.why = f"java itself fails: {plain.stderr.strip()[-300:]}"
            return verdict
        java_saw = _lines(plain.stdout)
        cold = run([*jfast, *argv], first, "cold")
        rep = last()
        if rep.get("checkpoint") != "created":
            verdict.why = rep.get("reason") or f"no checkpoint ({rep.get('outcome')})"
            return verdict
        seen = [_lines(cold.stdout)]
        for value in ("restored-1", "restored-2"):
            warm = run([*jfast, *argv], later, value)
            rep = last()
            if rep.get("outcome") != "restored":
                verdict.why = f"not restored: {rep.get('reason')}"
                return verdict
            verdict.problems += _compare(warm, _lines(warm.stdout), value, later, plain,
                                         java_saw)
            seen.append(_lines(warm.stdout))
        verdict.made = True
        for name in RANDOM:
            if len({s.get(name) for s in seen}) != len(seen):
                verdict.problems.append(f"{name} repeats the first run's values")
    return verdict


def _compare(run: subprocess.CompletedProcess, saw: dict[str, str], value: str, cwd: Path,
             plain: subprocess.CompletedProcess, java_saw: dict[str, str]) -> list[str]:
    problems = []
    if run.returncode != plain.returncode:
        problems.append(f"exit status {run.returncode}, java's {plain.returncode}")
    if run.stderr != plain.stderr:
        problems.append(f"stderr differs from java's: {run.stderr.strip()[:200]!r}")
    if saw.get("env") != value:
        problems.append("the environment is the first run's")
    if saw.get("procenv") != value:
        problems.append("/proc/PID/environ shows the first run's environment")
    if saw.get("user.dir") != str(cwd):
        problems.append("user.dir is the first run's")
    for name, api in (("io", "java.io"), ("nio", "java.nio")):
        if saw.get(name) != str(cwd / "rel.txt"):
            problems.append(f"{api} resolves relative paths in the first run's directory")
    try:
        written = (cwd / "jfast-probe.out").read_text()
    except OSError:
        written = None
    if written != value:
        problems.append("a relative file was not written in the working directory")
    for name, what in (("started_ms_ago", "start time"), ("uptime_ms", "uptime")):
        # no older than the run itself (50 ms for the clocks' granularity)
        if not -50 <= int(saw.get(name, -99)) <= run.elapsed_ms + 50:
            problems.append(f"RuntimeMXBean's {what} is the first run's ({name}="
                            f"{saw.get(name)}, this run took {run.elapsed_ms:.0f} ms)")
    for name, what in SAME_AS_JAVA.items():
        if saw.get(name) != java_saw.get(name):
            problems.append(f"the {what} differ from java's: {saw.get(name)}")
    return problems
