"""The agent's files: its jar, its native library and the demo jar, found
in the installed package, or built from a checkout's sources (java/
agentbuild.py) when they are missing or older than them. On every run's
way: paths are strings (pathlib costs a restore 4-5 ms to import).
"""

from __future__ import annotations

import os

from jfast.errors import FastPathUnavailable

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the jfast package
DATA = os.path.join(PACKAGE, "data")
CHECKOUT = os.path.dirname(PACKAGE)
AGENT_SOURCES = os.path.join(CHECKOUT, "java-agent")
DEMO_SOURCES = os.path.join(PACKAGE, "demo")
NATIVE = "libjfast.so"


def native_helper(java: str | None = None) -> str | None:
    """The built native library next to the agent jar, or None; with `java`,
    only if that JVM can load it (a 32-bit JVM, say, could not, and with
    -agentpath it would refuse to start)."""
    path = os.path.join(DATA, NATIVE)
    if not os.path.exists(path):
        return None
    if java is not None and _elf_kind(path) != _elf_kind(os.path.realpath(java)):
        return None
    return path


def _elf_kind(path: str) -> bytes:
    """ELF class, byte order and machine: what must match to load a library."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return b""
    return head[4:6] + head[18:20] if head[:4] == b"\x7fELF" else b""


def agent_identity(digest, agent: str) -> str:
    """The agent's part of the cache key: its jar's digest and its native
    library's (`digest` maps a path to a content digest)."""
    return "+".join(digest(str(p)) for p in (agent, native_helper()) if p)


def newest_source() -> float:
    """The mtime of the newest source in a checkout (0 in an installed jfast)."""
    newest = 0.0
    for top in (AGENT_SOURCES, DEMO_SOURCES):
        for folder, _, files in os.walk(top):
            for name in files:
                if name.endswith((".java", ".c", ".h")):
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
    return newest


def locate(name: str) -> str:
    """The path of `jfast-agent.jar` or `jfast-demo.jar`, building it in a checkout."""
    jar = os.path.join(DATA, name)
    try:
        newest = newest_source()
        if newest and (not os.path.exists(jar) or os.stat(jar).st_mtime < newest):
            from jfast.java import agentbuild
            agentbuild.build(DATA)
    except Exception as e:  # noqa: BLE001 - OSError, JfastError, CalledProcessError
        raise FastPathUnavailable(f"cannot build {name}", str(e)) from e
    if not os.path.exists(jar):
        raise FastPathUnavailable(f"{name} is missing", "reinstall jfast")
    return jar
