"""The core loop end to end: real java, real CRIU, real namespaces."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import (
    ASK,
    JFAST,
    Runner,
    compile_java,
    free_port,
    get,
    java_symlink,
    need_tool,
    tmux,
    tmux_wait,
    with_api,
)

from jfast.cold.warmup import MAIN_SAMPLES
from jfast.criu import kdat

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]


def same_as_java(runner: Runner, args: list[str], **kw) -> subprocess.CompletedProcess:
    want = runner.java(*args, **kw)
    got = runner.jfast(*args, **kw)
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, want.returncode)
    return got


def test_second_run_restores_with_identical_output(runner: Runner, app_dir: Path):
    runner.at_main()
    args = ["-cp", str(app_dir), "App", "a", "b"]
    same_as_java(runner, args)
    first = runner.last()
    assert (first["outcome"], first["checkpoint"]) == ("started", "created"), first
    assert first["reason"] is None
    same_as_java(runner, args)
    second = runner.last()
    assert second["outcome"] == "restored", second
    assert second["key"] == first["key"]
    assert runner.entries() and len(runner.entries()) == 1


def test_other_arguments_are_another_checkpoint(runner: Runner, app_dir: Path):
    runner.at_main()
    same_as_java(runner, ["-cp", str(app_dir), "App", "one"])
    same_as_java(runner, ["-cp", str(app_dir), "App", "two"])
    assert [r["outcome"] for r in runner.reports()] == ["started", "started"]
    assert len(runner.entries()) == 2


def test_restored_output_goes_to_this_runs_files_and_pipes(runner: Runner, app_dir: Path,
                                                          tmp_path: Path):
    runner.at_main()
    args = ["-cp", str(app_dir), "App", "x"]
    for i in range(2):
        out, err = tmp_path / f"out{i}", tmp_path / f"err{i}"
        with open(out, "w") as o, open(err, "w") as e:
            code = subprocess.run([*JFAST, *args], stdout=o, stderr=e, env=runner.env,
                                  stdin=subprocess.DEVNULL, timeout=120).returncode
        assert code == 3
        assert out.read_text() == "args: x\n"
        assert err.read_text() == "App says hello on stderr\n"
    assert [r["outcome"] for r in runner.reports()] == ["started", "restored"]
    # stdout and stderr sharing one file, with the shell writing after us
    for i in range(2):
        log = tmp_path / f"both{i}"
        subprocess.run(["sh", "-c", f'{" ".join(JFAST)} "$@" >{log} 2>&1; echo after >>{log}',
                        "sh", *args], env=runner.env, stdin=subprocess.DEVNULL, timeout=120)
        assert log.read_text() == "args: x\nApp says hello on stderr\nafter\n"
    assert runner.last()["outcome"] == "restored"


def test_restored_program_sees_the_hosts_run(runner: Runner, tmp_path: Path):
    """Where /run is no tmpfs, criu restores under a tmpfs /run holding its
    kernel facts (jfast/criu/kdat.py); the program must still see the real one."""
    runner.at_main()
    classes = compile_java(tmp_path / "c", {"Exists.java": """
        public class Exists {
            public static void main(String[] a) {
                System.out.println(new java.io.File(a[0]).exists());
            }
        }
        """})
    marker = Path("/run") / f"jfast-test-{os.getpid()}-{time.monotonic_ns()}"
    marker.write_text("")
    try:
        for _ in range(3):
            res = runner.jfast("-cp", str(classes), "Exists", str(marker))
            assert (res.stdout, res.returncode) == ("true\n", 0), res.stderr
    finally:
        marker.unlink()
    assert [r["outcome"] for r in runner.reports()] == ["started", "restored", "restored"]
    if not kdat.run_is_tmpfs():
        assert list((runner.cache / "criu").glob("criu.kdat.*")), "criu's facts were not kept"


def test_java_symlink_never_finds_itself(runner: Runner, app_dir: Path, tmp_path: Path):
    bindir = java_symlink(tmp_path)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}"}
    env.pop("JFAST_JAVA", None)
    res = runner.run([str(bindir / "java"), "-cp", str(app_dir), "App", "s"], env=env)
    assert (res.stdout, res.returncode) == ("args: s\n", 3)
    assert runner.last()["outcome"] == "started"


def test_version_goes_straight_to_java(runner: Runner):
    got, want = runner.jfast("-version"), runner.java("-version")
    assert (got.stderr, got.returncode) == (want.stderr, want.returncode)
    assert runner.last()["outcome"] == "passthrough"


def test_disable_behaves_like_java(runner: Runner, app_dir: Path):
    res = runner.jfast("-cp", str(app_dir), "App", env={"JFAST_DISABLE": "1"})
    assert (res.stdout, res.returncode) == ("args: \n", 3)
    assert runner.last()["outcome"] == "passthrough"
    assert runner.entries() == []


def test_without_criu_the_program_runs_normally(runner: Runner, app_dir: Path, tmp_path: Path):
    got = same_as_java(runner, ["-cp", str(app_dir), "App", "nocriu"],
                       env={"JFAST_CRIU": str(tmp_path / "no-criu-here")})
    assert got.returncode == 3
    rep = runner.last()
    assert rep["outcome"] == "fallback" and "criu not found" in rep["reason"]


def test_criu_is_found_outside_a_short_path(runner: Runner, app_dir: Path):
    """cron's and services' PATH leaves the sbin folders out, where criu is."""
    java_dir = os.path.dirname(os.path.realpath(shutil.which("java")))
    env = {"PATH": f"{java_dir}:/usr/bin:/bin", "JFAST_CRIU": ""}
    got = same_as_java(runner, ["-cp", str(app_dir), "App", "cron"], env=env)
    assert got.returncode == 3 and runner.last()["outcome"] == "started", runner.last()


@pytest.mark.parametrize("damage,why", [
    ("flip", "does not match its sha256 digest"),
    ("truncate", "bytes, expected"),
    ("remove", "is missing"),
])
def test_damaged_checkpoint_falls_back_then_heals(runner: Runner, app_dir: Path, damage: str,
                                                 why: str):
    runner.at_main()
    args = ["-cp", str(app_dir), "App", damage]
    same_as_java(runner, args)
    [entry] = runner.entries()
    pages = max((entry / "images").glob("pages-*.img"), key=lambda p: p.stat().st_size)
    if damage == "flip":
        # One bit in the middle, same size, mtime put back: only the digest can tell.
        st = pages.stat()
        with open(pages, "r+b") as f:
            f.seek(st.st_size // 2)
            byte = f.read(1)[0]
            f.seek(st.st_size // 2)
            f.write(bytes([byte ^ 0x01]))
        os.utime(pages, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif damage == "truncate":
        with open(pages, "r+b") as f:
            f.truncate(pages.stat().st_size // 2)
    else:
        pages.unlink()
    same_as_java(runner, args)               # set aside; a normal start makes a fresh one
    rep = runner.last()
    assert (rep["outcome"], rep["checkpoint"]) == ("fallback", "created"), rep
    assert rep["reason"].startswith("checkpoint damaged: image file pages-") and why in rep["reason"]
    assert not any(".bad." in p.name for p in entry.parent.iterdir())   # the cap's tidy-up
    same_as_java(runner, args)
    assert runner.last()["outcome"] == "restored"


SERVER = """
    import com.sun.net.httpserver.HttpServer;
    import java.net.InetSocketAddress;
    import java.util.concurrent.atomic.AtomicInteger;

    public class Server {
        public static void main(String[] args) throws Exception {
            long sum = 0;                       // some start-up work
            for (int i = 0; i < 2_000_000; i++) sum += Integer.toString(i).hashCode();
            AtomicInteger hits = new AtomicInteger();
            HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1",
                                             Integer.parseInt(args[0])), 0);
            final long warm = sum;
            s.createContext("/", ex -> {
                byte[] body = ("hit " + hits.incrementAndGet() + " warm " + (warm != 0)).getBytes();
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
                ex.close();
            });
            s.start();
            System.out.println("serving, LD_PRELOAD " + System.getenv("LD_PRELOAD"));
        }
    }
"""


def test_server_restores_at_its_listening_socket(runner: Runner, tmp_path: Path):
    """The client retries from the start, as health checks do: the first run
    checkpoints when the server first waits for a connection (the JDK's
    HTTP server: an epoll_wait on its listening socket), before it serves
    any."""
    classes = compile_java(tmp_path / "server", {"Server.java": SERVER})
    port = free_port()
    for expected in ("started", "restored", "restored"):
        proc = subprocess.Popen([*JFAST, "-cp", str(classes), "Server", str(port)],
                                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=runner.env, text=True)
        try:
            assert get(port) == "hit 1 warm true"
            assert get(port) == "hit 2 warm true"
            assert proc.stdout is not None
            # jfast's own LD_PRELOAD (jfast_native.c) is not the program's
            assert proc.stdout.readline() == "serving, LD_PRELOAD null\n"
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        assert code == 143                      # like java killed by SIGTERM
        rep = runner.last()
        assert (rep["outcome"], rep["ready_point"]) == (expected, "socket"), rep


def time_wait_on(port: int) -> None:
    """Leave a connection of an earlier process in TIME_WAIT on `port`, on
    its server side (the server closes first), as a previous run would."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            served, _ = listener.accept()
            served.close()
            client.recv(1)                      # sees the server's FIN, then closes


def test_an_earlier_processs_connections_do_not_spoil_the_socket_point(runner: Runner,
                                                                      tmp_path: Path):
    classes = compile_java(tmp_path / "server", {"Server.java": SERVER})
    port = free_port()
    time_wait_on(port)
    proc = subprocess.Popen([*JFAST, "-cp", str(classes), "Server", str(port)],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=runner.env, text=True)
    try:
        assert proc.stdout.readline() == "serving, LD_PRELOAD null\n"
        assert get(port) == "hit 1 warm true"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    rep = runner.last()
    assert (rep["checkpoint"], rep["ready_point"]) == ("created", "socket"), rep




EXPLICIT = """
    public class Explicit {
        public static void main(String[] args) throws Exception {
            StringBuilder warm = new StringBuilder();
            for (int i = 0; i < 1000; i++) warm.append(i % 7);
            System.out.println("warming");
            dev.jfast.Jfast.ready();
            System.out.println("after ready " + args[0] + " " + warm.length());
        }
    }
"""


def test_explicit_ready_point(runner: Runner, tmp_path: Path):
    cp = with_api(tmp_path / "explicit", {"Explicit.java": EXPLICIT})
    first = runner.jfast("-cp", cp, "Explicit", "x")
    assert first.stdout == "warming\nafter ready x 1000\n"
    assert runner.last()["ready_point"] == "explicit"
    second = runner.jfast("-cp", cp, "Explicit", "x")
    assert second.stdout.endswith("after ready x 1000\n")
    assert runner.last()["outcome"] == "restored"
    plain = runner.java("-cp", cp, "Explicit", "x")      # without jfast the call does nothing
    assert plain.stdout == first.stdout


def test_jython_through_a_java_symlink(runner: Runner, tmp_path: Path):
    """A console program under auto: its first run records the classes it
    loads, its second preloads them and checkpoints at main, and the rest
    restore that."""
    jython = need_tool("jython")
    bindir = java_symlink(tmp_path)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "JFAST_VERBOSE": "1"}
    for _ in range(4):
        res = runner.run([jython, "-c", "print 6*7"], env=env, timeout=180)
        assert (res.stdout, res.returncode) == ("42\n", 0), res.stderr
    reps = runner.reports()
    assert [(r["outcome"], r["checkpoint"], r["ready_point"]) for r in reps] == [
        ("started", "none", None), ("started", "created", "main"),
        ("restored", "none", "main"), ("restored", "none", "main")], reps
    assert reps[0]["reason"] is None
    [classes] = (runner.cache / "entries").glob("*.classes")
    assert "org.python.core.PySystemState" in classes.read_text().split()


def test_a_small_program_gets_plain_java(runner: Runner, app_dir: Path):
    """Where a restore would start a program no sooner than java (its classes
    load in a few ms), later runs exec java and say why."""
    args = ["-cp", str(app_dir), "App", "small"]
    for _ in range(2 + MAIN_SAMPLES):
        same_as_java(runner, args)
        if runner.last()["outcome"] == "passthrough":
            break
    reps = runner.reports()
    # A clear measure decides on the second run; a close one waits for
    # MAIN_SAMPLES runs (cold/warmup.py's main_verdict).
    assert [(r["outcome"], r["checkpoint"]) for r in reps] == [
        ("started", "none")] * (len(reps) - 1) + [("passthrough", "none")], reps
    assert all("too close" in r["reason"] for r in reps[1:-2]), reps
    assert "java starts it as soon as a restore would" in reps[-2]["reason"]
    assert reps[-1]["reason"].startswith("plain java: its classes load in ")
    [entry] = runner.entries()
    assert not list((entry / "images").iterdir())
    listed = json.loads(runner.jfast("cache", "list", "--json").stdout)
    assert [e["state"] for e in listed["entries"]] == ["plain"]
    # Later runs of this command line go to java before jfast loads the rest
    # of itself (store/plainmemo.py): no report then, but a use of the entry.
    hits = (entry / "used").stat().st_size
    want = runner.java(*args)
    got = runner.run([*JFAST, *args], env={"JFAST_REPORT": ""})
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, want.returncode)
    assert len(runner.reports()) == len(reps) and (entry / "used").stat().st_size == hits + 1


def test_a_class_folder_is_keyed_by_its_classes(runner: Runner, app_dir: Path, tmp_path: Path):
    """What a program writes beside its classes (and jfast's own cache, under
    `-cp .` in a home folder) does not make every run a new checkpoint."""
    runner.at_main()
    home = tmp_path / "home"
    shutil.copytree(app_dir, home)
    env = {"JFAST_CACHE_DIR": str(home / ".cache" / "jfast")}
    for i in range(3):
        (home / "notes.txt").write_text(f"run {i}\n")
        res = runner.run([*JFAST, "-cp", ".", "App", "h"], cwd=home, env=env)
        assert (res.stdout, res.returncode) == ("args: h\n", 3), res.stderr
    assert [r["outcome"] for r in runner.reports()] == ["started", "restored", "restored"]
    (home / "App.class").touch()              # a changed class is another key
    runner.run([*JFAST, "-cp", ".", "App", "h"], cwd=home, env=env)
    assert runner.last()["outcome"] == "started"



def test_a_restored_prompt_shows_what_java_printed_before_it(runner: Runner, tmp_path: Path):
    """On a terminal, the banner and prompt a program printed through
    System.out before its ready point come back on a restored run."""
    need_tool("tmux")
    classes = compile_java(tmp_path / "c", {"Ask.java": ASK})
    script = tmp_path / "ask.sh"
    exports = " ".join(f"{k}={v!r}" for k, v in runner.env.items()
                       if k.startswith("JFAST_") or k in ("HOME", "LANG"))
    script.write_text(f"export {exports}\n{' '.join(JFAST)} -cp {classes} Ask\necho EXIT:$?\n")
    for run, word in ((1, "one"), (2, "two")):
        sock = f"jfast-ask-{os.getpid()}-{run}"
        try:
            tmux(sock, "new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
                 f"sh {script}; sleep 600")
            screen = tmux_wait(sock, "word>$")      # the screen comes right-stripped
            assert screen.startswith("Ask 1.0, type a word\nword>"), screen
            if run == 1:
                time.sleep(2)       # the checkpoint at the prompt is taken now
            tmux(sock, "send-keys", "-t", "t", word, "Enter")
            assert tmux_wait(sock, "EXIT:0").endswith(f"word> {word}\ngot {word}\nEXIT:0")
        finally:
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, check=False)
        rep = runner.last()
        assert (rep["outcome"], rep["ready_point"]) == (("started", "stdin") if run == 1
                                                        else ("restored", "stdin")), rep


def test_jython_repl_restores_on_a_terminal(runner: Runner, tmp_path: Path):
    jython = need_tool("jython")
    need_tool("tmux")
    bindir = java_symlink(tmp_path)
    script = tmp_path / "repl.sh"
    exports = " ".join(f"{k}={v!r}" for k, v in runner.env.items()
                       if k.startswith("JFAST_") or k in ("HOME", "LANG"))
    # Debian's default JLine console is broken under plain java too (jansi).
    script.write_text(f"export {exports} PATH={bindir}:$PATH\n"
                      f"{jython} -Dpython.console=org.python.core.PlainConsole\n"
                      "echo EXIT:$?\n")
    socks = []
    try:
        for run, expr, answer in ((1, "6*7", "42"), (2, "6*8", "48")):
            # A server per run: a new one on a socket whose server is still
            # shutting down fails with "server exited unexpectedly".
            sock = f"jfast-test-{os.getpid()}-{run}"
            socks.append(sock)
            tmux(sock, "new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
                  f"sh {script}; sleep 600")
            if run == 1:
                tmux_wait(sock, ">>>")
                time.sleep(2)       # the checkpoint at the prompt is taken now
            tmux(sock, "send-keys", "-t", "t", expr, "Enter")
            tmux_wait(sock, answer)
            tmux(sock, "send-keys", "-t", "t", "exit(5)", "Enter")
            tmux_wait(sock, "EXIT:5")
            tmux(sock, "kill-server")
            rep = runner.last()
            assert rep["outcome"] == ("started" if run == 1 else "restored"), rep
            assert rep["ready_point"] == "stdin"
            assert rep["exit_status"] == 5
    finally:
        for sock in socks:
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


KERNEL_PORT = """
    import java.net.ServerSocket;

    public class KernelPort {
        public static void main(String[] args) throws Exception {
            // a single-instance check: any free port, written down for others
            ServerSocket mine = args[0].equals("socket") ? new ServerSocket(0) : null;
            if (args[0].equals("explicit")) {
                mine = new ServerSocket(0);
                dev.jfast.Jfast.ready();
            }
            System.out.println("listening " + (mine.getLocalPort() > 0));
            Thread.sleep(1000);                 // the program's life, holding its port
            mine.close();
        }
    }
"""


@pytest.mark.parametrize("point", ["socket", "explicit"])
def test_a_port_the_kernel_chose_makes_no_checkpoint(runner: Runner, tmp_path: Path,
                                                     point: str):
    """Restored, the socket would come back on the cold run's port, which a
    second copy beside the first could not have; under java each copy gets
    its own. So a listen on such a port is no ready point and ends
    checkpoints, at any ready point."""
    cp = with_api(tmp_path / "kp", {"KernelPort.java": KERNEL_PORT})
    for _ in range(3):
        res = runner.jfast("-cp", cp, "KernelPort", point, env={"JFAST_READY": point})
        assert (res.stdout, res.returncode) == ("listening true\n", 0), res.stderr
    reasons = [r["reason"] or "" for r in runner.reports()]
    assert [r["outcome"] for r in runner.reports()] == ["started"] * 3, reasons
    assert any("the kernel chose" in r for r in reasons), reasons
    assert runner.entries() == []
