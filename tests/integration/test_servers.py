"""The socket ready point on real servers: the first wait for a connection
(java-agent/native/jfast_socket.c), after a servlet container has deployed
its applications, on every JDK's networking code."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import JFAST, MUST_WORK, REPO, Runner, compile_java, free_port, get
from test_jdks import JDKS, java_of

sys.path.insert(0, str(REPO / "bench"))
import servers  # noqa: E402 - bench/servers.py: how the benchmark starts them too

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

def need_dir(path: Path, package: str) -> Path:
    if not path.is_dir():
        why = f"{package} is not installed ({path}): run ./setup.sh test"
        if MUST_WORK:
            pytest.fail(f"JFAST_MUST_WORK is set but {why}")
        pytest.skip(why)
    return path


class Served:
    """A server started under `argv`, stopped by SIGTERM as a service manager
    stops it; its output and exit status once stopped."""

    def __init__(self, runner: Runner, argv: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(argv, cwd=cwd, env=runner.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def deployed(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Deployment of web application" in line]


def test_tomcat_is_checkpointed_after_it_deploys(runner: Runner, tmp_path: Path):
    """Tomcat listens on its connector before it deploys its applications;
    the checkpoint comes when its acceptor first waits, so the restored runs
    carry the deployment: its log line, timestamp and all, is the first
    run's. Each run answers requests with new parameters as java does."""
    need_dir(servers.TOMCAT_HOME, "tomcat10-common")
    need_dir(servers.TOMCAT_EXAMPLES, "tomcat10-examples")
    port = free_port()
    argv = servers.tomcat(tmp_path / "tomcat", port, free_port())
    servlet = "/examples/servlets/servlet/RequestParamExample"
    logs = []
    for run, expected in enumerate(("java", "started", "restored", "restored")):
        launcher = [str(java_of(17))] if expected == "java" else JFAST
        server = Served(runner, [*launcher, *argv], tmp_path)
        try:
            page = get(port, f"{servlet}?firstname=run{run}&lastname=x{run}")
            if expected == "java":
                want = page
            assert page == want.replace("run0", f"run{run}").replace("x0", f"x{run}")
            code, _, err = server.stop()
        finally:
            server.kill()
        assert code == 143, err                 # Tomcat stops on SIGTERM as under java
        assert len(deployed(err)) == 1, err
        logs.append(deployed(err)[0])
        if expected != "java":
            rep = runner.last()
            assert (rep["outcome"], rep["ready_point"]) == (expected, "socket"), rep
    # java and the first run deployed; the restores did not deploy again
    assert logs[0] != logs[1] and logs[1] == logs[2] == logs[3], logs


def test_jetty_restores_at_its_first_accept(runner: Runner, tmp_path: Path):
    """Debian's Jetty 9 with its own base: its root page, as java serves it."""
    home = need_dir(servers.JETTY_HOME, "jetty9")
    port = free_port()
    argv = servers.jetty(port)
    for expected in ("java", "started", "restored", "restored"):
        launcher = [str(java_of(17))] if expected == "java" else JFAST
        server = Served(runner, [*launcher, *argv], home)
        try:
            page = get(port)
            if expected == "java":
                want = page
            assert page == want and "Jetty" in page
            code, _, err = server.stop()
        finally:
            server.kill()
        assert code == 143, err
        if expected != "java":
            rep = runner.last()
            assert (rep["outcome"], rep["ready_point"]) == (expected, "socket"), rep


BLOCKING = """
    import java.io.*;
    import java.net.*;

    public class Blocking {
        public static void main(String[] args) throws Exception {
            ServerSocket server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])));
            System.out.println("listening");
            // its deployment: work between listen and the first accept
            long sum = 0;
            for (int i = 0; i < 2_000_000; i++) sum += Integer.toString(i).hashCode();
            Thread.sleep(300);
            for (int hits = 1; ; hits++) {
                try (Socket c = server.accept()) {
                    String asked = new BufferedReader(new InputStreamReader(c.getInputStream()))
                        .readLine();
                    c.getOutputStream().write(("hit " + hits + " " + asked + " " + (sum != 0)
                                               + "\\n").getBytes());
                }
            }
        }
    }
"""


def ask(port: int, line: str, client: socket.socket | None = None) -> str:
    with client or socket.create_connection(("127.0.0.1", port), timeout=60) as c:
        c.sendall(line.encode() + b"\n")
        return c.makefile().readline()


@pytest.mark.parametrize("feature", JDKS)
def test_a_client_queued_before_the_first_accept_is_served_by_the_first_run(
        runner: Runner, tmp_path: Path, feature: int):
    """java.net.ServerSocket, whose accept each JDK makes its own way (a
    poll first on 11, accept itself from 13 on). A client connects as soon
    as the server listens, before it first accepts: it waits in the
    kernel's queue, the first run serves it, and the checkpoint leaves it
    out (criu --skip-in-flight), so no restore serves it again."""
    classes = compile_java(tmp_path / "blocking", {"Blocking.java": BLOCKING},
                           options=["--release", "11"])
    port = free_port()
    env = {**runner.env, "JFAST_JAVA": java_of(feature)}
    for expected in ("started", "restored", "restored"):
        proc = subprocess.Popen([*JFAST, "-cp", str(classes), "Blocking", str(port)], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline() == "listening\n"
            early = socket.create_connection(("127.0.0.1", port), timeout=60)
            assert ask(port, "early", early) == "hit 1 early true\n"
            assert ask(port, "next") == "hit 2 next true\n"
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        assert code == 143
        rep = runner.last()
        assert (rep["outcome"], rep["ready_point"]) == (expected, "socket"), rep
