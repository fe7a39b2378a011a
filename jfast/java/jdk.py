"""Finding the real java: $JFAST_JAVA, else the one behind a shim home
(java/shim.py), else $JAVA_HOME/bin/java, else PATH, never jfast itself
(jfast is often installed as a `java` symlink)."""

from __future__ import annotations

import os
import sys

from jfast.errors import JfastError
from jfast.java import shim
from jfast.settings import Settings


def is_jfast(path: str) -> bool:
    real = os.path.realpath(path)
    if real == os.path.realpath(sys.argv[0]):
        return True
    try:
        with open(real, "rb") as f:
            head = f.read(1024)
    except OSError:
        return False
    # A Python launcher script (bin/jfast or a console-script wrapper).
    return head.startswith(b"#!") and b"jfast" in head


def _usable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK) and not is_jfast(path)


def _is_java(path: str) -> bool:
    """A JDK's or JRE's bin/java: named java, in a home with a `release` file
    or the runtime's modules (not, say, /bin/echo, which would print jfast's
    own JVM options)."""
    real = os.path.realpath(path)
    home = java_home(real)
    return os.path.basename(real) == "java" and (
        os.path.isfile(os.path.join(home, "release"))
        or os.path.isfile(os.path.join(home, "lib", "modules")))


def find_java(env: dict[str, str], settings: Settings | None = None,
              invoked: str | None = None) -> str:
    """The real java for this environment (`settings` default to its own):
    $JFAST_JAVA; else the one behind the shim home jfast was `invoked`
    through (java/shim.py; default: how this process was started); else
    $JAVA_HOME's; else the first on PATH. A shim stands for its real java,
    and jfast itself is skipped."""
    explicit = (settings or Settings(env)).java
    if explicit:
        if not (_usable(explicit) and _is_java(explicit)):
            raise JfastError(f"JFAST_JAVA={explicit} is not a java executable: point it at "
                             "a JDK's bin/java", 127)
        return explicit
    behind = shim.real_java(sys.argv[0] if invoked is None else invoked)
    if behind and _usable(behind):
        return behind
    candidates = []
    if env.get("JAVA_HOME"):
        candidates.append(os.path.join(env["JAVA_HOME"], "bin", "java"))
    for folder in env.get("PATH", os.defpath).split(os.pathsep):
        candidates.append(os.path.join(folder or ".", "java"))
    for path in candidates:
        real = shim.real_java(path) or path
        if _usable(real):
            return real
    raise JfastError("no java found on PATH (other than jfast itself): install a JDK "
                     "or set JFAST_JAVA", 127)


def java_home(java: str) -> str:
    """The JDK (or JRE) folder a java binary belongs to: bin/java's grandparent."""
    return os.path.dirname(os.path.dirname(os.path.realpath(java)))


def jdk_release(java: str) -> dict[str, str]:
    """The JDK's own description of itself (its `release` file): JAVA_VERSION,
    IMPLEMENTOR and the home directory, for `jfast cache info`."""
    home = java_home(java)
    out = {"home": home}
    try:
        with open(os.path.join(home, "release")) as f:
            for line in f:
                name, _, value = line.strip().partition("=")
                if name in ("JAVA_VERSION", "JAVA_RUNTIME_VERSION", "IMPLEMENTOR"):
                    out[name.lower()] = value.strip('"')
    except OSError:
        pass
    return out


def feature_version(java: str) -> int | None:
    """The JDK's feature release (8, 11, 17, 21...), from its `release` file."""
    parts = jdk_release(java).get("java_version", "").split(".")
    if parts[0] == "1" and len(parts) > 1:     # 1.8.0_402 is 8
        parts = parts[1:]
    head = parts[0].split("-")[0].split("+")[0]
    return int(head) if head.isdigit() else None
