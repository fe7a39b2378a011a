"""Building the agent and demo jars and the agent's native library with
javac and cc: the package build (setup.py) does it, and a checkout's first
run when the sources are newer (java/agentfiles.py)."""

from __future__ import annotations

import os
from pathlib import Path

from jfast.errors import JfastError
from jfast.java.agentfiles import AGENT_SOURCES, DEMO_SOURCES, NATIVE

NATIVE_SOURCES = Path(AGENT_SOURCES) / "native"
PATCH_SOURCES = Path(AGENT_SOURCES) / "jdk"
JAVAC_FLAGS = ["--release", "11", "-XDstringConcat=inline", "-nowarn"]


def _sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.java")) if root.is_dir() else []


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths), default=0.0)


def _jar_tool(javac: str) -> str:
    jar = Path(javac).resolve().with_name("jar")
    return str(jar) if jar.exists() else "jar"


def build(out_dir: Path | str, javac: str | None = None) -> None:
    """Compile the agent (with the API) and the demo into `out_dir`."""
    out_dir = Path(out_dir)
    import shutil  # a build is rare: these load only for it
    import subprocess
    import tempfile

    javac = javac or shutil.which("javac")
    if not javac:
        raise JfastError("javac not found: install a JDK (e.g. openjdk-17-jdk-headless)")
    out_dir.mkdir(parents=True, exist_ok=True)
    agent_src = _sources(Path(AGENT_SOURCES) / "src")
    with tempfile.TemporaryDirectory() as tmp:
        classes = Path(tmp) / "agent"
        subprocess.run([javac, *JAVAC_FLAGS, "-d", str(classes), *map(str, agent_src)], check=True)
        _patch_classes(javac, Path(tmp) / "patch", classes / "dev" / "jfast" / "agent")
        # The helper before the jar: a newer jar tells `locate` all is built.
        _native(javac, out_dir / NATIVE)
        _jar(javac, out_dir / "jfast-agent.jar", classes, Path(AGENT_SOURCES) / "MANIFEST.MF")
        demo_src = _sources(Path(DEMO_SOURCES))
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
    """The agent's native library, from every C file in java-agent/native.
    Without a C compiler there is none, and no fast path (doctor says so)."""
    import shutil
    import subprocess

    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    sources = sorted(NATIVE_SOURCES.glob("*.c"))
    if not cc or not sources:
        return
    include = Path(javac).resolve().parent.parent / "include"
    tmp = target.with_suffix(".tmp")
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(tmp), f"-I{include}",
                    f"-I{include / 'linux'}", *map(str, sources)], check=True)
    os.replace(tmp, target)
