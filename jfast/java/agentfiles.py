"""The agent and demo jars: found in the installed package, or built from a
checkout's sources with javac when they are missing or older than them.

The package build (setup.py) calls `build()` so an installed jfast carries
both jars; `bin/jfast` in a checkout builds them on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

from jfast.errors import FastPathUnavailable, JfastError

PACKAGE = Path(__file__).resolve().parent.parent      # the jfast package
DATA = PACKAGE / "data"
CHECKOUT = PACKAGE.parent
AGENT_SOURCES = CHECKOUT / "java-agent"
NATIVE_SOURCE = AGENT_SOURCES / "native" / "jfast_native.c"
PATCH_SOURCES = AGENT_SOURCES / "jdk"
NATIVE = "libjfast.so"
DEMO_SOURCES = PACKAGE / "demo"
JAVAC_FLAGS = ["--release", "11", "-XDstringConcat=inline", "-nowarn"]


def _sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.java")) if root.is_dir() else []


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths), default=0.0)


def _jar_tool(javac: str) -> str:
    jar = Path(javac).resolve().with_name("jar")
    return str(jar) if jar.exists() else "jar"


def build(out_dir: Path, javac: str | None = None) -> None:
    """Compile the agent (with the API) and the demo into `out_dir`."""
    import shutil  # a build is rare: these load only for it
    import subprocess
    import tempfile

    javac = javac or shutil.which("javac")
    if not javac:
        raise JfastError("javac not found: install a JDK (e.g. openjdk-17-jdk-headless)")
    out_dir.mkdir(parents=True, exist_ok=True)
    agent_src = _sources(AGENT_SOURCES / "src")
    with tempfile.TemporaryDirectory() as tmp:
        classes = Path(tmp) / "agent"
        subprocess.run([javac, *JAVAC_FLAGS, "-d", str(classes), *map(str, agent_src)], check=True)
        _patch_classes(javac, Path(tmp) / "patch", classes / "dev" / "jfast" / "agent")
        # The helper before the jar: a newer jar tells `locate` all is built.
        _native(javac, out_dir / NATIVE)
        _jar(javac, out_dir / "jfast-agent.jar", classes, AGENT_SOURCES / "MANIFEST.MF")
        demo_src = _sources(DEMO_SOURCES)
        if not demo_src:
            return
        demo = Path(tmp) / "demo"
        subprocess.run([javac, *JAVAC_FLAGS, "-d", str(demo), "-cp", str(classes),
                        *map(str, demo_src)], check=True)
        # The demo carries the API class it calls, like a real program would.
        shutil.copytree(classes / "dev" / "jfast", demo / "dev" / "jfast",
                        ignore=shutil.ignore_patterns("agent"), dirs_exist_ok=True)
        _jar(javac, out_dir / "jfast-demo.jar", demo, None)


def _patch_classes(javac: str, out: Path, resources: Path) -> None:
    """Classes the agent defines into JDK modules at run time (java-agent/jdk,
    one folder a module's packages): compiled as part of that module, for
    Java 11 (--release does not mix with --patch-module), and kept in the
    agent jar as resources NAME.bin, where no class loader looks for classes."""
    import subprocess

    for src in _sources(PATCH_SOURCES):
        package = src.parent.relative_to(PATCH_SOURCES)
        module = {"sun/management": "java.management"}[package.as_posix()]
        subprocess.run([javac, "-source", "11", "-target", "11", "-nowarn", "-Xlint:-options",
                        "--patch-module", f"{module}={PATCH_SOURCES}", "-d", str(out), str(src)],
                       check=True)
        (out / package / f"{src.stem}.class").replace(resources / f"{src.stem}.bin")


def _jar(javac: str, target: Path, classes: Path, manifest: Path | None) -> None:
    tmp = target.with_suffix(".tmp")
    import subprocess

    argv = [_jar_tool(javac), "--create", "--file", str(tmp)]
    if manifest:
        argv += ["--manifest", str(manifest)]
    subprocess.run([*argv, "-C", str(classes), "."], check=True)
    os.replace(tmp, target)


def _native(javac: str, target: Path) -> None:
    """The agent's JNI helper (chdir, C environment). Without a C compiler
    there is none, and jfast keeps the working directory in the key."""
    import shutil
    import subprocess

    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc or not NATIVE_SOURCE.exists():
        return
    include = Path(javac).resolve().parent.parent / "include"
    tmp = target.with_suffix(".tmp")
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(tmp), f"-I{include}",
                    f"-I{include / 'linux'}", str(NATIVE_SOURCE)], check=True)
    os.replace(tmp, target)


def native_helper(java: str | None = None) -> Path | None:
    """The built JNI helper next to the agent jar, or None; with `java`,
    only if that JVM can load it (a 32-bit JVM, say, could not, and with
    -agentpath it would refuse to start)."""
    path = DATA / NATIVE
    if not path.exists():
        return None
    if java is not None and _elf_kind(path) != _elf_kind(os.path.realpath(java)):
        return None
    return path


def _elf_kind(path: Path | str) -> bytes:
    """ELF class, byte order and machine: what must match to load a library."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return b""
    return head[4:6] + head[18:20] if head[:4] == b"\x7fELF" else b""


def agent_identity(digest, agent: Path) -> str:
    """The agent's part of the cache key: its jar's digest and its JNI
    helper's (`digest` maps a path to a content digest)."""
    return "+".join(digest(str(p)) for p in (agent, native_helper()) if p)


def locate(name: str) -> Path:
    """Path of `jfast-agent.jar` or `jfast-demo.jar`, building it in a checkout."""
    jar = DATA / name
    sources = _sources(AGENT_SOURCES) + _sources(DEMO_SOURCES)
    sources += [NATIVE_SOURCE] if NATIVE_SOURCE.exists() else []
    try:
        if sources and (not jar.exists() or jar.stat().st_mtime < _newest(sources)):
            build(DATA)
    except Exception as e:  # noqa: BLE001 - OSError, RuntimeError, CalledProcessError
        raise FastPathUnavailable(f"cannot build {name}", str(e)) from e
    if not jar.exists():
        raise FastPathUnavailable(f"{name} is missing", "reinstall jfast")
    return jar
