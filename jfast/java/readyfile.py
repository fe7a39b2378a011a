"""The user's ready-points file: where jfast checkpoints each program, so
that a tool run every day gets a late ready point without a change to its
code or its launch script (README, "When a program is ready"). One program
a line:

    # a comment; blank lines are skipped too
    <program>  <ready point>

<program> is the main class (`java CLASS`, `java -m MODULE/CLASS`, or the
`Main-Class` of `java -jar JAR`) or the jar's file name (`plantuml.jar`);
<ready point> is any value of JFAST_READY, most usefully call:CLASS.METHOD.
JFAST_READY, when set, wins over the file. The file is
$XDG_CONFIG_HOME/jfast/ready-points, else ~/.config/jfast/ready-points
(settings.py says where).
"""

from __future__ import annotations

import os

from jfast.errors import FastPathUnavailable
from jfast.java import jarfile
from jfast.java.cmdline import JavaCommand
from jfast.java.protocol import checked
from jfast.log import warn
from jfast.settings import Settings


def names(cmd: JavaCommand, cwd: str) -> list[str]:
    """The names a line of the file may give the program `cmd` launches."""
    if cmd.mode == "jar":
        main = jarfile.main_class(os.path.join(cwd, cmd.target))
        return [n for n in (main, os.path.basename(cmd.target)) if n]
    if cmd.mode == "module":
        return [cmd.target.partition("/")[2] or cmd.target]
    if cmd.mode == "source":
        return [os.path.basename(cmd.target)]
    return [cmd.target]


def entries(path: str) -> dict[str, tuple[str, int]]:
    """Each program the file at `path` lists (the first line for it wins):
    its point and line number; {} when there is no file. A line that is
    not `<program> <point>` is an error naming the fix."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    found: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2:
            raise FastPathUnavailable(f"{path} line {number} is not `<program> <ready point>`",
                                      "write one program and its point a line, or a "
                                      "comment after #")
        found.setdefault(words[0], (words[1], number))
    return found


def ready_point(settings: Settings, cmd: JavaCommand, cwd: str) -> tuple[str, bool]:
    """This run's ready mode, checked, and whether the file chose it:
    JFAST_READY when set, else the file's line for the program, else auto.
    A mistake in either is said on stderr, and java runs the program."""
    try:
        return _ready_point(settings, cmd, cwd)
    except FastPathUnavailable as e:
        warn(str(e))
        raise


def _ready_point(settings: Settings, cmd: JavaCommand, cwd: str) -> tuple[str, bool]:
    if settings.ready:
        return checked(settings.ready, "JFAST_READY"), False
    path = settings.ready_points
    listed = entries(path) if path else {}
    for name in names(cmd, cwd) if listed else []:    # a jar's manifest only if needed
        if name in listed:
            point, number = listed[name]
            return checked(point, f"{path} line {number}"), True
    return "auto", False
