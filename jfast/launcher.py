"""`jfast ARGS...` == `java ARGS...`: restore a checkpoint when there is one,
else start the program (making a checkpoint), else start java as it is
(docs/architecture.md, "A run").

Whatever fails on the fast path, the program still runs: jfast then execs
the real java with the user's arguments unchanged, after writing the run
report with the reason. Once the program has started (restored or cold), a
failure is never answered by starting it again.
"""

from __future__ import annotations

import os
import sys
import time

from jfast.criu import criu
from jfast.display import display
from jfast.errors import FastPathUnavailable, JfastError
from jfast.java import cmdline, readyfile
from jfast.java.jdk import find_java
from jfast.linux.fs import identity
from jfast.log import flush, verbose, warn
from jfast.report import Report
from jfast.sandbox import stdio, userns
from jfast.settings import Settings
from jfast.store import cache, key, notice, plainmemo, runs
from jfast.store.digests import FileDigests
from jfast.store.entry import PLAIN_DAYS, Entry, Meta


def main(argv: list[str]) -> int:
    report = Report()
    env = dict(os.environ)
    settings = Settings(env)
    try:
        java = find_java(env, settings)
    except JfastError as e:
        warn(str(e))
        return e.exit_code
    if settings.disabled:
        return _exec_java(java, argv, env, report, "passthrough", "JFAST_DISABLE is set")
    try:
        cwd = os.getcwd()
    except OSError as e:          # deleted under the caller: java says what it says
        return _exec_java(java, argv, env, report, "passthrough",
                          f"no working directory: {e.strerror}")
    try:
        cmd = cmdline.parse(argv, env, cwd)
    except cmdline.ArgfileError as e:
        return _exec_java(java, argv, env, report, "passthrough", str(e))
    report.program = cmd.target
    if not cmd.launchable:
        return _exec_java(java, argv, env, report, "passthrough", cmd.passthrough)
    report.lap("parse")
    io = None
    try:
        io = stdio.prepare()
        return _fast(Run(cmd, java, env, settings, cwd, io, report))
    except FastPathUnavailable as e:
        if io is not None:
            io.abandon()
        if e.lasting and userns.rootless():
            notice.once(str(e))
        return _exec_java(java, argv, env, report, "fallback", str(e))
    except Exception as e:
        if report.program_ran:
            raise                     # the program ran: never start it twice
        # A bug on the fast path must not cost the user's run.
        import traceback
        verbose(traceback.format_exc())
        if io is not None:
            io.abandon()
        return _exec_java(java, argv, env, report, "fallback",
                          f"internal error: {type(e).__name__}: {e}")


class Run:
    """One run on the fast path: what the user asked for, and what the
    steps below find out about it."""

    def __init__(self, cmd: cmdline.JavaCommand, java: str, env: dict[str, str],
                 settings: Settings, cwd: str, io: stdio.Stdio, report: Report) -> None:
        self.cmd, self.java, self.env, self.settings = cmd, java, env, settings
        self.cwd, self.io, self.report = cwd, io, report
        # filled in by _prepare
        self.ready = ""
        self.criu = ""
        self.root = ""
        self.agent = ""
        self.native: str | None = None
        self.screen: display.DisplayPlan | None = None
        self.material: dict = {}
        self.entry: Entry | None = None
        self.stale_runs = 0     # stale entries, never restored, replaced in a row so far


def _fast(run: Run) -> int:
    _prepare(run)
    meta, set_aside, stale = _look_up(run)
    if meta is None and set_aside is None and not stale and run.settings.remote:
        meta, set_aside, stale = _pulled(run)
    if meta is not None and meta.plain:
        if not meta.plain_expired():
            return _plain(run, meta)
        run.entry.release()           # measured again, and replaced (cold/warmup.py)
        verbose(f"the plain verdict on {run.entry.key} is {PLAIN_DAYS} days old: measuring again")
        meta, stale = None, True
    given_up = run.entry.given_up() if meta is None else None
    if given_up:
        # Its checkpoints failed to restore twice in a row, or went stale on
        # every run: java runs it as it is, at no cost, until `jfast cache
        # prune` removes the mark.
        run.io.abandon()
        return _exec_java(run.java, run.cmd.argv, run.env, run.report, "passthrough",
                          f"its checkpoints could not be restored ({given_up}): java runs "
                          "it (jfast cache prune lets jfast try again)")
    if meta is not None:
        code = _restore(run, meta)
    else:
        code = _cold(run, set_aside, replace=stale)
    run.report.exit_status = code
    run.report.write()
    if run.report.exit_signal:
        _die_of(run.report.exit_signal)
    return code


def _prepare(run: Run) -> None:
    """Everything the key and a restore or cold run need: the ready mode,
    criu, the cache, the agent, the display, and the entry the key names."""
    run.ready, chosen_by_file = readyfile.ready_point(run.settings, run.cmd, run.cwd)
    if run.ready == "none":
        raise FastPathUnavailable("JFAST_READY=none")
    run.criu = criu.find()
    if userns.rootless():
        if run.io.foreign_terminal:
            raise FastPathUnavailable("the terminal belongs to another user (as after su)",
                                      "criu cannot restore a terminal it does not own: "
                                      "log in as this user for the fast path")
        blocked = userns.blocked()
        if blocked:
            raise FastPathUnavailable("user namespaces are off", f"{blocked[0]}; {blocked[1]}",
                                      lasting=True)
    run.root = cache.cache_dir(run.settings)
    try:
        cache.ensure_dirs(run.root)
    except OSError as e:
        raise FastPathUnavailable("cache directory unusable", f"{run.root}: {e.strerror}") from e
    from jfast.java import agentfiles
    run.agent = agentfiles.locate("jfast-agent.jar")
    run.native = agentfiles.native_helper(run.java)
    if run.native is None:
        # Without it no restore can be made faithful: no chdir, no C
        # environment, no JDK internals (docs/architecture.md, "Fail closed").
        raise FastPathUnavailable("the agent's native library is missing",
                                  "install gcc and libc6-dev, then reinstall jfast "
                                  "(./setup.sh install)", lasting=True)
    if "," in f"{run.native}{run.agent}":      # the agent's options are comma-separated
        raise FastPathUnavailable("jfast is installed under a path with a comma",
                                  f"{run.agent}: reinstall it elsewhere", lasting=True)
    run.screen = display.resolve(run.env, run.cmd, run.cwd,
                                 os.path.join(run.root, "display-memo.json"), run.settings)
    run.report.display = run.screen.mode
    digests = FileDigests(run.root)
    parts = key.Parts(cmd=run.cmd, java=run.java, criu_id=identity(run.criu),
                      stdio_shape=run.io.shape, env=run.env, cwd=run.cwd,
                      agent_id=agentfiles.agent_identity(digests.digest, run.agent),
                      display=run.screen.key_part(),
                      ready=run.ready if chosen_by_file else None)
    run.material = key.material(parts, digests)
    try:
        digests.save()
    except OSError:
        pass
    run.entry = Entry(run.root, key.key_of(run.material))
    run.report.key = run.entry.key
    run.report.lap("key")


def _look_up(run: Run) -> tuple[Meta | None, FastPathUnavailable | None, bool]:
    """(the entry's manifest if it may be restored, why a damaged entry was
    set aside, whether a stale one is to be replaced)."""
    from jfast.store.admission import SetAside, admit
    try:
        meta = admit(run.entry)       # None: no checkpoint yet
    except SetAside as e:             # damaged or refused: start normally, making a new one
        return None, e, False
    stale = _inputs_changed(meta, run.env) if meta is not None else None
    if stale:
        run.entry.release()           # admit's shared lock: this run checkpoints over it
        verbose(f"checkpoint {run.entry.key} is stale ({stale}): starting afresh")
        run.report.reason = f"checkpoint stale: {stale}"
        runs = run.entry.went_stale(meta, stale)
        if runs is None:              # given up: java runs it (_fast)
            return None, None, False
        run.stale_runs = runs
        return None, None, True
    return meta, None, False


# What a miss may spend asking the registry (JFAST_REMOTE_TIMEOUT): a 50 MiB
# image comes over a LAN in well under a second, and a restore saves one.
REMOTE_BUDGET = 3.0


def _pulled(run: Run) -> tuple[Meta | None, FastPathUnavailable | None, bool]:
    """JFAST_REMOTE: a miss asks the registry for this program's checkpoint,
    within REMOTE_BUDGET, installs it if it checks out (fleet/artifact.py)
    and looks again; any failure is said in the report, and the run goes
    on cold."""
    from jfast.fleet import registry
    from jfast.store.key import program_key
    t0 = time.monotonic()
    try:
        budget = float(run.settings.remote_timeout or REMOTE_BUDGET)
    except ValueError:
        budget = -1.0
    if not budget > 0:
        raise FastPathUnavailable(f"JFAST_REMOTE_TIMEOUT={run.settings.remote_timeout} is not "
                                  "a number of seconds", "unset it, or give e.g. 3")
    why = None
    try:
        remote = registry.Remote(run.settings.remote)
        tag = registry.tag(program_key(run.material), os.uname().machine)
        got = registry.pull(run.root, remote, tag, run.settings.remote_trust,
                            run.settings.remote_unsigned, timeout=budget, deadline=t0 + budget)
        if got is None:
            why = f"{remote.target(tag)} does not exist"
        elif got.key != run.entry.key:
            why = f"{remote.target(tag)} installed as {got.key}, but this run's key is " \
                  f"{run.entry.key}"
    except JfastError as e:          # Refused, RemoteError
        why = str(e)
    run.report.lap("remote")
    if why:
        verbose(f"remote: {why}")
        run.report.reason = f"remote: {why}"
        return None, None, False
    verbose(f"remote: pulled {run.entry.key} in {(time.monotonic() - t0) * 1000:.0f} ms")
    return _look_up(run)


def _plain(run: Run, meta: Meta) -> int:
    """A restore would start this program no sooner than java (cold/warmup.py);
    the next run of this command line sees it at once (store/plainmemo.py)."""
    run.entry.touch()
    run.entry.release()
    plainmemo.remember(run.root, run.cmd.argv, run.env, sys.argv[0], run.entry.key,
                       meta.created + PLAIN_DAYS * 86400)
    run.io.abandon()
    run.report.lap("lookup")
    return _exec_java(run.java, run.cmd.argv, run.env, run.report, "passthrough",
                      f"plain java: {meta.plain}")


def _restore(run: Run, meta: Meta) -> int:
    from jfast.warm.restore import restore
    run.report.lap("lookup")
    verbose(f"restoring {run.entry.key}")
    run.report.ready_point = meta.ready_point
    with runs.registered(run.root, "restored", run.entry.key, run.cmd.argv,
                         run.screen.shown(meta.display)):
        return restore(run.entry, meta, run.criu, run.io, run.env, run.report)


def _cold(run: Run, set_aside: FastPathUnavailable | None, replace: bool,
          ahead: float | None = None) -> int:
    if not cache.writable(run.root):
        raise set_aside or FastPathUnavailable("cache is read-only",
                                               f"{run.root}: no checkpoint can be made")
    from jfast.cold import warmup  # the cold path's modules load only when needed

    criu_version = criu.require_usable(run.criu, os.path.join(run.root, "criu-version"),
                                       identity(run.criu))
    plan = warmup.Start(java=run.java, argv=run.cmd.argv, env=run.env, entry=run.entry,
                        criu=run.criu, criu_version=criu_version,
                        agent_jar=run.agent, native=run.native, ready=run.ready,
                        material=run.material, display=run.screen, replace=replace,
                        stale_runs=run.stale_runs, ahead=ahead)
    verbose(f"no checkpoint {run.entry.key}: starting {run.cmd.target} (ready point: "
            f"{run.ready}, display: {run.screen.mode}, as {run.screen.why})")
    with runs.registered(run.root, "started", run.entry.key, run.cmd.argv, run.screen.shown()):
        code = warmup.ColdRun(plan, run.report, run.io).run()
    if set_aside is not None:
        run.report.outcome = "fallback"
        run.report.reason = "; ".join(filter(None, [str(set_aside), run.report.reason]))
    return code


class NoCheckpoint(JfastError):
    """`jfast checkpoint` made none (exit status 1); the message says why.
    `again`: by a timing another run may well miss."""

    exit_code = 1

    def __init__(self, message: str, again: bool = False) -> None:
        super().__init__(message)
        self.again = again


# `jfast checkpoint` runs the program again when no checkpoint came of a
# matter of timing (a thread frozen inside the native library's write to its
# log: about 1 run in 15 of a busy test), as a user would.
AHEAD_ATTEMPTS = 3


def checkpoint(argv: list[str], timeout: float) -> str:
    """`jfast checkpoint`: run the java command line `argv` in its sandbox,
    as `jfast ARGS` with the caller's stdio would, to its ready point,
    checkpoint it there and stop it, within `timeout` seconds; the key of
    the entry (one already made is kept). NoCheckpoint says why not."""
    attempt = 1
    while True:
        try:
            return _checkpoint_once(argv, timeout)
        except NoCheckpoint as e:
            if not e.again or attempt == AHEAD_ATTEMPTS:
                raise
            verbose(f"no checkpoint ({e}): running it again")
        attempt += 1


def _checkpoint_once(argv: list[str], timeout: float) -> str:
    report = Report()
    env = dict(os.environ)
    settings = Settings(env)
    java = find_java(env, settings)
    if settings.disabled:
        raise NoCheckpoint("JFAST_DISABLE is set: unset it to make a checkpoint")
    cwd = os.getcwd()
    cmd = cmdline.parse(argv, env, cwd)
    report.program = cmd.target
    if not cmd.launchable:
        raise NoCheckpoint(f"java runs this command line as it is: {cmd.passthrough}")
    report.lap("parse")
    io = stdio.prepare()
    try:
        run = Run(cmd, java, env, settings, cwd, io, report)
        _prepare(run)
        meta, set_aside, stale = _look_up(run)
        if meta is not None:
            run.entry.release()
            io.abandon()
            if meta.plain:
                raise NoCheckpoint(f"{run.entry.key} is plain: {meta.plain} (jfast cache "
                                   "remove KEY to measure it again)")
            verbose(f"{run.entry.key} is made already")
            return run.entry.key
        if run.entry.given_up():
            io.abandon()
            raise NoCheckpoint(f"its checkpoints could not be restored ({run.entry.given_up()}): "
                               "jfast cache prune lets jfast try again")
        report.exit_status = _cold(run, set_aside, replace=stale, ahead=timeout)
    except FastPathUnavailable as e:
        io.abandon()
        report.outcome, report.reason = "fallback", str(e)
        raise NoCheckpoint(str(e)) from None
    finally:
        report.write()
    if report.checkpoint != "created":
        why = report.reason or (f"the program ended (status {report.exit_status}) before "
                                "any ready point")
        raise NoCheckpoint(why.removeprefix("no checkpoint: "), again=report.try_again)
    return run.entry.key


def _die_of(sig: int) -> None:
    """End as the program did, killed by `sig`, so that our parent sees the
    wait status it would see for java (a shell then reports 128+N)."""
    import resource
    import signal
    flush()
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))   # no core of jfast itself
        if sig not in (signal.SIGKILL, signal.SIGSTOP):       # these have no handler
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
    except (OSError, ValueError):
        pass                          # then exit with 128+N


# Variables a shell or terminal sets that say where the caller is, not what
# the program is to do: a program that read the whole environment before its
# ready point still restores when only these differ (a REPL in another tmux
# window: TMUX; in another folder: PWD, OLDPWD). One it read by name counts.
SESSION_ENV = frozenset({"PWD", "OLDPWD", "SHLVL", "_", "TMUX", "TMUX_PANE", "STY", "WINDOWID",
                         "TERM_SESSION_ID", "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY",
                         "XDG_SESSION_ID", "COLUMNS", "LINES"})


def _inputs_changed(meta: Meta, env: dict[str, str]) -> str | None:
    """Why a checkpoint must not be restored although its key matches: the
    files or environment variables its program read changed, its working
    directory is gone, or it read or wrote files there and this run is
    elsewhere."""
    recorded = meta.input_env
    if meta.read_whole_env:
        # All of it, but what only says which terminal, session or folder
        # the caller is in (docs/architecture.md, "Fail closed").
        recorded = {k: v for k, v in recorded.items() if k not in SESSION_ENV}
        for name in sorted(set(env) - set(recorded) - SESSION_ENV):
            return f"it read the whole environment before its ready point, without ${name}"
    for name, value in recorded.items():
        if env.get(name) != value:
            return f"it read ${name} before its ready point, and here it is different"
    cwd, files = meta.inputs_cwd, meta.input_files
    if cwd and not os.path.isdir(cwd):
        return f"its working directory {cwd} is gone"
    if cwd and cwd != os.getcwd():
        # perhaps by relative paths, which here would name other files
        under = os.path.join(cwd, "")
        if any(p.startswith(under) for p in files):
            return f"it read files under its working directory {cwd}"
        if any(w["path"].startswith(under) for w in meta.writes + meta.steps):
            return f"it wrote files under its working directory {cwd}"
    from jfast.cold.inputs import changed
    from jfast.sandbox.rewrite import precondition
    return changed(files) or precondition(meta.steps)


def _exec_java(java: str, argv: list[str], env: dict[str, str], report: Report,
               outcome: str, reason: str | None) -> int:
    """Become the real java: the same arguments, environment and fds."""
    report.outcome = outcome
    report.reason = reason
    report.display = None         # java runs it as it is: no display of jfast's
    if outcome == "fallback":
        verbose(f"starting java normally: {reason}")
    report.write()
    flush()
    try:
        os.execve(java, [java, *argv], env)
    except OSError as e:
        warn(f"cannot run {java}: {e.strerror}: check JFAST_JAVA, JAVA_HOME or PATH")
        return 127
