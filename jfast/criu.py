"""The only module that speaks to CRIU: finding it, dump and restore."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FastPathUnavailable
from .proc import run, which
from .userns import rootless

MIN_VERSION = (4, 1)
SETUP_HINT = "install CRIU >= 4.1 (run ./setup.sh from the jfast checkout)"
# The program's tree is always dumped from inside its sandbox, at this PID.
COMMON = ["--ext-unix-sk", "--file-locks"]


def _mode() -> list[str]:
    # Rootless, criu holds capabilities only inside the sandbox's user
    # namespace (jfast/userns.py) and must be told to live with that.
    return ["--unprivileged"] if rootless() else []


# Where criu is installed but a non-root user's PATH does not look.
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find() -> str:
    """The criu binary: $JFAST_CRIU, else PATH, else (for a user whose PATH
    leaves them out by convention) the sbin folders."""
    path = os.environ.get("JFAST_CRIU") or which("criu")
    if not path and rootless():
        path = next((p for p in (os.path.join(d, "criu") for d in SBIN)
                     if os.access(p, os.X_OK)), None)
    if not path or not os.access(path, os.X_OK):
        raise FastPathUnavailable("criu not found", SETUP_HINT, lasting=True)
    return path


def version(path: str) -> tuple[int, ...]:
    import re

    res = run([path, "--version"], timeout=10)
    m = re.search(r"Version:\s*(\d+)\.(\d+)", res.stdout)
    if res.returncode != 0 or not m:
        raise FastPathUnavailable("criu does not run", (res.stderr or res.stdout).strip()[:200])
    return int(m.group(1)), int(m.group(2))


def require_usable(path: str) -> str:
    """Check the version before making a checkpoint; returns it as text."""
    v = version(path)
    if v < MIN_VERSION:
        raise FastPathUnavailable(
            f"criu {v[0]}.{v[1]} is too old",
            f"kernel {os.uname().release} needs CRIU >= 4.1: {SETUP_HINT}", lasting=True)
    return f"{v[0]}.{v[1]}"


def log_tail(path: Path, lines: int = 3) -> str:
    """The last errors of a CRIU log, for the run report."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    errors = [ln.strip() for ln in text if "Error" in ln and "RLIMIT_NOFILE" not in ln]
    return " | ".join((errors or text)[-lines:])[:400]


GATE = Path(__file__).with_name("dump-gate.sh")


class Dump:
    """A checkpoint of the tree rooted at `pid` (a PID inside the sandbox
    whose init has host PID `init_pid`), leaving it running. CRIU runs
    inside the sandbox's namespaces, so they are its own and not part of
    the image.

    `Dump(...)` starts criu at once, as root: it probes the kernel (some
    50 ms where /run is no tmpfs and criu cannot keep what it learnt) while
    the agent collects garbage, then waits in its pre-dump action
    (dump-gate.sh) until `go`. Without root, criu starts at `go`."""

    def __init__(self, criu: str, init_pid: int, pid: int, images: Path, work: Path,
                 externals: list[str]) -> None:
        self.init_pid, self.work = init_pid, work
        self.argv = [criu, "dump", "-t", str(pid), "-D", str(images), "-W", str(work),
                     "-o", "dump.log", "--leave-running", *COMMON, *_mode()]
        if not rootless():
            self.argv.append("--tcp-established")   # TCP repair needs root's CAP_NET_ADMIN
        for res in externals:
            self.argv += ["--external", res]
        self.gate: Path | None = None
        self.proc = None
        if not rootless() and os.access(GATE, os.X_OK):
            self.gate = work / "gate"
            os.mkfifo(self.gate, 0o600)
            self._start(["--action-script", str(GATE)], {"JFAST_DUMP_GATE": str(self.gate)})

    def _start(self, extra: list[str], env: dict[str, str]) -> None:
        from .sandbox import start_inside
        # Images hold the program's secrets: 0600, not CRIU's 0644.
        self.proc = start_inside(self.init_pid, [*self.argv, *extra], umask=0o077,
                                 env={**os.environ, **env})

    def go(self) -> None:
        """Dump now; raises FastPathUnavailable if criu fails."""
        if self.proc is None:
            self._start([], {})
        code, err = self._finish(b"go\n", 300)
        if code != 0:
            detail = log_tail(self.work / "dump.log")
            raise FastPathUnavailable("criu dump failed", err.strip()[:400]
                                      if detail == "no log" else detail)

    def cancel(self) -> None:
        """No dump after all: criu leaves without touching the program."""
        if self.proc is not None:
            self._finish(b"stop\n", 60)

    def _finish(self, word: bytes, timeout: float) -> tuple[int, str]:
        """Say `word` at the gate and wait for criu. Opened read-write, the
        FIFO never blocks us and keeps the word until the pre-dump action
        reads it, however late."""
        assert self.proc is not None
        fd = None
        if self.gate is not None:
            fd = os.open(self.gate, os.O_RDWR | os.O_CLOEXEC)
            os.write(fd, word)
        try:
            return self.proc.wait(timeout)
        finally:
            if fd is not None:
                os.close(fd)
                self.gate.unlink()


def restore_argv(criu: str, images: Path, work: Path, pidfile: Path,
                 inherit: list[tuple[int, str]], hook: str | None = None,
                 leave_stopped: bool = False) -> list[str]:
    """The command the sandbox's init runs to restore: the restored program
    becomes the init's child (--restore-sibling) and criu exits. With
    `leave_stopped` the restored tasks wait for a SIGCONT."""
    argv = [criu, "restore", "-D", str(images), "-W", str(work), "-o", "restore.log",
            "--restore-sibling", "--restore-detached", "--pidfile", str(pidfile),
            "--tcp-close", "--skip-file-rwx-check", *COMMON, *_mode()]
    if leave_stopped:
        argv.append("--leave-stopped")
    for fd, res in inherit:
        argv += ["--inherit-fd", f"fd[{fd}]:{res}"]
    if hook:
        argv += ["--action-script", hook]
    return argv
