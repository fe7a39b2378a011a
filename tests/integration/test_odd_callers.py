"""Callers java handles, on the fast path too: arguments near ARG_MAX, stdout
or stderr closed, a program killed by SIGKILL. Real jfast, java and CRIU."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from conftest import EARLY, JFAST, Runner, compile_java, with_api

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

COUNT = """
    public class Count {
        public static void main(String[] args) throws Exception {
            long n = 0;
            for (String a : args) n += a.length();
            System.out.println(args.length + " args, " + n + " chars");
            if (args.length > 0 && args[0].equals("kill"))
                new ProcessBuilder("kill", "-9", "" + ProcessHandle.current().pid())
                    .start().waitFor();
            System.exit(4);
        }
    }
"""


@pytest.fixture(scope="module")
def count(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return ["-cp", str(compile_java(tmp_path_factory.mktemp("count"), {"Count.java": COUNT})),
            "Count"]


def fits(argv: list[str], env: dict[str, str]) -> bool:
    """Whether exec takes `argv` (python and jfast's script): tried with the
    interpreter on a no-op program of the script path's length."""
    noop = "pass".ljust(len(argv[1]) - 3)         # with "-c", as long as the path
    try:
        subprocess.run([argv[0], "-c", noop, *argv[2:]], env=env, check=True)
        return True
    except OSError:
        return False


def test_arguments_near_arg_max_still_run_the_program(runner: Runner, count: list[str]):
    """java takes them; jfast's own options on top would not fit, so the
    sandbox cannot start the JVM: java runs the program with the user's."""
    env = {**runner.env, "JFAST_READY": "main"}
    words = [*JFAST, *count] + ["x" * 1000] * 1900
    while fits(words + ["x" * 1000], env):
        words.append("x" * 1000)
    pad = 0
    while fits(words + ["y" * (pad + 25)], env):
        pad += 25
    words.append("y" * pad)                      # as much as a call of jfast takes
    run = subprocess.run(words, env=env, capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout.split(" args")[0]) == (4, str(len(words) - 5)), run.stderr
    rep = runner.last()
    assert rep["outcome"] == "fallback" and "Argument list too long" in rep["reason"], rep


@pytest.mark.parametrize("closed", ["1", "2"])
def test_a_closed_stdout_or_stderr_on_the_fast_path(runner: Runner, count: list[str],
                                                    closed: str):
    runner.at_main()
    statuses = []
    for _ in range(3):                           # cold, checkpoint, restore
        run = subprocess.run(f'{" ".join(JFAST)} {" ".join(count)} a {closed}>&-; '
                             'echo status=$?', shell=True, env=runner.env,
                             capture_output=True, text=True, timeout=120)
        assert "Traceback" not in run.stderr, run.stderr
        statuses.append(run.stdout.strip().splitlines()[-1])
    assert statuses == ["status=4"] * 3
    assert runner.last()["outcome"] == "restored", runner.reports()


def test_a_program_killed_by_sigkill_kills_jfast_with_it(runner: Runner, count: list[str]):
    """java's parent sees death by signal 9; jfast's parent must too, for
    a cold run and a restored one."""
    runner.at_main()
    for _ in range(3):
        run = runner.run([*JFAST, *count, "kill"])
        assert run.returncode == -signal.SIGKILL, (run.returncode, runner.last())
    assert {r["exit_signal"] for r in runner.reports()} == {signal.SIGKILL}




def test_any_redirection_of_output_restores_the_same_checkpoint(runner: Runner,
                                                                 tmp_path: Path):
    """/dev/null, a file and a pipe are one shape to the program: the
    checkpoint made under one restores under the others, early output and
    all. Only sharing tells shapes apart (stderr one with stdout or not)."""
    cp = with_api(tmp_path / "early", {"Early.java": EARLY})
    cmd = f'{" ".join(JFAST)} -cp {cp} Early x'
    out = tmp_path / "out.txt"
    both = "early line, before the ready point\nearly warning\nlate x\n"
    first = "early line, before the ready point\nlate x\n"
    for shell, outcome, expected in (
            (f"{cmd} >/dev/null 2>&1", "started", None),
            (f"{cmd} >{out} 2>&1", "restored", both),
            (f"{cmd} 2>&1 | cat", "restored", both),
            (f"{cmd} >{out} 2>/dev/null", "started", first),
            (f"{cmd} >/dev/null 2>/dev/null", "restored", None),
            (f"{cmd} 2>/dev/null | cat", "restored", first)):
        run = subprocess.run(shell, shell=True, check=False, env=runner.env,
                             capture_output=True, text=True, timeout=120,
                             stdin=subprocess.DEVNULL)
        assert runner.last()["outcome"] == outcome, (shell, runner.last())
        if expected is not None:
            text = out.read_text() if f">{out}" in shell else run.stdout
            assert text == expected, (shell, text)
    assert len(runner.entries()) == 2


READS_STDIN = """
    import java.io.*;
    public class ReadsStdin {
        public static void main(String[] args) throws IOException {
            String line = new BufferedReader(new InputStreamReader(System.in)).readLine();
            dev.jfast.Jfast.ready();
            System.out.println("got " + line);
        }
    }
"""


def test_stdin_read_before_the_ready_point_makes_no_checkpoint(runner: Runner, tmp_path: Path):
    """A restore would go on from the first run's input: like an input file
    read before the point, it keeps the program from being checkpointed.
    A program that leaves stdin alone is restored with a pipe on stdin."""
    cp = with_api(tmp_path / "reads", {"ReadsStdin.java": READS_STDIN})
    for word in ("first", "second", "third"):
        run = runner.run([*JFAST, "-cp", cp, "ReadsStdin"], input=f"{word}\n")
        assert run.stdout == f"got {word}\n", (run.stdout, runner.last())
        assert runner.last()["outcome"] == "started", runner.last()
    assert "read 6 bytes of stdin before its ready point" in runner.reports()[0]["reason"]
    early = with_api(tmp_path / "early", {"Early.java": EARLY})
    outcomes = []
    for word in ("one", "two"):
        run = runner.run([*JFAST, "-cp", early, "Early", "x"], input=f"{word}\n")
        assert run.stdout == "early line, before the ready point\nlate x\n", run.stdout
        outcomes.append(runner.last()["outcome"])
    assert outcomes == ["started", "restored"]
