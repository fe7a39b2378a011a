"""The sandbox: fresh pid, mount, ipc and uts namespaces with a tiny init.

Process tree (host view):

    jfast ── holder ── init (PID 1 in the sandbox) ── program (PID 1000+)

The holder exists so that jfast itself never enters the new pid namespace;
it only relays the init's exit status. The init mounts a private /proc,
forwards signals, reaps orphans and exits with the program's status
(128+N for a death by signal N). When the init exits the kernel kills
everything left in the sandbox, so nothing outlives a run.

The program runs at PID 1000 or above so that a later `criu restore` in a
fresh sandbox never finds its PIDs taken by criu itself (docs/architecture.md,
"Measured facts").
"""

from __future__ import annotations

# signal.py only wraps _signal in enums, and enum is 1.5 ms of a restore's imports.
import _signal as signal
import os
import sys
import time

from jfast.errors import FastPathUnavailable
from jfast.linux.libc import check, libc
from jfast.linux.procfs import stat_fields, thread_files
from jfast.sandbox import userns

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 1 << 18
PR_SET_PDEATHSIG = 1

PROGRAM_PID = 1000
# Signals jfast and the init pass on to the program: every signal that
# someone could send java, except the uncatchable ones, SIGCHLD (jfast's
# own children), SIGPIPE, SIGTTIN and SIGTTOU (about jfast's own I/O) and
# the faults a process raises in itself.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT,
             signal.SIGTSTP, signal.SIGALRM, signal.SIGABRT, signal.SIGURG,
             signal.SIGVTALRM, signal.SIGPROF, signal.SIGXCPU, signal.SIGXFSZ,
             signal.SIGIO, signal.SIGPWR, signal.SIGSTKFLT)


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the code, or 128+N for signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class Spawn:
    """What the init starts: `argv` exec'd at PID 1000 (a fresh program), or
    run as a helper whose `--pidfile` names the program it restored."""

    def __init__(self, argv: list[str], env: dict[str, str],
                 fds: dict[int, int] | None = None, restore_pidfile: str | None = None,
                 run_facts: bytes | None = None, private_x11: bool = False,
                 holder_hook=None, holder_fds: tuple[int, ...] = ()) -> None:
        self.argv = argv
        self.env = env
        self.fds = fds or {}                        # target fd -> our fd
        self.restore_pidfile = restore_pidfile      # set for criu restore
        # criu's kernel facts (jfast/criu/kdat.py): a tmpfs over /run holding these
        # bytes (b"" for none yet) while criu starts; its hook unmounts it.
        self.run_facts = run_facts
        # A tmpfs of its own on /tmp/.X11-unix for the private Xvfb (xvfb.py).
        self.private_x11 = private_x11
        # A callable run in the holder right after it unshared the namespaces
        # (it then sees the sandbox's mounts); `holder_fds` stay open until then.
        self.holder_hook = holder_hook
        self.holder_fds = holder_fds


class Sandbox:
    """A running sandbox; `init_pid` and `holder_pid` are host PIDs."""

    def __init__(self, spawn: Spawn) -> None:
        status_r, status_w = os.pipe()
        self._spawn = spawn
        self.holder_pid = os.fork()
        if self.holder_pid == 0:
            self._holder(status_w)          # never returns
        os.close(status_w)
        self._status = os.fdopen(status_r, "r", buffering=1)
        self._returncode: int | None = None
        self.signal: int | None = None     # set by wait() when the program died of one
        self.exec_at: float | None = None  # time.monotonic() when the init exec'd argv
        # The holder's "init PID" and the init's first report race each other.
        self._early: list[tuple[str, str]] = []
        while True:
            word, rest = self._read()
            if word != "init":
                self._early.append((word, rest))
            if word == "init" or word == "failed":
                break
        if word != "init":
            self.wait()
            raise FastPathUnavailable("sandbox failed", rest)
        self.init_pid = int(rest)

    # -- parent side -------------------------------------------------------

    def _read(self) -> tuple[str, str]:
        while True:
            word, _, rest = self._status.readline().strip().partition(" ")
            if word != "exec":
                return (word or "failed"), (rest or "the sandbox died")
            self.exec_at = float(rest)     # the monotonic clock is the host's: ours too

    def next_status(self) -> tuple[str, str]:
        """The init's next report: ('started'|'restored', pid) or ('failed', why)."""
        return self._early.pop(0) if self._early else self._read()

    def program_pid(self) -> int | None:
        """Host PID of the program (the init's child), or None."""
        try:
            with open(f"/proc/{self.init_pid}/task/{self.init_pid}/children") as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[-1]) if kids else None

    def wait_stopped(self, timeout: float = 1.0) -> None:
        """Wait (bounded) until every thread of the program is stopped."""
        pid = self.program_pid()
        end = time.monotonic() + timeout
        while pid is not None and time.monotonic() < end:
            stats = thread_files(pid, "stat")
            if stats is None or all(stat_fields(st)[0] in "tTXZ" for st in stats):
                return                          # gone, or stopped
            time.sleep(0.001)

    def send_signal(self, sig: int) -> None:
        try:
            os.kill(self.init_pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Kill the whole sandbox (the init's death takes every process with it)."""
        for pid in (self.init_pid, self.holder_pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self) -> int:
        while self._returncode is None:
            try:
                _, status = os.waitpid(self.holder_pid, 0)
            except ChildProcessError:
                self._returncode = 255
                break
            self._returncode = exit_code(status)
        try:
            for line in self._status:          # EOF: the init and holder are gone
                if line.startswith("exited "):
                    raw = int(line.split()[1])
                    self.signal = os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else None
        except (OSError, ValueError):
            pass
        self._status.close()
        return self._returncode

    def pidfd(self) -> int:
        return os.pidfd_open(self.holder_pid)

    def forwarding(self) -> _Forwarding:
        """While active, signals sent to jfast go to the program."""
        return _Forwarding(self)

    # -- holder and init (forked children; they never return) -------------

    def _holder(self, status_w: int) -> None:
        code = 255
        try:
            # Our own process group: a terminal's ^C reaches jfast alone, and
            # jfast forwards it, so the program never gets it twice.
            os.setpgid(0, 0)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            for sig in FORWARDED:
                signal.signal(sig, signal.SIG_IGN)
            _close_fds_except({0, 1, 2, status_w, *self._spawn.fds.values(),
                               *self._spawn.holder_fds})
            flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
            uid, gid = os.geteuid(), os.getegid()
            if userns.rootless():
                flags |= userns.CLONE_NEWUSER
            check(libc.unshare(flags), "unshare")
            if userns.rootless():
                userns.map_self(uid, gid)
            if self._spawn.holder_hook is not None:
                self._spawn.holder_hook()
            init = os.fork()
            if init == 0:
                self._init(status_w)
            _close_quietly(self._spawn.fds.values())
            os.write(status_w, f"init {init}\n".encode())
            _, status = os.waitpid(init, 0)
            code = exit_code(status)
        except BaseException as e:  # noqa: BLE001 - a forked child must not unwind
            _report(status_w, f"failed {type(e).__name__}: {e}")
        finally:
            os._exit(code)

    def _init(self, status_w: int) -> None:
        code = 255
        spawn = self._spawn
        try:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None),
                  "mount --make-rprivate /")
            check(libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
                   "mount /proc")
            _own_terminal()
            signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
            if spawn.run_facts is not None:
                _cover_run(spawn.run_facts)
            if spawn.private_x11:
                _private_x11()
            if spawn.restore_pidfile is None:
                with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                    f.write(str(PROGRAM_PID - 1))
            # The exec's outcome: EOF when it worked (the pipe closes on exec),
            # else why not. A program that cannot start (its arguments over
            # ARG_MAX with jfast's options added, say) is then a sandbox
            # failure, and the launcher starts java with the user's own.
            exec_r, exec_w = os.pipe()
            child = os.fork()
            if child == 0:
                os.close(exec_r)
                _exec(spawn, new_session=spawn.restore_pidfile is None, failed=exec_w)
            os.close(exec_w)
            why = os.read(exec_r, 1024)
            if not why:
                _report(status_w, f"exec {time.monotonic()}")
            os.close(exec_r)
            _close_quietly(spawn.fds.values())
            if why:
                os.waitpid(child, 0)
                _report(status_w, f"failed {why.decode(errors='replace')}")
                return
            if spawn.restore_pidfile is not None:
                _, status = os.waitpid(child, 0)
                if status != 0:
                    _report(status_w, f"failed criu restore exited with {exit_code(status)}")
                    return
                with open(spawn.restore_pidfile) as f:
                    child = int(f.read().strip())
                _report(status_w, f"restored {child}")
            else:
                _report(status_w, f"started {child}")
            status = _supervise(child)
            _report(status_w, f"exited {status}")      # the raw status: a signal stays a signal
            code = exit_code(status)
        except BaseException as e:  # noqa: BLE001
            _report(status_w, f"failed {type(e).__name__}: {e}")
        finally:
            os._exit(code)


class _Forwarding:

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.old: dict[int, object] = {}

    def _forward(self, sig: int, _frame: object) -> None:
        self.sb.send_signal(sig)
        if sig == signal.SIGTSTP:
            # Stop ourselves too, so the shell sees the job stopped; but only
            # once the program has: in a session of its own, a read(2) of
            # the terminal still running would take what is typed to the shell.
            self.sb.wait_stopped()
            os.kill(os.getpid(), signal.SIGSTOP)

    def __enter__(self) -> _Forwarding:
        for sig in FORWARDED:
            self.old[sig] = signal.signal(sig, self._forward)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)


def _cover_run(facts: bytes) -> None:
    check(libc.mount(b"tmpfs", b"/run", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       b"size=1m,mode=755"), "mount tmpfs on /run")
    if facts:
        fd = os.open("/run/criu.kdat", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, facts)
        finally:
            os.close(fd)


def _private_x11() -> None:
    if not os.path.isdir("/tmp/.X11-unix"):      # the mount point, on the host's /tmp
        os.mkdir("/tmp/.X11-unix")
        os.chmod("/tmp/.X11-unix", 0o1777)
    check(libc.mount(b"tmpfs", b"/tmp/.X11-unix", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       b"size=1m,mode=1777"), "mount tmpfs on /tmp/.X11-unix")


def _own_terminal() -> None:
    """/dev/tty is the caller's terminal. The program leads a session of its
    own without a controlling terminal, so /dev/tty would fail (ENXIO) where
    java would open its terminal: bind the terminal itself over it."""
    for fd in (0, 1, 2):
        if os.isatty(fd):
            try:
                libc.mount(os.ttyname(fd).encode(), b"/dev/tty", None, MS_BIND, None)
            except OSError:
                pass
            return


def _report(fd: int, line: str) -> None:
    try:
        os.write(fd, (line.replace("\n", " ") + "\n").encode())
    except OSError:
        pass


def _exec(spawn: Spawn, new_session: bool, failed: int) -> None:
    """In the child: lay out the fds, reset signals, exec; on failure, say
    why on `failed` (closed on exec) and exit 127."""
    import fcntl
    try:
        failed = fcntl.fcntl(failed, fcntl.F_DUPFD_CLOEXEC, 256)   # clear of the targets
        if new_session:
            os.setsid()
        # Move the fds we hand over above the targets first, then into place.
        staged = {target: os.dup(src) for target, src in spawn.fds.items()}
        for target, src in staged.items():
            os.dup2(src, target, inheritable=True)
            os.close(src)
        _close_fds_except(set(staged) | {0, 1, 2, failed})
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if spawn.restore_pidfile is not None and userns.rootless():
            userns.keep_caps_across_exec()      # criu, never the program
        os.execve(spawn.argv[0], spawn.argv, spawn.env)
    except BaseException as e:  # noqa: BLE001
        try:
            os.write(failed, f"cannot start {spawn.argv[0]}: {e}".encode())
        finally:
            os._exit(127)


class Helper:
    """A helper (criu dump) started inside a sandbox's namespaces."""

    def __init__(self, pid: int, err_r: int) -> None:
        self.pid = pid
        self._err_r = err_r
        self._status: int | None = None     # its wait status, once reaped

    def wait(self, timeout: float) -> tuple[int, str]:
        """(exit code, stderr) once it ends; killed after `timeout` seconds."""
        import select
        import time

        chunks, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            ready, _, _ = select.select([self._err_r], [], [], end - time.monotonic())
            chunk = os.read(self._err_r, 65536) if ready else b""
            if not chunk:
                break
            chunks.append(chunk)
        os.close(self._err_r)
        if self.running():              # timed out: the helper dies with its child
            os.kill(self.pid, signal.SIGKILL)
            self._status = os.waitpid(self.pid, 0)[1]
        return exit_code(self._status or 0), b"".join(chunks).decode(errors="replace")

    def running(self) -> bool:
        if self._status is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self._status = status
        return self._status is None


def start_inside(init_pid: int, argv: list[str], umask: int = 0o022,
                 env: dict[str, str] | None = None) -> Helper:
    """Start a helper inside the sandbox's namespaces, with the capabilities
    they grant when rootless (and `env` added to its environment)."""
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 127
        try:
            # Nothing of jfast's stays open here: the helper may wait for the
            # whole run, and a copy of jfast's connection to the private X
            # server would be a client outside the sandbox.
            _close_fds_except({err_w})
            userns.enter(init_pid)
            inner = os.fork()           # the pid namespace applies to children
            if inner == 0:
                os.dup2(err_w, 2)
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)
                _close_fds_except({0, 1, 2})
                if userns.rootless():
                    userns.keep_caps_across_exec()
                os.umask(umask)
                os.execve(argv[0], argv, {**os.environ, **(env or {})})
            # This waiter goes with jfast; the helper, in the sandbox's PID
            # namespace, ends with the sandbox's init, which goes with jfast too.
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            _, status = os.waitpid(inner, 0)
            code = exit_code(status)
        except BaseException as e:  # noqa: BLE001 - a forked child must not unwind
            _report(err_w, f"jfast: cannot run {argv[0]} in the sandbox: {e}")
        finally:
            os._exit(code)
    os.close(err_w)
    return Helper(pid, err_r)


def _close_quietly(fds: object) -> None:
    for fd in set(fds):  # type: ignore[call-overload]
        try:
            os.close(fd)
        except OSError:
            pass


def _close_fds_except(keep: set[int]) -> None:
    # Inherited fds would end up in the checkpoint (docs/architecture.md, "The sandbox").
    _close_quietly(int(n) for n in os.listdir("/proc/self/fd") if int(n) not in keep)


def _supervise(child: int) -> int:
    """PID 1's loop: forward signals to the program, reap, return its raw
    wait status."""
    def forward(sig: int, _frame: object) -> None:
        try:
            # The program leads its own session, an orphaned process group
            # that the kernel does not stop for SIGTSTP: stop it for real.
            os.kill(child, signal.SIGSTOP if sig == signal.SIGTSTP else sig)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 255 << 8              # exit status 255
        if pid == child:
            return status


if __name__ == "__main__":  # pragma: no cover - manual smoke test
    sb = Sandbox(Spawn(argv=sys.argv[1:], env=dict(os.environ)))
    print(sb.next_status(), file=sys.stderr)
    sys.exit(sb.wait())
