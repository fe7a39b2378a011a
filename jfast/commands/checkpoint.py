"""`jfast checkpoint`: make a program's checkpoint ahead of time, for build
pipelines and images (docs/fleet.md).

    jfast checkpoint [--ready POINT] [--timeout S] [--terminal] -- JAVA-ARGS...

The program runs in its sandbox, as `jfast JAVA-ARGS...` would run it, with
no one attached: stdin is /dev/null (with --terminal, all of fds 0-2 are a
terminal of its own, for a program that a user runs at a terminal). At its
ready point it is checkpointed and stopped, and the key is printed. The
entry is the one a later `jfast JAVA-ARGS...` finds when it runs with the
same stdio shape (a terminal, or not; stdout and stderr one file or two),
the same JFAST_READY (which --ready sets) and the same display. Under
`auto` a checkpoint at main is not made ahead of time: it needs the class
list of an earlier run (--ready main makes one without it).
"""

from __future__ import annotations

import argparse
import os
import sys

from jfast.errors import UsageError
from jfast.java.protocol import READY_MODES, checked

DEFAULT_TIMEOUT = 300.0


def main(args: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="jfast checkpoint", description="Run a java command line to its ready point, "
        "checkpoint it there, stop it, and print the key.")
    ap.add_argument("--ready", metavar="POINT",
                    help=f"the ready point, as JFAST_READY takes it: {', '.join(READY_MODES)}")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                    help=f"give up when no ready point comes in S seconds "
                         f"(default {DEFAULT_TIMEOUT:g})")
    ap.add_argument("--terminal", action="store_true",
                    help="fds 0-2 are a terminal of the program's own: for runs at a terminal")
    ap.add_argument("java_args", nargs=argparse.REMAINDER, metavar="-- JAVA-ARGS")
    opts = ap.parse_args(args)
    argv = opts.java_args[1:] if opts.java_args[:1] == ["--"] else opts.java_args
    if not argv:
        raise UsageError("no java command line: jfast checkpoint [options] -- JAVA-ARGS...")
    if opts.timeout <= 0:
        raise UsageError("--timeout must be a number of seconds above 0")
    if opts.ready is not None:
        os.environ["JFAST_READY"] = checked(opts.ready, "--ready")
    if opts.terminal:
        return _on_own_terminal(argv, opts.timeout)
    return _checkpoint(argv, opts.timeout)


def _checkpoint(argv: list[str], timeout: float, stdin_null: bool = True) -> int:
    from jfast.launcher import checkpoint
    from jfast.sandbox import replay
    from jfast.store import cache
    from jfast.store.entry import Entry

    if stdin_null:
        null = os.open(os.devnull, os.O_RDONLY)    # no one types to it
        os.dup2(null, 0)
        os.close(null)
    key = checkpoint(argv, timeout)
    # on a line of its own, after what the program printed (a prompt, say)
    ends_line = replay.ends_line(Entry(cache.cache_dir(), key).output)
    print(("" if ends_line else "\n") + key, flush=True)
    return 0


def _on_own_terminal(argv: list[str], timeout: float) -> int:
    """The checkpoint made in a child whose controlling terminal is a new
    pseudo-terminal on fds 0-2; what the program prints there, and the key,
    are copied to stdout."""
    import pty

    from jfast.errors import JfastError

    pid, master = pty.fork()
    if pid == 0:
        code = 1
        try:
            code = _checkpoint(argv, timeout, stdin_null=False)
        except JfastError as e:
            print(f"jfast checkpoint: {e}", file=sys.stderr)
            code = e.exit_code
        except Exception:  # noqa: BLE001 - said here: the child ends below
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:                      # EIO: the child's side is closed
            break
        if not chunk:
            break
        os.write(1, chunk)
    os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
