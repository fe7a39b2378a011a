"""A JDK home whose `bin/java` is jfast: how programs that pick java
themselves reach jfast (docs/architecture.md, "The way in").

A shim home mirrors a real JDK home. Every entry is a symbolic link to the
real home's, except `bin/`, a folder of links to the real tools in which
`java` alone links to jfast. A file in it names the real home, so that
jfast, reached through the shim by whatever path (`JAVA_HOME`,
`JAVA_CMD`, `/usr/bin/java`'s alternative, a `java` link on PATH), runs
the real java and never itself. Scripts that test `$JAVA_HOME/bin/java`
with `-x`, read `$JAVA_HOME/release` or use `$JAVA_HOME/bin/javac` find
what they would in the real home.
"""

from __future__ import annotations

import os

MARKER = "jfast-real-home"     # in a shim home: the real JDK home, one line


def real_home(shim: str) -> str | None:
    """The JDK home `shim` stands for, or None when it is no shim."""
    try:
        with open(os.path.join(shim, MARKER)) as f:
            home = f.read().strip()
    except OSError:
        return None
    return home if os.path.isabs(home) else None


def real_java(path: str) -> str | None:
    """The real java behind `path` when the chain of links from it passes
    through a shim home's bin/java; None otherwise. A link or two per run."""
    for _ in range(40):                       # a loop of links ends somewhere
        if os.path.basename(path) == "java":
            home = real_home(os.path.dirname(os.path.dirname(path)))
            if home is not None:
                return os.path.join(home, "bin", "java")
        try:
            target = os.readlink(path)
        except OSError:
            return None
        path = os.path.normpath(os.path.join(os.path.dirname(path), target))
    return None


def make(shim: str, home: str, jfast: str) -> None:
    """Build the shim home for the real JDK `home` at `shim` (replacing one
    there), with bin/java linked to the program `jfast`. Built beside it
    and renamed into place, so a program starting meanwhile finds the old
    shim or the new one."""
    from jfast.linux.fs import fresh_name, remove_tree

    parent = os.path.dirname(shim)
    os.makedirs(parent, exist_ok=True)
    new = os.path.join(parent, fresh_name(f".{os.path.basename(shim)}."))
    os.mkdir(new, 0o755)
    try:
        for name in sorted(os.listdir(home)):
            if name != "bin":
                os.symlink(os.path.join(home, name), os.path.join(new, name))
        os.mkdir(os.path.join(new, "bin"), 0o755)
        for tool in sorted(os.listdir(os.path.join(home, "bin"))):
            target = jfast if tool == "java" else os.path.join(home, "bin", tool)
            os.symlink(target, os.path.join(new, "bin", tool))
        with open(os.path.join(new, MARKER), "w") as f:
            f.write(home + "\n")
        if os.path.lexists(shim):
            if real_home(shim) is None:
                raise FileExistsError(f"{shim} is there and is no jfast shim: move it away")
            remove_tree(shim)
        os.rename(new, shim)
    except BaseException:
        remove_tree(new)
        raise


def remove(shim: str) -> bool:
    """Remove the shim home at `shim`; False when there is none (or what is
    there is no shim, which stays)."""
    from jfast.linux.fs import remove_tree

    if real_home(shim) is None:
        return False
    remove_tree(shim)
    return True
