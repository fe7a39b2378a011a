"""The way in: what `jfast install` sets up so that every JVM program of a
user, or of the machine, reaches jfast, and `jfast uninstall` takes away
(docs/architecture.md, "The way in").

Launch scripts pick java in five ways, and a scope covers each it can:
- `java` on PATH: a link first on PATH (a user's ~/.local/bin; the
  machine's /usr/bin/java through `update-alternatives`);
- `$JAVA_HOME/bin/java` and `$JRE_HOME/bin/java` (server scripts, Gradle,
  Maven): both name a shim home (java/shim.py);
- `$JAVA_CMD` (Debian's java-wrappers, whose own search would find the
  real JDK first) and `$JAVACMD` (Ant, Maven), absolute, as their `-x`
  tests need: the shim's bin/java;
- a hard-coded /usr/bin/java: the machine's alternative only.
The variables are set for login shells (~/.profile, /etc/profile.d) and
for desktop sessions started by systemd (environment.d), so desktop
launchers' programs reach jfast too. A scope's state file lists what it
made and what it changed, so that uninstall undoes exactly that.
"""

from __future__ import annotations

import json
import os
import sys

from jfast.errors import JfastError
from jfast.java import shim
from jfast.java.jdk import find_java, is_jfast, java_home
from jfast.linux.fs import atomic_write
from jfast.linux.programs import run, which

MARK = "# jfast: programs that pick java themselves reach jfast (undo: jfast uninstall)"
VARIABLES = ("JAVA_HOME", "JRE_HOME", "JAVA_CMD", "JAVACMD")
MACHINE_SHIM = "/usr/lib/jvm/jfast"
MACHINE_STATE = "/var/lib/jfast/way-in.json"
MACHINE_PROFILE = "/etc/profile.d/jfast.sh"
MACHINE_ENVIRONMENT = "/etc/environment.d/50-jfast.conf"
# Above any JDK Debian ships (their priorities are 1000 + the version).
ALTERNATIVE_PRIORITY = 100000


class Scope:
    """Where one scope keeps its shim, files and state."""

    def __init__(self, machine: bool, home: str | None = None) -> None:
        self.machine = machine
        if machine:
            self.shim, self.state = MACHINE_SHIM, MACHINE_STATE
            self.profile, self.environment = MACHINE_PROFILE, MACHINE_ENVIRONMENT
            self.bin = None
            return
        home = home or os.path.expanduser("~")
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
        config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        self.home = home
        self.shim = os.path.join(data, "jfast", "jdk")
        self.state = os.path.join(config, "jfast", "way-in.json")
        self.profile = os.path.join(config, "jfast", "env.sh")
        self.environment = os.path.join(config, "environment.d", "50-jfast.conf")
        self.bin = os.path.join(home, ".local", "bin")

    @property
    def name(self) -> str:
        return "the machine" if self.machine else "this user"

    def installed(self) -> dict | None:
        """What `install` recorded, or None."""
        try:
            with open(self.state) as f:
                state = json.load(f)
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) else None


def _variables(scope: Scope) -> dict[str, str]:
    java = os.path.join(scope.shim, "bin", "java")
    return {"JAVA_HOME": scope.shim, "JRE_HOME": scope.shim, "JAVA_CMD": java, "JAVACMD": java}


def _profile_text(scope: Scope) -> str:
    lines = [MARK] + [f"{k}='{v}'; export {k}" for k, v in _variables(scope).items()]
    if scope.bin:          # ahead of /usr/bin, where the real java is
        lines.append(f'case ":$PATH:" in *":{scope.bin}:"*) ;; '
                     f'*) PATH="{scope.bin}:$PATH"; export PATH ;; esac')
    return "\n".join(lines) + "\n"


def _environment_text(scope: Scope) -> str:
    lines = [MARK] + [f"{k}={v}" for k, v in _variables(scope).items()]
    if scope.bin:
        lines.append(f"PATH={scope.bin}:${{PATH}}")
    return "\n".join(lines) + "\n"


def _jfast_program() -> str:
    """The program that runs jfast, as this process was started."""
    path = os.path.realpath(sys.argv[0])
    if os.path.basename(path) != "jfast" or not os.access(path, os.X_OK):
        raise JfastError(f"run `jfast install` through the jfast program itself, not {path}")
    return path


def _interpreter(program: str) -> str | None:
    """The interpreter `program`'s #! line names, unless it is looked up on
    PATH (`/usr/bin/env python3`), as each user's own then is."""
    with open(program, "rb") as f:
        line = f.readline(256)
    if not line.startswith(b"#!"):
        return None
    words = line[2:].split()
    if not words or os.path.basename(words[0]) == b"env":
        return None
    return os.path.realpath(os.fsdecode(words[0]))


def _everyone_can_run(path: str) -> str | None:
    """Why some user could not run `path` (a folder on the way they cannot
    enter, a file they cannot read), or None."""
    while True:
        st = os.stat(path)
        need = 0o005 if os.path.isdir(path) else 0o004
        if st.st_mode & need != need:
            return f"{path} is mode {st.st_mode & 0o777:o}"
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def install(scope: Scope, java: str | None = None) -> list[str]:
    """Set the scope's way in up for the real java `java` (default: the one
    jfast would run); what was done, a line each."""
    if scope.machine and os.geteuid() != 0:
        raise JfastError("the machine's way in needs root: run `sudo jfast install --machine`, "
                         "or `jfast install` for your own programs")
    if scope.installed():
        uninstall(scope)               # again: for another java, or a moved jfast
    real = (shim.real_java(java) or java) if java else find_java(dict(os.environ))
    home = java_home(real)
    program = _jfast_program()
    if scope.machine:
        for path in (program, _interpreter(program)):
            why = path and _everyone_can_run(path)
            if why:
                raise JfastError(f"every user must be able to run jfast, but {why}: install "
                                 "jfast where all can (as ./setup.sh does in the checkout)")
    done, state = [], {"java": real, "home": home, "jfast": program, "made": [],
                       "appended": []}
    shim.make(scope.shim, home, program)
    state["made"].append(scope.shim)
    done.append(f"made {scope.shim}: {home} with bin/java running jfast")
    if scope.bin:
        link = os.path.join(scope.bin, "java")
        if os.path.lexists(link) and not os.path.islink(link):
            raise JfastError(f"{link} is there and is no link: move it away first")
        os.makedirs(scope.bin, exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.path.join(scope.shim, "bin", "java"), link)
        state["made"].append(link)
        done.append(f"linked {link} to it, for `java` on PATH")
    for path, text in ((scope.profile, _profile_text(scope)),
                       (scope.environment, _environment_text(scope))):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, text)
        os.chmod(path, 0o644)
        state["made"].append(path)
    done.append(f"set {', '.join(VARIABLES)} to it for login shells ({scope.profile}) and "
                f"desktop sessions ({scope.environment})")
    if scope.machine:
        state["alternative"] = _take_alternative(scope)
        done.append("made it /usr/bin/java (update-alternatives --config java shows it)")
    else:
        line = f'[ -r "{scope.profile}" ] && . "{scope.profile}"'
        for name in (".profile", ".bash_profile", ".bash_login"):
            path = os.path.join(scope.home, name)
            if name == ".profile" or os.path.exists(path):
                _append_lines(path, [MARK, line])
                state["appended"].append({"file": path, "lines": [MARK, line]})
        done.append(f"sourced it from {', '.join(a['file'] for a in state['appended'])}")
    os.makedirs(os.path.dirname(scope.state), exist_ok=True)
    atomic_write(scope.state, json.dumps(state, indent=1))
    return done


def uninstall(scope: Scope) -> list[str]:
    """Undo what `install` recorded for the scope; what was done, a line each."""
    state = scope.installed()
    if state is None:
        return []
    done = []
    alternative = state.get("alternative")
    if isinstance(alternative, dict):
        _give_back_alternative(scope, alternative)
        done.append("gave /usr/bin/java back to " + (alternative.get("value") or "auto mode"))
    for entry in state.get("appended", []):
        if _remove_lines(entry.get("file", ""), entry.get("lines", [])):
            done.append(f"took jfast's lines out of {entry['file']}")
    for path in reversed(state.get("made", [])):
        if path == scope.shim:
            if shim.remove(path):
                done.append(f"removed {path}")
        elif os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
            done.append(f"removed {path}")
    os.unlink(scope.state)
    return done


def _query_alternative() -> dict:
    res = run(["update-alternatives", "--query", "java"], timeout=30)
    fields = {}
    for line in res.stdout.splitlines():
        name, _, value = line.partition(": ")
        if name in ("Status", "Value") and name.lower() not in fields:
            fields[name.lower()] = value.strip()
    return fields


def _take_alternative(scope: Scope) -> dict:
    if not which("update-alternatives"):
        raise JfastError("update-alternatives not found: the machine's way in is Debian's")
    before = _query_alternative()
    java = os.path.join(scope.shim, "bin", "java")
    for argv in (["--install", "/usr/bin/java", "java", java, str(ALTERNATIVE_PRIORITY)],
                 ["--set", "java", java]):
        res = run(["update-alternatives", *argv], timeout=60)
        if res.returncode != 0:
            raise JfastError(f"update-alternatives {argv[0]} failed: "
                             f"{(res.stderr or res.stdout).strip()[:200]}")
    return before


def _give_back_alternative(scope: Scope, before: dict) -> None:
    run(["update-alternatives", "--remove", "java", os.path.join(scope.shim, "bin", "java")],
        timeout=60)
    value = before.get("value")
    if before.get("status") == "manual" and value and os.path.exists(value):
        run(["update-alternatives", "--set", "java", value], timeout=60)
    else:
        run(["update-alternatives", "--auto", "java"], timeout=60)


def _append_lines(path: str, lines: list[str]) -> None:
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    if all(line in text.splitlines() for line in lines):
        return
    with open(path, "a") as f:
        f.write(("\n" if text and not text.endswith("\n") else "") + "\n".join(lines) + "\n")


def _remove_lines(path: str, lines: list[str]) -> bool:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return False
    kept = [line for line in text.splitlines() if line not in lines]
    if len(kept) == len(text.splitlines()):
        return False
    mode = os.stat(path).st_mode & 0o777
    atomic_write(path, "\n".join(kept) + ("\n" if kept else ""))
    os.chmod(path, mode)
    return True


def reach(env: dict[str, str]) -> dict[str, bool]:
    """For `jfast doctor`: which ways a launch script may pick java lead to
    jfast in `env` (the ones that are set or exist at all)."""
    ways = {"java on PATH": which("java", env.get("PATH", os.defpath)),
            "/usr/bin/java": "/usr/bin/java" if os.path.exists("/usr/bin/java") else None}
    for name in ("JAVA_HOME", "JRE_HOME"):
        if env.get(name):
            ways[f"${name}"] = os.path.join(env[name], "bin", "java")
    for name in ("JAVA_CMD", "JAVACMD"):
        if env.get(name):
            ways[f"${name}"] = which(env[name], env.get("PATH")) if "/" not in env[name] \
                else env[name]
    return {way: bool(path and os.path.exists(path) and (shim.real_java(path) or
                                                         is_jfast(path)))
            for way, path in ways.items() if path}
