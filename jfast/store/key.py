"""The cache key: everything that shapes a checkpoint's image, built in this
one module (docs/architecture.md, "The key").

A checkpoint is reused only when the java binary and its JDK, every JVM
option and program argument, the contents of the class path, the stdio
shape, the display, the kernel, CPU, CRIU, jfast and its agent, the user and
the variables in KEY_ENV are the same. The working directory is left out:
the agent moves a restored program to the caller's, and checks that it did.
"""

from __future__ import annotations

import os

from jfast import __version__, jsoncodec
from jfast.java.cmdline import JavaCommand
from jfast.java.jdk import java_home
from jfast.linux.fs import identity
from jfast.linux.procfs import cpu_flags
from jfast.linux.sha256 import sha256
from jfast.store.digests import FileDigests
from jfast.store.keyenv import KEY_ENV


class Parts:
    """What the launcher found out about this run, from which the key is made."""

    def __init__(self, *, cmd: JavaCommand, java: str, criu_id: str, stdio_shape: str,
                 env: dict[str, str], cwd: str, agent_id: str, display: dict,
                 ready: str | None = None) -> None:
        self.cmd = cmd
        self.java = java              # the real java binary
        self.criu_id = criu_id        # the criu binary's identity (linux/fs.py)
        self.stdio_shape = stdio_shape
        self.env = env
        self.cwd = cwd
        self.agent_id = agent_id      # the agent jar's and native library's digests
        self.display = display        # DisplayPlan.key_part()
        self.ready = ready            # the point the ready-points file chose (JFAST_READY is in env)


def material(parts: Parts, digests: FileDigests) -> dict:
    """Everything the checkpoint depends on, as a JSON-able dict."""
    cmd, cwd = parts.cmd, parts.cwd
    files: dict[str, str] = digests.jar_closure(
        [os.path.join(cwd, p) for p in cmd.classpath + cmd.module_path])
    if cmd.mode == "source":
        files[os.path.join(cwd, cmd.target)] = digests.digest(os.path.join(cwd, cmd.target))
    for opt in cmd.options:        # -javaagent:x.jar=... and friends
        if opt.startswith(("-javaagent:", "-agentpath:")):
            jar = opt.split(":", 1)[1].split("=", 1)[0]
            files[jar] = digests.digest(os.path.join(cwd, jar))
    return {
        "jfast": __version__,
        "agent": parts.agent_id,
        "java": identity(parts.java),
        "jdk_release": digests.digest(os.path.join(java_home(parts.java), "release")),
        "mode": cmd.mode,
        "target": cmd.target,
        "options": cmd.options,
        "args": cmd.app_args,
        "files": files,
        "env": {k: parts.env[k] for k in KEY_ENV if k in parts.env},
        "stdio": parts.stdio_shape,
        "uid": os.getuid(),
        "kernel": os.uname().release,
        "cpu": cpu_part(),
        "criu": parts.criu_id,
        "display": parts.display,
        **({"ready": parts.ready} if parts.ready else {}),
    }


# The material's fields that name this machine's own files and user, not
# the program: another machine that has the same program gives them its own
# values (localized). Whether its platform can restore the image is
# fleet/platform.py's to say.
MACHINE_FIELDS = ("java", "criu", "uid", "kernel", "cpu")


def localized(material: dict, java: str, criu_id: str) -> dict:
    """An entry's key material as this machine makes it for the same program:
    MACHINE_FIELDS replaced by its own (java's and criu's identity,
    linux/fs.py)."""
    return {**material, "java": identity(java), "criu": criu_id, "uid": os.getuid(),
            "kernel": os.uname().release, "cpu": cpu_part()}


def program_key(material: dict) -> str:
    """The key without MACHINE_FIELDS: the same on every machine that runs
    the same program the same way (a registry names an artifact by it)."""
    return key_of({k: v for k, v in material.items() if k not in MACHINE_FIELDS})


def key_of(material: dict) -> str:
    blob = jsoncodec.dumps(material, sort_keys=True).encode()
    return sha256(blob).hexdigest()[:32]


def cpu_part() -> str:
    """The CPU's features as the key holds them."""
    flags = cpu_flags()
    return sha256(flags.encode()).hexdigest()[:16] if flags else "unknown"
