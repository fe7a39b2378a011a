"""`jfast checkpoint` (jfast/commands/checkpoint.py): a checkpoint made
ahead of time, with no one attached, that a later run of the same command
line restores on its first run."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import (
    ASK,
    EARLY,
    JFAST,
    Runner,
    compile_java,
    free_port,
    get,
    need_tool,
    tmux,
    tmux_wait,
    with_api,
)
from test_core_loop import SERVER

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

KEY = re.compile(r"^[0-9a-f]{32}$")


def checkpoint(runner: Runner, *args: str, env: dict | None = None,
               timeout: float = 180) -> subprocess.CompletedProcess:
    """`jfast checkpoint ARGS` as a build step runs it: stdin and stdout pipes."""
    return subprocess.run([*JFAST, "checkpoint", *args], env={**runner.env, **(env or {})},
                          stdin=subprocess.PIPE, capture_output=True, text=True,
                          timeout=timeout, check=False)


def key_of(made: subprocess.CompletedProcess) -> str:
    key = made.stdout.splitlines()[-1]
    assert KEY.match(key), made.stdout
    return key


def test_a_server_made_ahead_restores_on_its_first_run(runner: Runner, tmp_path: Path):
    classes = compile_java(tmp_path / "server", {"Server.java": SERVER})
    port = free_port()
    argv = ["-cp", str(classes), "Server", str(port)]
    made = checkpoint(runner, "--", *argv)
    assert made.returncode == 0, made.stderr
    key = key_of(made)
    assert runner.last()["ready_point"] == "socket"
    # stopped at its point: it holds no port
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    proc = subprocess.Popen([*JFAST, *argv], env=runner.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert get(port) == "hit 1 warm true"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    rep = runner.last()
    assert (rep["outcome"], rep["key"]) == ("restored", key), rep
    again = checkpoint(runner, "--", *argv)           # made already: kept
    assert (again.returncode, key_of(again)) == (0, key)


def test_an_explicit_point_made_ahead_replays_as_java_runs(runner: Runner, tmp_path: Path):
    """Stopped at its point: what it prints after is printed by the restored
    runs alone, which print what java does and end with its status."""
    cp = with_api(tmp_path / "early", {"Early.java": EARLY})
    made = checkpoint(runner, "--", "-cp", cp, "Early", "x")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0] == "early line, before the ready point"
    assert "late" not in made.stdout
    want = runner.java("-cp", cp, "Early", "x")
    got = runner.jfast("-cp", cp, "Early", "x")
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, 7)
    assert runner.last()["outcome"] == "restored"


QUICK = """
    public class Quick {
        public static void main(String[] args) throws Exception {
            Thread.sleep(Long.parseLong(args[0]));
            System.out.println("done");
        }
    }
"""


@pytest.mark.parametrize(("millis", "timeout", "why"), [
    ("0", "60", "the program ended (status 0) before any ready point"),
    ("20000", "2", "no ready point within 2 s"),
])
def test_no_ready_point_makes_no_entry_and_says_why(runner: Runner, tmp_path: Path,
                                                     millis: str, timeout: str, why: str):
    classes = compile_java(tmp_path / "quick", {"Quick.java": QUICK})
    made = checkpoint(runner, "--timeout", timeout, "--", "-cp", str(classes), "Quick", millis)
    assert made.returncode == 1
    assert made.stderr.strip().splitlines()[-1] == f"jfast checkpoint: {why}"
    assert runner.entries() == []


def test_bad_arguments_are_a_usage_error(runner: Runner):
    for args, said in ((["--"], "no java command line"),
                       (["--ready", "soon", "--", "-version"], "ready point soon is not known"),
                       (["--timeout", "0", "--", "-version"], "--timeout")):
        made = checkpoint(runner, *args)
        assert made.returncode == 2 and said in made.stderr, made.stderr


def test_a_terminal_program_made_ahead_restores_at_a_terminal(runner: Runner,
                                                              tmp_path: Path):
    """--terminal: the program runs on a terminal of its own to its prompt;
    a user's first run in a real terminal (tmux) is then a restore."""
    need_tool("tmux")
    classes = compile_java(tmp_path / "c", {"Ask.java": ASK})
    made = checkpoint(runner, "--terminal", "--", "-cp", str(classes), "Ask")
    assert made.returncode == 0, made.stdout
    key = key_of(made)
    assert runner.last()["ready_point"] == "stdin"
    script = tmp_path / "ask.sh"
    exports = " ".join(f"{k}={v!r}" for k, v in runner.env.items()
                       if k.startswith("JFAST_") or k in ("HOME", "LANG"))
    script.write_text(f"export {exports}\n{' '.join(JFAST)} -cp {classes} Ask\necho EXIT:$?\n")
    sock = f"jfast-ahead-{os.getpid()}"
    try:
        tmux(sock, "new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
             f"sh {script}; sleep 600")
        assert tmux_wait(sock, "word>$").startswith("Ask 1.0, type a word\nword>")
        tmux(sock, "send-keys", "-t", "t", "hello", "Enter")
        assert tmux_wait(sock, "EXIT:0").endswith("word> hello\ngot hello\nEXIT:0")
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, check=False)
    rep = runner.last()
    assert (rep["outcome"], rep["key"]) == ("restored", key), rep
