"""The command line: `jfast [java arguments]`, plus jfast's own subcommands
(jfast/commands/, one module each). This is the edge where a subcommand's
JfastError becomes its one-line message and exit status.

Invoked as `java` (a symlink), every argument belongs to java. Invoked as
`jfast`, a first argument naming a subcommand runs it; anything else is a
java command line.
"""

from __future__ import annotations

import os
import sys

# name: the module in jfast/commands that runs it, and what it is for
SUBCOMMANDS = {
    "demo": ("demo", "the bundled demo: java, a first run, then restores, timed side by side"),
    "cache": ("cache", "the checkpoint cache: list, info, remove, prune, clear, export, "
                       "import, push, pull (jfast cache --help)"),
    "doctor": ("doctor", "can this machine restore Java programs, on this java? "
                         "[--java PATH] [--json]"),
    "checkpoint": ("checkpoint", "run a java command line to its ready point, checkpoint it "
                                 "and print the key [--ready P] [--timeout S] [--terminal] "
                                 "-- JAVA-ARGS"),
    "ps": ("ps", "the programs jfast runs now, with their sandbox and display"),
    "screenshot": ("screenshot", "a PNG of a virtual-display program's screen [PID] [-o FILE]"),
    "install": ("install", "every JVM program of this user reaches jfast [--machine: all users]"),
    "uninstall": ("uninstall", "undo `jfast install` [--machine]"),
}


def usage() -> str:
    """--jfast-help, from the table above."""
    lines = ["usage: jfast [java options] (-jar JAR | CLASS | -m MODULE | SOURCE) [args...]",
             "       jfast COMMAND [args...]", "", "commands:"]
    lines += [f"  {name:<12}{summary}" for name, (_, summary) in SUBCOMMANDS.items()]
    lines += ["", "jfast's settings are JFAST_* environment variables: see the README."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    invoked_as = os.path.basename(sys.argv[0])
    if invoked_as != "java" and argv and argv[0] in SUBCOMMANDS:
        return _subcommand(argv[0], argv[1:])
    if invoked_as != "java" and argv == ["--jfast-help"]:
        print(usage())
        return 0
    java = _java_at_once(argv)
    if java is not None:
        os.execv(java, [java, *argv])
    from jfast.launcher import main as launch
    return launch(argv)


def _java_at_once(argv: list[str]) -> str | None:
    """The real java, when this run is java's with nothing to find out:
    JFAST_DISABLE, or a command line remembered as plain (store/
    plainmemo.py); None (the launcher's long way) when anything is in
    doubt, or a report or explanations are asked for."""
    from jfast.errors import JfastError
    from jfast.java.jdk import find_java
    from jfast.settings import Settings
    from jfast.store import cache, plainmemo

    env = dict(os.environ)
    settings = Settings(env)
    if settings.report or settings.verbose or not (
            settings.disabled or plainmemo.plain(cache.cache_dir(settings), argv, env,
                                                 sys.argv[0])):
        return None
    try:
        return find_java(env, settings)
    except JfastError:
        return None                     # the launcher says why


def run() -> None:
    """jfast as a program (bin/jfast, the console script): main, then an exit
    that skips the interpreter's teardown, 7-10 ms of freeing objects at the
    end of every run, when no thread is left with work to finish and no
    profiler or coverage tool waits to write its results at exit."""
    code = main() or 0
    threading = sys.modules.get("threading")
    if sys.getprofile() is None and sys.gettrace() is None and (
            threading is None or all(t.daemon or t is threading.main_thread()
                                     for t in threading.enumerate())):
        from jfast.log import flush
        if not flush():
            sys.exit(code)          # and let Python say what went wrong
        os._exit(code)
    sys.exit(code)


def _subcommand(name: str, args: list[str]) -> int:
    import importlib

    from jfast.errors import JfastError
    try:
        module = importlib.import_module(f"jfast.commands.{SUBCOMMANDS[name][0]}")
        return module.main(args)
    except JfastError as e:
        print(f"jfast {name}: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    run()
