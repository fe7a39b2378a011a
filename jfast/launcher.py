"""`jfast ARGS...` == `java ARGS...`: restore a checkpoint when there is one,
else start the program (making a checkpoint), else start java as it is.

Whatever fails on the fast path, the program still runs: jfast then execs
the real java with the user's arguments unchanged, after writing the run
report with the reason.
"""

from __future__ import annotations

import os
import sys

from . import cache, criu, display, javacli, notice, runs, stdio, userns
from .errors import FastPathUnavailable, JfastError
from .javabin import find_java
from .log import verbose, warn
from .ready import ready_mode
from .report import Report


def main(argv: list[str]) -> int:
    report = Report()
    env = dict(os.environ)
    try:
        java = find_java(env)
    except JfastError as e:
        warn(str(e))
        return e.exit_code
    if env.get("JFAST_DISABLE", "") not in ("", "0"):
        return _exec_java(java, argv, env, report, "passthrough", "JFAST_DISABLE is set")
    cwd = os.getcwd()
    try:
        cmd = javacli.parse(argv, env, cwd)
    except javacli.ArgfileError as e:
        return _exec_java(java, argv, env, report, "passthrough", str(e))
    report.program = cmd.target
    if not cmd.launchable:
        return _exec_java(java, argv, env, report, "passthrough", cmd.passthrough)
    report.lap("parse")
    io = None
    try:
        io = stdio.prepare()
        return _fast(cmd, java, env, cwd, io, report)
    except FastPathUnavailable as e:
        if io is not None:
            io.abandon()
        if e.lasting and userns.rootless():
            notice.once(str(e))
        return _exec_java(java, argv, env, report, "fallback", str(e))
    except Exception as e:
        if report.outcome in ("started", "restored"):
            raise                     # the program ran: never start it twice
        # A bug on the fast path must not cost the user's run.
        import traceback
        verbose(traceback.format_exc())
        if io is not None:
            io.abandon()
        return _exec_java(java, argv, env, report, "fallback",
                          f"internal error: {type(e).__name__}: {e}")


def _fast(cmd: javacli.JavaCommand, java: str, env: dict[str, str], cwd: str,
          io: stdio.Stdio, report: Report) -> int:
    ready = ready_mode(env)
    if ready == "none":
        raise FastPathUnavailable("JFAST_READY=none")
    criu_path = criu.find()
    if userns.rootless():
        blocked = userns.blocked()
        if blocked:
            raise FastPathUnavailable("user namespaces are off", f"{blocked[0]}; {blocked[1]}",
                                      lasting=True)
    root = cache.cache_dir()
    try:
        cache.ensure_dirs(root)
    except OSError as e:
        raise FastPathUnavailable("cache directory unusable", f"{root}: {e.strerror}") from e
    digests = cache.FileDigests(root)
    from . import jars
    agent = str(jars.locate("jfast-agent.jar"))
    native = jars.native_helper(java)
    if native is None:
        # Without it no restore can be made faithful: no chdir, no C
        # environment, no JDK internals (docs/architecture.md, "Fail closed").
        raise FastPathUnavailable("the agent's native helper is missing",
                                  "install gcc and libc6-dev, then reinstall jfast "
                                  "(./setup.sh install)", lasting=True)
    if "," in f"{native}{agent}":        # the agent's options are comma-separated
        raise FastPathUnavailable("jfast is installed under a path with a comma",
                                  f"{agent}: reinstall it elsewhere", lasting=True)
    agent_id = jars.agent_identity(digests.digest, agent)
    criu_id = cache.identity(criu_path)
    material = cache.key_material(cmd, java, criu_id, io.shape, digests, env, cwd, agent_id)
    screen = display.resolve(env, cmd, cwd, str(root / "display-memo.json"))
    report.display = screen.mode
    material["display"] = screen.key_part()
    try:
        digests.save()
    except OSError:
        pass
    entry = cache.Entry(root, cache.key_of(material))
    report.key = entry.key
    report.lap("key")
    from .admission import SetAside, admit
    set_aside = None
    try:
        meta = admit(entry)           # None: no checkpoint yet
    except SetAside as e:             # damaged or refused: start normally, making a new one
        meta, set_aside = None, e
    stale = _stale(meta) if meta is not None else None
    if stale:
        entry.release()               # admit's shared lock: this run checkpoints over it
        verbose(f"checkpoint {entry.key} is stale ({stale}): starting afresh")
        report.reason = f"checkpoint stale: {stale}"
    if meta is not None and not stale and meta.get("plain"):
        # A restore would start this program no sooner than java (warmup.py).
        entry.touch()
        entry.release()
        io.abandon()
        report.lap("lookup")
        return _exec_java(java, cmd.argv, env, report, "passthrough", f"plain java: {meta['plain']}")
    if meta is not None and not stale:
        from .restore import restore
        report.lap("lookup")
        verbose(f"restoring {entry.key}")
        report.ready_point = meta.get("ready_point")
        with runs.registered(root, "restored", entry.key, cmd.argv, screen.shown(meta)):
            code = restore(entry, meta, criu_path, io, env, report)
    else:
        if not cache.writable(root):
            raise set_aside or FastPathUnavailable("cache is read-only",
                                                   f"{root}: no checkpoint can be made")
        from . import warmup  # the cold path's modules load only when needed

        plan = warmup.Plan(java=java, argv=cmd.argv, env=env, entry=entry, criu=criu_path,
                           criu_version=criu.require_usable(
                               criu_path, root / "criu-version", criu_id), agent_jar=agent,
                           native=native,
                           ready=ready, material=material, display=screen,
                           replace=bool(stale))
        verbose(f"no checkpoint {entry.key}: starting {cmd.target} (ready point: {ready}, "
                f"display: {screen.mode}, as {screen.why})")
        with runs.registered(root, "started", entry.key, cmd.argv, screen.shown()):
            code = warmup.ColdRun(plan, report, io).run()
        if set_aside is not None:
            report.outcome = "fallback"
            report.reason = "; ".join(filter(None, [str(set_aside), report.reason]))
    report.exit_status = code
    report.write()
    if report.exit_signal:
        _die_of(report.exit_signal)
    return code


def _die_of(sig: int) -> None:
    """End as the program did, killed by `sig`, so that our parent sees the
    wait status it would see for java (a shell then reports 128+N)."""
    import resource
    import signal
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))   # no core of jfast itself
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
    except (OSError, ValueError):
        pass                          # then exit with 128+N


def _stale(meta: dict) -> str | None:
    """Why a checkpoint must not be restored although its key matches: the
    files its program read changed, or its working directory is gone."""
    recorded = meta.get("inputs") or {}
    cwd = recorded.get("cwd")
    files = recorded.get("files") or {}
    if cwd and not os.path.isdir(cwd):
        return f"its working directory {cwd} is gone"
    if cwd and cwd != os.getcwd() and any(p.startswith(os.path.join(cwd, "")) for p in files):
        # perhaps by relative paths, which here would name other files
        return f"it read files under its working directory {cwd}"
    from .inputs import changed
    return changed(files)


def _exec_java(java: str, argv: list[str], env: dict[str, str], report: Report,
               outcome: str, reason: str | None) -> int:
    """Become the real java: the same arguments, environment and fds."""
    report.outcome = outcome
    report.reason = reason
    if outcome == "fallback":
        verbose(f"starting java normally: {reason}")
    report.write()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(java, [java, *argv], env)
    except OSError as e:
        warn(f"cannot run {java}: {e.strerror}: check JFAST_JAVA, JAVA_HOME or PATH")
        return 127
