"""Shared fixtures: real java, real CRIU, programs compiled for the test.

Integration tests need root, kernel namespaces and a working CRIU >= 4.1.
Where `JFAST_MUST_WORK` is unset they skip with the reason; where it is set
(CI) a missing piece is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# tests/: the unit tests' package `unit` holds what both tiers use.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from unit import compile_java  # noqa: E402,F401 - imported by the tests from here

# A program with an explicit ready point that prints on both streams before
# it and ends with status 7: early output and exit status in one run.
EARLY = """
    public class Early {
        public static void main(String[] args) {
            System.out.println("early line, before the ready point");
            System.err.println("early warning");
            dev.jfast.Jfast.ready();
            System.out.println("late " + String.join(" ", args));
            System.exit(7);
        }
    }
"""

# A program that asks for a word at a prompt on its terminal (the stdin point).
ASK = """
    import java.io.*;
    public class Ask {
        public static void main(String[] a) throws IOException {
            System.out.println("Ask 1.0, type a word");
            System.out.print("word> ");
            System.out.flush();
            String w = new BufferedReader(new InputStreamReader(System.in)).readLine();
            System.out.println("got " + w);
        }
    }
"""


def with_api(out: Path, sources: dict[str, str]) -> str:
    """Compile programs that call dev.jfast.Jfast.ready() into `out`; their
    class path, with the jar that holds that API."""
    from jfast.java import agentfiles
    api = str(agentfiles.locate("jfast-agent.jar"))
    return f"{compile_java(out, sources, api)}:{api}"

REPO = Path(__file__).resolve().parents[2]
JFAST = [sys.executable, str(REPO / "bin" / "jfast")]
MUST_WORK = os.environ.get("JFAST_MUST_WORK", "") not in ("", "0")


def _missing_for_integration() -> str | None:
    if os.geteuid() != 0:
        return "needs root (pid and mount namespaces, CRIU)"
    if not shutil.which("java") or not shutil.which("javac"):
        return "needs a JDK (java and javac on PATH): run ./setup.sh"
    criu = os.environ.get("JFAST_CRIU") or shutil.which("criu")
    if not criu:
        return "needs CRIU >= 4.1 on PATH: run ./setup.sh"
    res = subprocess.run([criu, "check"], capture_output=True, text=True)
    if res.returncode != 0:
        return f"`criu check` fails here: {res.stderr.strip()[:200]}"
    return None


@pytest.fixture(scope="session")
def integration() -> None:
    why = _missing_for_integration()
    if why:
        if MUST_WORK:
            pytest.fail(f"JFAST_MUST_WORK is set but {why}")
        pytest.skip(why)


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        if MUST_WORK:
            pytest.fail(f"JFAST_MUST_WORK is set but {name} is missing: run ./setup.sh")
        pytest.skip(f"{name} is not installed: run ./setup.sh")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str = "/", deadline: float = 60) -> str:
    """The body at http://127.0.0.1:`port``path`, retrying until the
    server answers, as a health check does."""
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.02)


def keypair(folder: Path, name: str) -> tuple[str, str]:
    """An SSH key file `name` in `folder`, and an allowed-signers file that
    trusts it as `name@example` (jfast/fleet/signing.py)."""
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True, stdin=subprocess.DEVNULL)
    allowed = folder / f"{name}.allowed"
    allowed.write_text(f"{name}@example " + " ".join(
        (folder / f"{name}.pub").read_text().split()[:2]) + "\n")
    return str(key), str(allowed)


def java_symlink(tmp_path: Path) -> Path:
    """A folder whose `java` is jfast, to put first on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "java").symlink_to(REPO / "bin" / "jfast")
    return bindir


def tmux(sock: str, *args: str) -> str:
    """Run a tmux command on the private server `sock`; its output."""
    res = subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True,
                         check=False, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, f"tmux {args[0]} failed: {res.stderr.strip()}"
    return res.stdout


def tmux_screen(sock: str) -> str:
    return tmux(sock, "capture-pane", "-p", "-t", "t")


def tmux_wait(sock: str, pattern: str, timeout: float = 90) -> str:
    """The screen once the regular expression `pattern` appears on it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        screen = tmux_screen(sock).rstrip()     # tmux trims each line; drop the empty ones
        if re.search(pattern, screen):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never appeared on the terminal:\n{tmux_screen(sock)}")


class Runner:
    """Runs jfast (or java) with a private cache and report file."""

    def __init__(self, tmp: Path) -> None:
        self.cache = tmp / "cache"
        self.report = tmp / "report.jsonl"
        self.env = {**os.environ, "JFAST_CACHE_DIR": str(self.cache),
                    "JFAST_REPORT": str(self.report)}
        self.env.pop("JFAST_VERBOSE", None)
        self.env.pop("JFAST_READY", None)

    def at_main(self) -> None:
        """Checkpoint at main-entry on the first run (JFAST_READY=main). Under
        auto a program as small as these tests' gets no checkpoint at all
        (warmup.MAIN_GAIN), and tests of what a restore does need one."""
        self.env["JFAST_READY"] = "main"

    def jfast(self, *args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
        return self.run([*JFAST, *args], timeout=timeout, **kw)

    def java(self, *args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
        return self.run(["java", *args], timeout=timeout, **kw)

    def run(self, argv: list[str], timeout: float = 120, env: dict | None = None,
            **kw) -> subprocess.CompletedProcess:
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env={**self.env, **(env or {})}, **kw)

    def reports(self) -> list[dict]:
        if not self.report.exists():
            return []
        return [json.loads(line) for line in self.report.read_text().splitlines()]

    def last(self) -> dict:
        return self.reports()[-1]

    def entries(self) -> list[Path]:
        d = self.cache / "entries"
        if not d.exists():
            return []
        return [p for p in d.iterdir() if p.is_dir() and "." not in p.name]


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


@pytest.fixture(scope="session")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """App prints its arguments, writes to stderr and exits 3."""
    return compile_java(tmp_path_factory.mktemp("app"), {"App.java": """
        public class App {
            public static void main(String[] args) {
                System.out.println("args: " + String.join(" ", args));
                System.err.println("App says hello on stderr");
                System.exit(3);
            }
        }
        """})
