"""The only module that speaks to CRIU: finding it, dump and restore."""

from __future__ import annotations

import os

from jfast.errors import FastPathUnavailable
from jfast.linux.programs import run, which
from jfast.sandbox.userns import rootless
from jfast.settings import current

MIN_VERSION = (4, 1)
SETUP_HINT = "install CRIU >= 4.1 (run ./setup.sh from the jfast checkout)"
# The program's tree is always dumped from inside its sandbox, at this PID.
COMMON = ["--ext-unix-sk", "--file-locks"]


def _mode() -> list[str]:
    # Rootless, criu holds capabilities only inside the sandbox's user
    # namespace (jfast/sandbox/userns.py) and must be told to live with that.
    return ["--unprivileged"] if rootless() else []


# Where criu is installed but a PATH may not look: a non-root user's, by
# convention, and cron's or a service's (/usr/bin:/bin).
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find() -> str:
    """The criu binary: $JFAST_CRIU, else PATH, else the sbin folders."""
    path = current().criu or which("criu")
    if not path:
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


def require_usable(path: str, memo: str | None = None, ident: str = "") -> str:
    """Check the version before making a checkpoint; returns it as text.
    `memo` remembers it for the binary `ident` (cache.identity), so that a
    cold run does not run `criu --version` (5-8 ms) for a criu it knows."""
    if memo is not None and ident:
        try:
            with open(memo) as f:
                known_ident, known = f.read().split("\n")[:2]
            if known_ident == ident:
                return known
        except (OSError, ValueError):
            pass
    v = version(path)
    if v < MIN_VERSION:
        raise FastPathUnavailable(
            f"criu {v[0]}.{v[1]} is too old",
            f"kernel {os.uname().release} needs CRIU >= 4.1: {SETUP_HINT}", lasting=True)
    text = f"{v[0]}.{v[1]}"
    if memo is not None and ident:
        from jfast.linux.fs import atomic_write  # a 0600 temporary file, then a rename

        try:
            atomic_write(memo, f"{ident}\n{text}\n")
        except OSError:
            pass                    # a read-only or full cache: ask again next time
    return text


def log_tail(path: str, lines: int = 3) -> str:
    """The last errors of a CRIU log, for the run report."""
    try:
        with open(path, errors="replace") as f:
            text = f.read().splitlines()
    except OSError:
        return "no log"
    errors = [ln.strip() for ln in text if "Error" in ln and "RLIMIT_NOFILE" not in ln]
    return " | ".join((errors or text)[-lines:])[:400]


# criu dump's pre-dump action script: it waits there for jfast's word.
GATE_HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dump-gate.sh")


class Dump:
    """A criu dump of the tree rooted at `pid` (a PID inside the sandbox
    whose init has host PID `init_pid`), started before the program is
    ready: criu first probes the kernel (55 of a 64 ms dump of a small
    process here, where /run is no tmpfs to cache the facts in), which now
    happens while the program starts, and then waits in its pre-dump action
    script, before it touches the program, until `take`. CRIU runs inside
    the sandbox's namespaces, so they are its own and not part of the image."""

    def __init__(self, criu: str, init_pid: int, pid: int, work: str,
                 externals: list[str]) -> None:
        """In `work`, a private folder: `images` (which the caller may move
        elsewhere in the same file system before `take`), criu's log and the
        gate."""
        from jfast.sandbox.sandbox import start_inside

        self.work = work
        self.images = os.path.join(work, "images")
        os.mkdir(self.images, 0o700)
        self.gate = os.path.join(work, "gate")
        os.mkfifo(self.gate, 0o600)
        self._gate_fd: int | None = None         # the gate, open to write, once at_gate
        argv = [criu, "dump", "-t", str(pid), "-D", self.images, "-W", work,
                "-o", "dump.log", "--leave-stopped", "--action-script", GATE_HOOK,
                # a connection queued on a listening socket stays the cold run's
                "--skip-in-flight",
                *COMMON, *_mode()]
        if not rootless():
            argv.append("--tcp-established")    # TCP repair needs root's CAP_NET_ADMIN
        for res in externals:
            argv += ["--external", res]
        # Images hold the program's secrets: 0600, not CRIU's 0644.
        self._helper = start_inside(init_pid, argv, umask=0o077,
                                    env={"JFAST_DUMP_GATE": self.gate})

    def at_gate(self) -> None:
        """Wait until criu waits at the gate (it has probed the kernel and
        opened its images folder, which may move from then on);
        FastPathUnavailable when it ended instead."""
        if self._gate_fd is None:
            self._gate_fd = self._reader()
        if self._gate_fd is None:
            self.take()                          # says why

    def take(self, timeout: float = 300) -> None:
        """Let criu dump the program now (it leaves the tree stopped: the
        caller looks at what the program did up to the freeze, then sends
        it SIGCONT); FastPathUnavailable when it could not."""
        self._say(b"go\n")
        code, err = self._helper.wait(timeout)
        if code != 0:
            detail = log_tail(os.path.join(self.work, "dump.log"))
            raise FastPathUnavailable("criu dump failed", err.strip()[:400]
                                      if detail == "no log" else detail)

    def cancel(self) -> None:
        """No dump after all: criu ends before it touches the program."""
        self._say(b"no\n")
        self._helper.wait(10)

    def _reader(self) -> int | None:
        """The gate opened to write, once criu's script has it open to read
        (criu may still be probing the kernel); None if criu has ended."""
        import time
        while True:
            try:
                return os.open(self.gate, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:            # ENXIO: no reader yet
                if not self._helper.running():
                    return None
                time.sleep(0.001)

    def _say(self, word: bytes) -> None:
        """Write `word` to the gate (nothing if criu has ended)."""
        fd, self._gate_fd = self._gate_fd, None
        if fd is None:
            fd = self._reader()
        if fd is None:
            return
        try:
            os.write(fd, word)
        except BrokenPipeError:
            # the gate's reader ended between the open and the write: the
            # sandbox went with the program (a desktop test's SIGTERM at its
            # window point ended a run this way); take() says why
            pass
        finally:
            os.close(fd)


def restore_argv(criu: str, images: str, work: str, pidfile: str,
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
