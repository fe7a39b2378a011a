"""jfast for a user who is not root: sandboxes in a user namespace, criu with
`--unprivileged`, and a one-time notice where that cannot work.

The tests run jfast as a real system user made for them, from a copy of the
checkout in a world-readable folder (the checkout itself may sit under
/root), with the interpreter the virtualenv was made from.
"""

from __future__ import annotations

import importlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import REPO, compile_java

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

USER = "jfast-test"
DEPENDENCIES = ("filelock", "platformdirs", "psutil", "Xlib", "six")


@pytest.fixture(scope="module")
def user() -> pwd.struct_passwd:
    made = False
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", USER], check=True)
        made = True
        pw = pwd.getpwnam(USER)
    yield pw
    if made:
        subprocess.run(["userdel", USER], check=False)


@pytest.fixture(scope="module")
def tree(user: pwd.struct_passwd) -> Path:
    """A copy of jfast, its dependencies and a test program, owned by the user."""
    top = Path(tempfile.mkdtemp(prefix="jfast-rootless."))
    top.chmod(0o755)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "jfast", top / "jfast", ignore=ignore)
    shutil.copytree(REPO / "java-agent", top / "java-agent", ignore=ignore)
    (top / "bin").mkdir()
    shutil.copy2(REPO / "bin" / "jfast", top / "bin" / "jfast")
    site = top / ".venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" \
        / "site-packages"
    site.mkdir(parents=True)
    for name in DEPENDENCIES:
        mod = importlib.import_module(name)
        src = Path(mod.__file__)
        if src.name == "__init__.py":
            shutil.copytree(src.parent, site / name, ignore=ignore)
        else:
            shutil.copy2(src, site / src.name)
    compile_java(top / "classes", {"Who.java": """
        import java.nio.file.*;
        public class Who {
            public static void main(String[] a) throws Exception {
                String uid = Files.readAllLines(Paths.get("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).findFirst().orElse("?");
                System.out.println(System.getProperty("user.name") + " " + uid.split("\\\\s+")[1]);
                System.out.flush();
                System.in.read();      // the test looks at this process meanwhile
            }
        }
        """})
    (top / "home").mkdir()
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(top)], check=True)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def user_env(tree: Path) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tree / "home"),
            "JFAST_CACHE_DIR": str(tree / "cache"), "JFAST_REPORT": str(tree / "report.jsonl")}


def as_user(user: pwd.struct_passwd, argv: list[str], cwd: Path) -> list[str]:
    """`argv` as the user, in a folder of theirs (the test's own working
    directory, a checkout under /root or a 0700 temporary folder, may be
    closed to them, and criu restores the program's working directory)."""
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
            "env", f"--chdir={cwd}", *argv]


def jfast_argv(tree: Path) -> list[str]:
    # The interpreter the virtualenv was made from: readable by every user.
    return [os.path.realpath(sys.executable), str(tree / "bin" / "jfast")]


def reports(tree: Path) -> list[dict]:
    import json
    path = tree / "report.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


def program_processes(root_pid: int) -> list:
    import psutil
    return [p for p in psutil.Process(root_pid).children(recursive=True) if p.name() == "java"]


def test_restored_program_runs_as_the_user(user: pwd.struct_passwd, tree: Path):
    argv = as_user(user, [*jfast_argv(tree), "-cp", str(tree / "classes"), "Who"], tree)
    want = subprocess.run(as_user(user, ["java", "-cp", str(tree / "classes"), "Who"], tree),
                          input="\n", capture_output=True, text=True, env=user_env(tree),
                          timeout=120)
    assert want.stdout == f"{USER} {user.pw_uid}\n", want.stderr
    env = {**user_env(tree), "JFAST_READY": "main"}     # small: see Runner.at_main
    for run in range(3):
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout.readline() == want.stdout
            java = program_processes(proc.pid)
            assert java, "no program process under jfast"
            for p in java:
                assert p.uids().real == user.pw_uid and p.uids().effective == user.pw_uid
                with open(f"/proc/{p.pid}/status") as f:
                    caps = dict(ln.split(":\t") for ln in f.read().splitlines() if ":\t" in ln)
                assert int(caps["CapEff"], 16) == 0, "the program holds capabilities"
                assert int(caps["CapPrm"], 16) == 0, "the program holds capabilities"
            proc.stdin.write("\n")
            proc.stdin.close()
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    outcomes = [r["outcome"] for r in reports(tree)]
    assert outcomes == ["started", "restored", "restored"], reports(tree)


def limited(user: pwd.struct_passwd, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Run `argv` as the user inside a user namespace whose limit forbids
    creating more: a machine where unprivileged user namespaces are off,
    without changing this machine's own setting."""
    inner = ("echo 0 > /proc/sys/user/max_user_namespaces || exit 99; "
             f'exec setpriv --reuid={user.pw_uid} --regid={user.pw_gid} --clear-groups "$@"')
    # The maps are written from outside once the shell is in the namespace;
    # the second shell then starts as that namespace's root, with its powers.
    script = f"read _; exec sh -c '{inner}' sh \"$@\""
    proc = subprocess.Popen(["unshare", "--user", "sh", "-c", script, "sh", *argv],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    mine = os.stat("/proc/self/ns/user").st_ino
    deadline = time.monotonic() + 10
    while os.stat(f"/proc/{proc.pid}/ns/user").st_ino == mine:
        assert time.monotonic() < deadline, "unshare --user did not start"
        time.sleep(0.002)
    for kind, ident in (("uid", user.pw_uid), ("gid", user.pw_gid)):
        with open(f"/proc/{proc.pid}/{kind}_map", "w") as f:
            f.write(f"0 0 1\n{ident} {ident} 1\n")
    return proc


def test_without_user_namespaces_the_program_runs_and_jfast_says_so_once(
        user: pwd.struct_passwd, tree: Path):
    argv = ["env", f"--chdir={tree}", *jfast_argv(tree), "-cp", str(tree / "classes"), "Who"]
    env = {**user_env(tree), "JFAST_CACHE_DIR": str(tree / "cache-limited")}
    errs = []
    for _ in range(2):
        proc = limited(user, argv, env)
        out, err = proc.communicate("\n\n", timeout=120)
        assert proc.returncode == 0, err
        assert out == f"{USER} {user.pw_uid}\n"
        errs.append(err)
    assert "fast path is off" in errs[0] and "sysctl -w user.max_user_namespaces" in errs[0]
    assert errs[1] == "", "the notice must be said once"
    last = reports(tree)[-1]
    assert last["outcome"] == "fallback" and "user namespaces" in last["reason"], last


def read_line(fd: int, timeout: float = 60) -> bytes:
    """A line from a terminal's main side."""
    import select
    got, end = b"", time.monotonic() + timeout
    while b"\n" not in got and time.monotonic() < end:
        if select.select([fd], [], [], 1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:                       # EIO: no one holds the other side
                break
            if not chunk:
                break
            got += chunk
    return got


def test_a_terminal_of_another_user_gets_java(user: pwd.struct_passwd, tree: Path):
    """As after `su -l user` in root's terminal: a rootless criu cannot
    restore a terminal the user does not own, so jfast neither makes nor
    restores a checkpoint there: java runs it, every time."""
    import pty
    argv = as_user(user, [*jfast_argv(tree), "-cp", str(tree / "classes"), "Who"], tree)
    env = {**user_env(tree), "JFAST_READY": "main"}
    before = len(reports(tree))
    lines = []
    for _ in range(3):
        main, side = pty.openpty()                  # root's, as su leaves it
        proc = subprocess.Popen(argv, stdin=side, stdout=side, stderr=side, env=env)
        os.close(side)
        try:
            lines.append(read_line(main))
            os.write(main, b"\n")
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(main)
    assert lines == [f"{USER} {user.pw_uid}\r\n".encode()] * 3
    runs = reports(tree)[before:]
    assert [r["outcome"] for r in runs] == ["fallback"] * 3, runs
    assert all("terminal belongs to another user" in r["reason"] for r in runs), runs
