"""The command line: `jfast [java arguments]`, plus jfast's own subcommands.

Invoked as `java` (a symlink), every argument belongs to java. Invoked as
`jfast`, a first argument naming a subcommand runs it; anything else is a
java command line.

    jfast demo                    the bundled demo: java, first run, restores
    jfast cache list|info|prune|clear
                                  the checkpoint cache (jfast cache --help)
"""

from __future__ import annotations

import os
import sys

SUBCOMMANDS = ("demo", "cache", "doctor", "ps", "screenshot")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    invoked_as = os.path.basename(sys.argv[0])
    if invoked_as != "java" and argv and argv[0] in SUBCOMMANDS:
        return _subcommand(argv[0], argv[1:])
    if invoked_as != "java" and argv == ["--jfast-help"]:
        print(__doc__.strip())
        return 0
    from jfast.launcher import main as launch
    return launch(argv)


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
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)          # and let Python say what went wrong
        os._exit(code)
    sys.exit(code)


def _subcommand(name: str, args: list[str]) -> int:
    from jfast.errors import JfastError
    try:
        if name == "cache":
            from jfast.commands.cache import main as cache_command
            return cache_command(args)
        if name == "doctor":
            from jfast.commands.doctor import main as doctor
            return doctor(args)
        if name in ("ps", "screenshot"):
            from jfast.commands.ps import ps_main, screenshot_main
            return (ps_main if name == "ps" else screenshot_main)(args)
        from jfast.commands.demo import main as demo
        return demo(args)
    except JfastError as e:
        print(f"jfast {name}: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    run()
