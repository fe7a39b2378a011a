"""`jfast install`: every JVM program of this user (or, with --machine, of
the machine) reaches jfast, however its launch script picks java
(commands/wayin.py). `jfast uninstall` undoes it.

    jfast install [--machine] [--java PATH]
    jfast uninstall [--machine]
"""

from __future__ import annotations

import argparse

from jfast.commands import wayin
from jfast.errors import UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:          # exit 2 through our own path
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parse(name: str, args: list[str]) -> argparse.Namespace:
    p = _Parser(prog=f"jfast {name}", description=(
        "Make every JVM program reach jfast: `java` on PATH, JAVA_HOME, JRE_HOME, JAVA_CMD "
        "(Debian's java-wrappers) and JAVACMD (Ant, Maven) name jfast's shim of the real JDK; "
        "with --machine also /usr/bin/java." if name == "install" else
        "Undo `jfast install` (the same scope)."))
    p.add_argument("--machine", action="store_true",
                   help="the whole machine (root), not only this user's programs")
    if name == "install":
        p.add_argument("--java", metavar="PATH",
                       help="the real java to stand for (default: the one jfast runs)")
    return p.parse_args(args)


def main(args: list[str]) -> int:
    opts = _parse("install", args)
    scope = wayin.Scope(machine=opts.machine)
    for line in wayin.install(scope, opts.java):
        print(f"jfast install: {line}")
    profile = scope.profile
    print(f"jfast install: done for {scope.name}. New logins get it; in this shell: "
          f". {profile}\njfast install: undo: jfast uninstall{' --machine' if opts.machine else ''}")
    return 0


def main_uninstall(args: list[str]) -> int:
    opts = _parse("uninstall", args)
    scope = wayin.Scope(machine=opts.machine)
    done = wayin.uninstall(scope)
    for line in done:
        print(f"jfast uninstall: {line}")
    if not done:
        print(f"jfast uninstall: nothing to undo for {scope.name}")
    return 0
