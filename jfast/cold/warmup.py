"""A cold run: start the program in a sandbox with the agent, notice when it
is ready, and checkpoint it there without stopping it.

Ready points, from weakest to strongest (docs/architecture.md, "Ready
points"): main-entry (the agent pauses the main thread before `main`), the
main thread blocking on a terminal's stdin (a REPL at its prompt), a server
socket about to listen (the agent hears of it from the native library's
listen(2); cold/readypoints.py polls for one too), a window, and an explicit
call from the program.
Under `JFAST_READY=auto` the first point seen is checkpointed and a
stronger one later in the same run replaces it, so a server's entry ends at
its socket, not before its `main`. The agent pauses the program at the
main-entry, socket and explicit points until the dump is done; for the
others CRIU's freeze is the pause.

Under `auto`, main-entry needs the class list an earlier run recorded: the
agent preloads it first, so the checkpoint saves the class loading too, not
only the JVM's boot (which a restore costs about as much as). When that
preloading was quick, a restore would start the program no sooner than java
does: the entry then says so (`plain`) and later runs exec java directly.
"""

from __future__ import annotations

import os
import select
import selectors
import signal
import threading
import time

from jfast.cold import inputs, readypoints
from jfast.criu import criu, images
from jfast.display.displayrun import ColdDisplay
from jfast.errors import FastPathUnavailable
from jfast.java import agentfiles
from jfast.java.jdk import feature_version, java_home
from jfast.java.protocol import CMD_FD, EV_FD, RANK
from jfast.linux import procfs
from jfast.linux.fs import atomic_write, remove_tree
from jfast.log import VERBOSE, verbose
from jfast.report import Report
from jfast.sandbox import replay, stdio, terminal, writes
from jfast.sandbox.sandbox import PROGRAM_PID, Sandbox, Spawn
from jfast.settings import Settings
from jfast.store import cache, locks, trust
from jfast.store.entry import Entry, Pending, write_data

# How much longer than the start a main-entry checkpoint's preloading must
# take for a restore to be sooner than java (ColdRun._on_event).
MAIN_GAIN = 1.5
# One run's ratio is noisy: a program measured 73, 88, 112 and 113 ms of
# preloading on identical runs against a line near 90. A ratio this far from
# MAIN_GAIN decides alone; a closer one waits for MAIN_SAMPLES runs' median.
CLEAR_MARGIN = 1.5
MAIN_SAMPLES = 3


def main_verdict(ratios: list[float]) -> bool | None:
    """Whether a checkpoint at main pays, from the program's runs' ratios of
    preloading to start (newest last); None: too close to call yet."""
    last = ratios[-1]
    if last >= MAIN_GAIN * CLEAR_MARGIN or last <= MAIN_GAIN / CLEAR_MARGIN:
        return last >= MAIN_GAIN
    recent = sorted(ratios[-MAIN_SAMPLES:])
    if len(recent) < MAIN_SAMPLES:
        return None
    return recent[len(recent) // 2] >= MAIN_GAIN

# HotSpot maps its CDS archive at a random address and patches every pointer
# in it (ArchiveRelocationMode=1, the default since JDK 20 and in Debian's
# 17.0.15): some 12 MiB of pages dirtied, dumped into every image and read
# back by every restore. Mapped at the address it was built for, its
# read-only half stays clean file pages that a restore maps from the page
# cache. A restore puts the program at the checkpoint's addresses anyway.
# The flag exists from JDK 14; later JDKs are added once tried.
CDS_AT_BASE = ["-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0"]
CDS_AT_BASE_JDKS = range(14, 27)


class Start:
    """Everything a cold run needs to know, worked out by the launcher."""

    def __init__(self, *, java: str, argv: list[str], env: dict[str, str], entry: Entry,
                 criu: str, criu_version: str, agent_jar: str, native: str,
                 ready: str, material: dict, display=None, replace: bool = False,
                 stale_runs: int = 0, ahead: float | None = None) -> None:
        self.java = java
        self.argv = argv               # the user's java arguments, unchanged
        self.env = env
        self.entry = entry
        self.criu = criu
        self.criu_version = criu_version
        self.agent_jar = agent_jar
        self.native = native           # the agent's native library (agentfiles.native_helper)
        self.ready = ready             # JFAST_READY
        self.material = material       # the key material, kept in the manifest
        self.display = display         # display.DisplayPlan (JFAST_DISPLAY)
        self.replace = replace         # the entry is stale: checkpoint over it
        self.stale_runs = stale_runs   # stale entries replaced in a row (store/entry.py)
        # `jfast checkpoint`: seconds to wait for a ready point, after which
        # (or once the checkpoint is made) the program is stopped; None for a run.
        self.ahead = ahead


def pipe_resource(fd: int) -> str:
    return f"pipe:[{os.fstat(fd).st_ino}]"


class ColdRun:
    def __init__(self, plan: Start, report: Report, io: stdio.Stdio) -> None:
        self.plan = plan
        self.report = report
        self.io = io                       # fds 0-2 as the launcher prepared them
        self.best = -1                     # rank of the checkpoint we made
        self.sandbox: Sandbox | None = None
        self._events: list[str] = []       # agent lines not yet acted on
        self._ev_buf = b""                 # a partial agent line
        self._publisher: threading.Thread | None = None   # sealing the last dump
        self._plain: str | None = None     # why a restore would gain nothing
        self._plain_later: str | None = None   # why that is not known yet
        # A criu dump started ahead, waiting for the next point (criu.Dump),
        # and the scratch folders of those dumps, removed at the end.
        self._primed: criu.Dump | None = None
        self._scratch: list[str] = []
        # The agent's word on the JDK internals a restore must update: "ok",
        # or "missing: ..." (then no checkpoint); None until it has spoken.
        self._prepared: str | None = None
        # The environment variables the program read so far, as the agent
        # says before each dump: "*" for all of them, else their names.
        self._env_read: str | None = None
        self._refusal: str | None = None         # the agent's word: no checkpoint now

    # -- the run -----------------------------------------------------------

    def run(self) -> int:
        """Start the program in its sandbox, checkpoint it at its ready
        points and wait for it; its exit status."""
        # Output before the ready point is recorded for restored runs to
        # replay, so output pipes get relays too (sandbox/replay.py).
        self.io.abandon()
        self.output = replay.Recording()
        self.io = stdio.prepare(record=self.output)
        self.ev_r, ev_w = os.pipe()
        cmd_r, self.cmd_w = os.pipe()
        self.pipes = {"ev": pipe_resource(self.ev_r), "cmd": pipe_resource(cmd_r)}
        try:
            self._start(ev_w, cmd_r)
        finally:
            os.close(ev_w)
            os.close(cmd_r)
        sb = self.sandbox
        with sb.forwarding():
            closing = None
            try:
                self._watch()
            except Exception as e:  # noqa: BLE001 - a bug here must not cost the run
                self._give_up(e)
            finally:
                self.display.close()
                if self.inputs:             # the program is gone: no more checkpoints
                    closing = self.inputs.close_behind()
            code = sb.wait()
        self.report.exit_signal = sb.signal
        self._wind_down(closing)
        return code

    def _give_up(self, error: Exception) -> None:
        """An error of jfast's own after the program started: no checkpoint
        in this run, and the program goes on as under java (the agent's
        command pipe closes, which releases every thread it holds), then
        jfast waits for it as usual."""
        import traceback
        verbose(traceback.format_exc())
        self.best = 99
        self.report.checkpoint = "failed"
        self.report.reason = f"internal error: {type(error).__name__}: {error}"
        os.close(self.cmd_w)
        self.cmd_w = -1
        pidfd = self.sandbox.pidfd()
        try:                         # keep reading the agent: its pipe must not fill
            while select.select([pidfd], [], [], 0.05)[0] == [] and self._read_events():
                pass
        except OSError:
            pass
        finally:
            os.close(pidfd)

    def _command(self, ev_w: int, cmd_r: int) -> tuple[list[str], dict[str, str], dict]:
        """The JVM's argv, environment and fds: java with the agent (docs/
        architecture.md, "The agent"), the user's arguments unchanged."""
        plan, io = self.plan, self.io
        opts = f"ev={EV_FD},cmd={CMD_FD},ready={plan.ready},record={plan.entry.classes}"
        if VERBOSE:
            opts += ",verbose=1"
        if os.path.exists(plan.entry.classes) and not trust.problem(plan.entry.classes):
            opts += f",preload={plan.entry.classes}"
        # A terminal gets no relay: the agent records what Java prints on it.
        ttys = "".join(str(f.fd) for f in io.program_side[1:] if f.kind == "tty")
        self.tee, self._tee_seen = None, 0
        if ttys:
            self.tee = os.path.join(cache.scratch(plan.entry.root, "tee."), "output")
            os.close(os.open(self.tee, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            opts += f",tee={self.tee},teefds={ttys}"
        env = plan.env
        # A JVMTI agent starts the Java one: -javaagent would turn off the CDS
        # archive's module graph (~40 ms). Preloaded, the same library shows
        # the agent a TCP listen(2) before it happens, and whether the kernel
        # chose its port (jfast_native.c).
        opts += f",native={plan.native}"
        self.writes_log = None
        if plan.ready != "main":
            # ... and logs the files the program opens for writing (jfast_writes.c).
            self.writes_log = os.path.join(cache.scratch(plan.entry.root, "writes."), "log")
            os.close(os.open(self.writes_log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            opts += f",listen=1,writes={self.writes_log}"
            env = {**env, "LD_PRELOAD": ":".join(filter(None, [str(plan.native),
                                                                env.get("LD_PRELOAD")]))}
        tuning = ["-XX:-UsePerfData"]
        if feature_version(plan.java) in CDS_AT_BASE_JDKS:
            tuning += CDS_AT_BASE
        # The agent takes the options below out of the program's view
        # (RuntimeMXBean.getInputArguments), as under java.
        opts += f",hide={len(tuning)}"
        agent = f"-agentpath:{plan.native}={plan.agent_jar},{opts}"
        return [plan.java, agent, *tuning, *plan.argv], env, {**io.fds, EV_FD: ev_w,
                                                              CMD_FD: cmd_r}

    def _start(self, ev_w: int, cmd_r: int) -> None:
        """The sandbox, with the program running in it (and its display, and
        the watch on the files it reads)."""
        argv, env, fds = self._command(ev_w, cmd_r)
        self.display = ColdDisplay(self.plan.display, self.plan.ready)
        argv, env, fds = self.display.spawn(argv, env, fds)
        self.inputs = inputs.recorder()
        hook = self.inputs.mark_mounts if self.inputs else None
        self._spawned = time.monotonic()
        sb = Sandbox(Spawn(argv=argv, env=env, fds=fds, private_x11=self.display.virtual,
                           holder_hook=hook, holder_fds=self.inputs.fds if self.inputs else ()))
        self.sandbox = sb
        state, detail = sb.next_status()
        if state != "started":
            sb.wait()
            if self.inputs:
                self.inputs.close()
            raise FastPathUnavailable("sandbox failed", detail)
        if self.inputs:
            self.inputs.start(sb.program_pid() or -1)
        self.display.started(sb)
        self.report.ran("started")
        self.io.started()
        self.report.lap("start")
        if not self.plan.entry.published() or self.plan.replace:
            self._prime()

    def _wind_down(self, closing: threading.Thread | None) -> None:
        """After the program's exit: the plain verdict, the last publish, the
        relays, the fanotify group and the agent's copy of a terminal's output."""
        if self._plain and self.best < 0:
            self.remember_plain(self._plain)
        elif self._plain_later and self.best < 0:
            self.report.reason = f"no checkpoint yet: {self._plain_later}"
        self._publish_wait()
        self.io.finish()
        os.set_blocking(self.ev_r, False)     # the agent's last words (its exit hook)
        try:
            while self._read_events():
                pass
        except OSError:
            pass
        os.close(self.ev_r)
        if self.cmd_w >= 0:
            os.close(self.cmd_w)
        if closing is not None:
            closing.join()
        if self._primed is not None:          # no point came for it
            dump, self._primed = self._primed, None
            try:
                self._unprime(dump, None)
            except OSError as e:                 # housekeeping: the run is done
                verbose(f"cannot end the criu started ahead: {e}")
        for folder in self._scratch:
            remove_tree(folder)
        for scratch in (self.tee, self.writes_log):
            if scratch is not None:
                remove_tree(os.path.dirname(scratch))

    def _read_events(self) -> bool:
        """Read what the agent wrote into `_events`, a line each; False at EOF."""
        chunk = os.read(self.ev_r, 4096)
        self._ev_buf += chunk
        *lines, self._ev_buf = self._ev_buf.split(b"\n")
        for line in (ln.decode(errors="replace").strip() for ln in lines):
            if line.startswith("prepared "):
                self._prepared = line.partition(" ")[2]
            elif line.startswith("log "):
                verbose(f"agent: {line[4:]}")
            elif line.startswith("env"):
                self._env_read = line[4:]
            elif line.startswith("refuse "):
                self._refuse(line[7:])
            else:
                self._events.append(line)
        return bool(chunk)

    def _refuse(self, why: str) -> None:
        """The agent's word that no checkpoint can be made from now on in
        this run (a listen on a port the kernel chose): none is tried, and
        the report says why, unless one was made before it."""
        if self._refusal is not None:
            return
        self._refusal = why
        if self.best < 0:
            self.report.reason = f"no checkpoint: {why}"
        self.best = 99

    def _watch(self) -> None:
        """Serve the agent and poll for ready points until the program exits."""
        sb = self.sandbox
        sel = selectors.DefaultSelector()
        pidfd = sb.pidfd()
        sel.register(self.ev_r, selectors.EVENT_READ, "ev")
        sel.register(pidfd, selectors.EVENT_READ, "exit")
        points = readypoints.Watch(self.plan.ready, self.io.program_side[0].kind == "tty",
                                   self.display)
        try:
            while True:
                while self._events:             # including lines read during a GC wait
                    self._on_event(self._events.pop(0))
                interval = points.interval(self.best)     # None: nothing left to poll
                if self.plan.ahead is not None:
                    left = self._spawned + self.plan.ahead - time.monotonic()
                    if self.best >= 99:          # no checkpoint can come in this run
                        self._stop_ahead(None)
                    elif left <= 0:
                        self._stop_ahead(f"no ready point within {self.plan.ahead:g} s")
                    else:
                        interval = min(left, left if interval is None else interval)
                for key, _ in sel.select(0 if self._events else interval):
                    if key.data == "exit":
                        return
                    if not self._read_events():
                        sel.unregister(self.ev_r)
                pid = sb.program_pid() if interval is not None else None
                point = points.reached(pid, self.best) if pid is not None else None
                if point:
                    self.checkpoint(point)
        finally:
            sel.close()
            os.close(pidfd)

    def _on_event(self, line: str) -> None:
        word, _, arg = line.partition(" ")
        point, _, preload_ms = arg.partition(" ")
        if (word == "ready" and point == "main" and self.plan.ahead is not None
                and self.plan.ready == "auto"):
            # Made ahead of time, a checkpoint waits for a later point: one at
            # main needs the class list of an earlier run (--ready main asks for it).
            return self._go()
        if word == "ready" and point in RANK:
            if point == "main" and self.plan.ready == "auto" and preload_ms.isdigit():
                # A checkpoint at main saves the start and the preloading, and
                # a restore costs about 2.5 times this run's start (sandbox,
                # JVM, agent: hello world's 43 ms, restored in 115 ms against
                # java's 36), so it pays once the preloading takes 1.5 times
                # the start. Both are measured in this run, so a loaded machine
                # slows both alike; a fixed 60 ms gave hello world a checkpoint
                # there, restored at 2.3 times java's time.
                start_ms = (time.monotonic() - self._spawned) * 1000 - int(preload_ms)
                ratios = self.plan.entry.add_sample(int(preload_ms) / max(start_ms, 1.0))
                pays = main_verdict(ratios)
                verbose(f"main: preloading took {preload_ms} ms, the start before it "
                        f"{start_ms:.0f} ms: {'too close to call' if pays is None else pays}")
                # Said at the end of the run, unless a later point is checkpointed.
                if pays is None:
                    self._plain_later = (f"its classes load in {preload_ms} ms, too close "
                                         f"to its start of {start_ms:.0f} ms to call on "
                                         f"{len(ratios)} of {MAIN_SAMPLES} runs")
                    return self._go()
                if not pays:
                    self._plain = (f"its classes load in {preload_ms} ms: java starts it "
                                   "as soon as a restore would")
                    return self._go()
            self.checkpoint(point)
        self._go()

    def _stop_ahead(self, why: str | None) -> None:
        """`jfast checkpoint`: the program goes no further than its ready
        point (or, with `why`, runs no longer without reaching one)."""
        if why is not None and self.best < 0:
            self.report.reason = f"no checkpoint: {why}"
        self.plan.ahead = None                   # said once
        self.sandbox.kill()

    def _go(self) -> None:
        try:
            os.write(self.cmd_w, b"go\n")       # the agent waits for this at its pauses
        except OSError:
            pass

    # -- the checkpoint ----------------------------------------------------

    def checkpoint(self, point: str) -> None:
        """Dump the program at `point` if that is better than what we have.
        Only the run holding the key's make-lock dumps; others run on."""
        plan, rank = self.plan, RANK[point]
        self._publish_wait()                     # this run's previous checkpoint
        if rank <= self.best:
            return
        claim = self._claim(point)
        if claim is None:
            return
        if not terminal.foreground():
            claim.release()
            verbose(f"{point}: the program's terminal is the shell's now: no checkpoint")
            return
        refusal = self.display.before_dump(self.sandbox.program_pid() or -1)
        if refusal:
            claim.release()
            self.display.after_dump(point)
            verbose(f"no checkpoint at {point}: {refusal}")
            if self.best < 0:
                self.report.reason = f"no checkpoint at {point}: {refusal}"
            return
        self.report.ready_point = point
        pending = dump = None
        try:
            dump = self._primed_dump()
            t0 = time.monotonic()
            self._collect_garbage()
            self.report.timings_ms[f"gc_{point}"] = round((time.monotonic() - t0) * 1000, 2)
            unfaithful = self._unfaithful()     # the agent answered the GC after it spoke
            if unfaithful:
                raise _NoCheckpoint(unfaithful)
            t0 = time.monotonic()
            # Under the make-lock, once criu has its images folder open: from
            # here the images are a pending entry's.
            dump.at_gate()
            pending = Pending(plan.entry, images=dump.images)
            # A first look, while the program runs: what it wrote is no input,
            # and a write no restore could repeat spares the dump.
            wrote = self._writes()
            read_so_far = self._inputs(wrote)   # before criu's own opens
            self._termios = terminal.settings()   # what CRIU records too
            if self.tee is not None:           # the agent's whole copy so far: take what is new
                with open(self.tee, "rb") as f:
                    copy = f.read()
                replay.add_framed(self.output, copy[self._tee_seen:])
                self._tee_seen = len(copy)
            self.output.settle()
            printed = self.output.save(pending.output)
            try:
                taken, dump = dump, None          # criu has its word: nothing to cancel
                taken.take()
                # The log is whole only now: a thread that opened a file between
                # the look above and the freeze (the JDK writes its font cache
                # from one) is in it, and nothing is written after it.
                self.sandbox.wait_stopped()
                held = images.regular_files(pending.images)
                wrote = self._writes({f.path for f in held if f.writable})
                rewrites = writes.settle(wrote, held, self.writes_log)
            except writes.Unrepeatable as e:
                self.report.try_again = e.again
                raise _NoCheckpoint(str(e)) from None
            finally:
                self._wake()
            for path in wrote.named:            # written, so no input (see _inputs)
                (read_so_far["files"] or {}).pop(path, None)
            manifest = {**self._manifest(point, read_so_far), "output": printed,
                        "steps": wrote.steps, "writes": _save_writes(rewrites, pending.images)}
        except _NoCheckpoint as e:
            self._unprime(dump, pending)
            claim.release()
            self.best = 99                       # the JDK will not change in this run
            self.report.checkpoint = "none"
            self.report.reason = f"no checkpoint: {e}"
            verbose(self.report.reason)
            return
        except (FastPathUnavailable, OSError) as e:
            self._unprime(dump, None)
            self._failed(point, pending, claim, e)
            return
        finally:
            self.display.after_dump(point)
        self.best = rank
        self.report.timings_ms[f"dump_{point}"] = round((time.monotonic() - t0) * 1000, 2)
        verbose(f"checkpoint at {point} in {(time.monotonic() - t0) * 1000:.0f} ms: "
                f"{plan.entry.key}")
        # Sealing reads and hashes the whole image: the program goes on meanwhile.
        self._publisher = threading.Thread(target=self._publish_behind,
                                           args=(pending, claim, point, manifest),
                                           name="jfast-publish")
        self._publisher.start()
        if self.plan.ahead is not None:
            self._publish_wait()
            self._stop_ahead(None)
            return
        self._prime()                            # for a stronger point later in the run

    def _prime(self) -> None:
        """Start the next checkpoint's criu now (criu.Dump), in a scratch
        folder of the cache: its start-up then overlaps the program's run
        instead of lengthening its pause."""
        if self._primed is not None or self.best >= max(RANK.values()):
            return
        folder = None
        try:
            folder = cache.scratch(self.plan.entry.root, "dump.")
            externals = sorted({f.resource for f in self.io.program_side if f.external})
            self._primed = criu.Dump(self.plan.criu, self.sandbox.init_pid, PROGRAM_PID,
                                     folder, externals)
        except OSError as e:
            verbose(f"cannot start criu ahead of the checkpoint: {e}")
        if folder is not None:
            self._scratch.append(folder)

    def _primed_dump(self) -> criu.Dump:
        """The criu dump started ahead for this checkpoint (or now, if none
        could be)."""
        self._prime()
        dump, self._primed = self._primed, None
        if dump is None:
            raise OSError("criu could not be started")
        return dump

    def _unprime(self, dump: criu.Dump | None, pending: Pending | None) -> None:
        """A dump started ahead that will not be taken ends; its pending
        entry goes."""
        if dump is not None:
            dump.cancel()
        if pending is not None:
            pending.discard()

    def _publish_behind(self, pending: Pending, claim: locks.Lock, point: str,
                        manifest: dict) -> None:
        """_publish on a thread that yields the CPU to the program, whose
        first request or keystroke after the checkpoint is what a user waits
        for; the inputs' digests are taken here too, out of its pause."""
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass
        if manifest["inputs"]["files"]:
            manifest["inputs"]["files"] = inputs.with_digests(manifest["inputs"]["files"])
        self._publish(pending, claim, point, manifest)

    def _claim(self, point: str) -> locks.Lock | None:
        """The key's make-lock, or None when another run makes or made the entry."""
        plan = self.plan
        try:
            claim = locks.claim(plan.entry.root, plan.entry.key)
        except OSError as e:
            self._failed(point, None, None, e)
            return None
        if claim is None or (self.best < 0 and plan.entry.published() and not plan.replace):
            verbose(f"{point}: another run {'is making' if claim is None else 'already made'} "
                    f"{plan.entry.key}")
            if claim is not None:
                claim.release()
            self.best = 99
            return None
        return claim

    def remember_plain(self, why: str) -> None:
        """Publish an entry without an image that sends later runs to java."""
        claim = self._claim("main")
        if claim is None:
            return
        self.report.reason = f"no checkpoint: {why}"
        verbose(self.report.reason)
        self._publish(Pending(self.plan.entry), claim, "main",
                      {**self._made_by(), "plain": why})

    def _publish(self, pending: Pending, claim: locks.Lock, point: str,
                 manifest: dict) -> None:
        t0 = time.monotonic()
        try:
            pending.publish(manifest)
        except Exception as e:  # noqa: BLE001 - whatever it was, the entry must not be half-made
            self._failed(point, pending, claim, e)
            return
        claim.release()
        self.report.checkpoint = "none" if manifest.get("plain") else "created"
        self.report.timings_ms[f"publish_{point}"] = round((time.monotonic() - t0) * 1000, 2)
        settings = Settings(self.plan.env)
        if settings.remote_push and settings.remote and not manifest.get("plain"):
            from jfast.fleet.registry import push_behind
            try:
                push_behind(self.plan.entry.root, self.plan.entry.key, self.plan.env)
            except OSError as e:                 # the run goes on; `jfast cache push` by hand
                verbose(f"cannot start the push of {self.plan.entry.key}: {e}")
        try:
            from jfast.store.prune import enforce_cap
            over = enforce_cap(self.plan.entry.root, settings,
                               self.plan.entry.key)
        except Exception as e:  # noqa: BLE001 - the cap is housekeeping; the run goes on
            verbose(f"cannot enforce the cache size limit: {type(e).__name__}: {e}")
            over = None
        if over:
            self.report.checkpoint = "failed"
            self.report.reason = f"checkpoint at {point} dropped: {over}"
            verbose(self.report.reason)

    def _publish_wait(self) -> None:
        if self._publisher is not None:
            self._publisher.join()
            self._publisher = None

    def _failed(self, point: str, pending: Pending | None, claim: locks.Lock | None,
                e: Exception) -> None:
        if pending is not None:
            pending.discard()
        if claim is not None:
            claim.release()
        self.report.checkpoint = "failed"
        self.report.reason = f"checkpoint at {point} failed: {e}"
        verbose(self.report.reason)
        self.best = 99                           # do not try again in this run

    def _unfaithful(self) -> str | None:
        """Why a restore of this program could not be made faithful, from
        the agent's own check of the JDK internals it must update (FreshRun),
        or None when it can (docs/architecture.md, "Fail closed")."""
        if self._prepared is None:
            return "the agent did not start, so a restore could not update its state"
        if self._prepared != "ok":
            return (f"on this JDK a restore could not update {self._prepared.partition(': ')[2]}"
                    " (the agent found no such JDK internal)")
        if self._env_read is None:
            return "the agent did not say which environment variables the program read"
        if self._refusal:
            return self._refusal
        taken = self.io.stdin_taken()
        if taken:
            # As with input files: a restore would go on from the first
            # run's input, whatever this run's stdin holds.
            return f"the program read {taken} bytes of stdin before its ready point"
        return None

    def _collect_garbage(self, timeout: float = 10) -> None:
        """Ask the agent to shrink the heap (a full GC, free heap given back)
        and wait for it: dead objects and pages would otherwise be written
        into the image and read back on every restore."""
        try:
            os.write(self.cmd_w, b"gc\n")
        except OSError:
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ready, _, _ = select.select([self.ev_r], [], [], max(0, end - time.monotonic()))
            if not ready or not self._read_events():
                break
            if "gc done" in self._events:       # other lines wait until after the dump
                self._events.remove("gc done")
                return
        verbose("the agent did not answer the GC request; dumping as it is")

    def _made_by(self) -> dict:
        """What every entry's manifest says of the run that made it."""
        plan = self.plan
        return {"key": plan.entry.key, "argv": plan.argv, "java": plan.java,
                "criu_version": plan.criu_version, "material": plan.material,
                "stale_runs": plan.stale_runs}

    def _manifest(self, point: str, read_so_far: dict) -> dict:
        return {
            **self._made_by(),
            "ready_point": point,
            "stdio": [{"fd": f.fd, "kind": f.kind, "resource": f.resource}
                      for f in self.io.program_side],
            "pipes": self.pipes,
            "display": self.display.manifest(),
            "inputs": read_so_far,
            "termios": self._termios,
        }

    def _wake(self) -> None:
        """Continue the tree criu dump left stopped (or, failing, running)."""
        pid = self.sandbox.program_pid()
        for p in procfs.tree(pid) if pid is not None else []:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def _writes(self, held: set[str] | None = None) -> writes.Collected:
        """What the program wrote to files so far, for a restore to write
        again (sandbox/writes.py); _NoCheckpoint when it cannot be repeated.
        `held`: what the program, stopped after the dump, holds open for
        writing (None: it runs)."""
        try:
            return writes.collect(self.writes_log, [self.plan.entry.root, agentfiles.DATA],
                                  self.inputs.written_so_far() if self.inputs else None,
                                  held)
        except writes.Unrepeatable as e:
            raise _NoCheckpoint(str(e)) from None

    def _inputs(self, wrote: writes.Collected) -> dict:
        """What a restore checks first: the directory CRIU reopens as the
        program's cwd, the files the program read so far (from the fanotify
        watch, else from the native library's log), and the environment
        variables it read through Java (with their values here; all of them
        when it read the whole environment). What it wrote, moved or
        removed (`wrote.named`) is not an input."""
        keyed = self.plan.material.get("files", {})     # covered by content
        class_dirs = [p for p in keyed if os.path.isdir(p)]
        skip = [java_home(self.plan.java), self.plan.entry.root, agentfiles.DATA]
        if self.inputs:
            files = self.inputs.snapshot(skip, set(keyed) | wrote.named, class_dirs)
        else:
            files = inputs.kept(wrote.read, skip, set(keyed) | wrote.named, class_dirs)
        env = self.plan.env
        whole = self._env_read == "*"
        names = env if whole else (self._env_read or "").split()
        return {"cwd": os.getcwd(), "files": files, "env": {n: env.get(n) for n in names},
                "env_whole": whole}

def _save_writes(rewrites: list[writes.FileWrite], images_dir: str) -> list[dict]:
    """The bytes of each write into the images (under the entry's digests),
    and the manifest's records of them (store/entry.py owns the format)."""
    records = []
    for i, w in enumerate(rewrites):
        name = write_data(i)
        atomic_write(os.path.join(images_dir, name), w.data)
        records.append({"path": w.path, "kind": w.kind, "start": w.start, "data": name,
                        "mode": w.mode, "reopen": w.reopen})
    return records


class _NoCheckpoint(Exception):
    """This run's program cannot be checkpointed faithfully (not a failure)."""
