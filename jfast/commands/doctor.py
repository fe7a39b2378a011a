"""`jfast doctor`: can this machine, for this user, restore Java programs?

Each check says ok, warn (the fast path works, something optional is
missing) or fail (the fast path cannot work), with the command that fixes
it. The sandbox check starts a real sandbox, the way every run does; the
jdk check makes and restores a probe program on the java jfast would use
(or the one --java names) and says what a restored run sees there.

    jfast doctor [--java PATH] [--json]

Exit status: 0 when the fast path works, 1 when it cannot, 2 on bad usage.
"""

from __future__ import annotations

import json
import os
import subprocess

from jfast.criu import criu
from jfast.errors import FastPathUnavailable, JfastError, UsageError
from jfast.java.jdk import find_java
from jfast.linux.programs import run, which
from jfast.sandbox import userns
from jfast.store import cache

SETUP = "run ./setup.sh install from the jfast checkout as root"


class Check:
    def __init__(self, name: str, state: str, detail: str, fix: str = "") -> None:
        self.name, self.state, self.detail, self.fix = name, state, detail, fix

    def as_dict(self) -> dict:
        return {"name": self.name, "state": self.state, "detail": self.detail, "fix": self.fix}


def _kernel() -> Check:
    need = ("pid", "mnt", "ipc", "uts") + (("user",) if userns.rootless() else ())
    missing = [ns for ns in need if not os.path.exists(f"/proc/self/ns/{ns}")]
    if missing:
        return Check("kernel", "fail", f"{os.uname().release} lacks {' '.join(missing)} "
                     "namespaces", "use a kernel built with CONFIG_NAMESPACES")
    return Check("kernel", "ok", f"{os.uname().release}, namespaces: {' '.join(need)}")


def _mode() -> Check:
    if not userns.rootless():
        return Check("mode", "ok", "root: sandboxes need no user namespace")
    blocked = userns.blocked()
    if blocked:
        return Check("mode", "fail", f"uid {os.geteuid()}: {blocked[0]}", blocked[1])
    return Check("mode", "ok", f"uid {os.geteuid()}: sandboxes in a user namespace of their "
                 "own; programs keep this user's rights")


def _criu(checks: list[Check]) -> str | None:
    try:
        path = criu.find()
    except FastPathUnavailable:
        checks.append(Check("criu", "fail", "criu not found (JFAST_CRIU, PATH)",
                            f"{SETUP}, or point JFAST_CRIU at criu >= 4.1"))
        return None
    try:
        found = criu.version(path)
    except FastPathUnavailable as e:
        checks.append(Check("criu", "fail", f"{path}: {e}", SETUP))
        return None
    text = ".".join(map(str, found))
    if found < criu.MIN_VERSION:
        checks.append(Check("criu", "fail", f"{path} is {text}; this kernel needs >= 4.1",
                            SETUP))
        return None
    checks.append(Check("criu", "ok", f"{path} {text}"))
    if found < (4, 2) and tuple(map(int, os.uname().release.split(".")[:2])) >= (6, 16):
        checks.append(Check("criu sockets", "warn", f"criu {text} cannot dump TCP sockets on "
                            "kernel >= 6.16: servers start normally", SETUP))
    if not userns.rootless():   # rootless, `criu check` judges the host's netns, not ours
        res = run([path, "check"], timeout=60)
        if res.returncode != 0:
            checks.append(Check("criu check", "fail", (res.stderr or res.stdout).strip()
                                .splitlines()[-1][:200], "see `criu check` output"))
            return None
        checks.append(Check("criu check", "ok", res.stdout.strip().splitlines()[-1][:200]))
    return path


def _sandbox() -> Check:
    from jfast.sandbox.sandbox import Sandbox, Spawn

    true = which("true") or "/bin/true"
    try:
        sb = Sandbox(Spawn(argv=[true], env={"PATH": os.defpath}))
        state, detail = sb.next_status()
        code = sb.wait()
    except (FastPathUnavailable, OSError) as e:
        return Check("sandbox", "fail", str(e), "see the mode and kernel checks")
    if state != "started" or code != 0:
        return Check("sandbox", "fail", f"{state}: {detail}", "see the mode and kernel checks")
    return Check("sandbox", "ok", "a pid/mount namespace sandbox started a program")


def _java(java: str | None) -> Check:
    try:
        java = java or find_java(dict(os.environ))
    except JfastError as e:
        return Check("java", "fail", str(e), "apt-get install openjdk-17-jdk-headless")
    res = run([java, "-version"], timeout=60)
    first = (res.stderr or res.stdout).strip().splitlines()[:1]
    return Check("java", "ok" if res.returncode == 0 else "fail",
                 f"{java} ({first[0] if first else 'no version'})")


def _xvfb() -> Check:
    path = which("Xvfb")
    if not path:
        return Check("Xvfb", "warn", "not found: needed for GUI programs without a display "
                     "(JFAST_DISPLAY=virtual)", "apt-get install xvfb")
    return Check("Xvfb", "ok", path)


def _cache() -> Check:
    root = cache.cache_dir()
    try:
        cache.ensure_dirs(root)
        st = os.stat(root)
        vfs = os.statvfs(root)
    except OSError as e:
        return Check("cache", "fail", f"{root}: {e.strerror}",
                     "set JFAST_CACHE_DIR to a folder this user may write")
    free = vfs.f_bavail * vfs.f_frsize
    detail = f"{root} ({oct(st.st_mode & 0o777)[2:]}, {free / 2**30:.1f} GiB free)"
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return Check("cache", "fail", f"{detail}: not this user's alone",
                     f"chown {os.geteuid()} {root} && chmod 700 {root}")
    if not os.access(root, os.W_OK):
        return Check("cache", "fail", f"{detail}: not writable", f"chmod u+w {root}")
    return Check("cache", "ok", detail)


def _agent() -> Check:
    from jfast.java import agentfiles
    try:
        agent = agentfiles.locate("jfast-agent.jar")
    except FastPathUnavailable as e:
        return Check("agent", "fail", str(e), SETUP)
    native = agentfiles.native_helper()
    if native is None:
        return Check("agent", "fail", f"{agent}, without its native library (no C compiler "
                     "when it was built): no restore could be made faithful, so programs "
                     "run under java", "apt-get install gcc libc6-dev, then ./setup.sh install")
    return Check("agent", "ok", f"{agent}, {os.path.basename(native)}")


def _jdk(java: str) -> Check:
    """The JDK probe (jdkprobe.py): a program made in one directory and
    restored twice in another, on the java jfast would use."""
    from jfast.java import jdk, jdkprobe
    name = f"JDK {jdk.jdk_release(java).get('java_version', '?')}"
    try:
        verdict = jdkprobe.probe(java)
    except (OSError, subprocess.SubprocessError, JfastError) as e:
        return Check("jdk", "fail", f"{name}: the probe did not run: {e}", SETUP)
    if not verdict.made:
        return Check("jdk", "warn", f"{name} ({java}): no checkpoint of the probe: "
                     f"{verdict.why}; programs run under java", "use JDK 11, 17, 21 or 25")
    if verdict.problems:
        return Check("jdk", "fail", f"{name} ({java}): a restored run is not a fresh run: "
                     + "; ".join(verdict.problems), "report this JDK to jfast; set "
                     "JFAST_DISABLE=1 meanwhile")
    return Check("jdk", "ok", f"{name} ({java}): restored runs see the caller's environment, "
                 "working directory (java.io, java.nio), fresh randomness, java's class "
                 "path, options and stderr")


def _way_in() -> Check:
    """Which scopes `jfast install` set up, and what reaches jfast here."""
    from jfast.commands import wayin

    scopes = [s for s in (wayin.Scope(machine=False), wayin.Scope(machine=True))
              if s.installed()]
    reached = wayin.reach(dict(os.environ))
    via = [w for w, yes in reached.items() if yes]
    not_via = [w for w, yes in reached.items() if not yes]
    detail = (f"set up for {' and '.join(s.name for s in scopes)}" if scopes
              else "not set up") + (
        f"; here {', '.join(via)} reach jfast" if via else "; here nothing reaches jfast") + (
        f", {', '.join(not_via)} the real java" if not_via else "")
    if not scopes:
        return Check("way in", "warn", detail + ": only programs run as `jfast` get it",
                     "jfast install (your programs), or jfast install --machine as root "
                     "(every user's, and /usr/bin/java)")
    if not via:
        return Check("way in", "warn", detail, f"log in again, or run: . {scopes[0].profile}")
    return Check("way in", "ok", detail)


def checks(java: str | None = None) -> list[Check]:
    out = [_kernel(), _mode()]
    criu_ok = _criu(out) is not None
    out += [_sandbox(), _java(java), _agent(), _xvfb(), _cache(), _way_in()]
    if all(c.state != "fail" for c in out) and criu_ok:
        out.append(_jdk(java or find_java(dict(os.environ))))
    return out


def main(args: list[str]) -> int:
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:      # exit 2 through the cli's edge
            raise UsageError(f"{message} (see `jfast doctor --help`)")

    p = Parser(prog="jfast doctor", description="Can this machine, for this user, restore "
               "Java programs, on the java jfast would use? Exit status: 0 when the fast "
               "path works, 1 when it cannot, 2 on bad usage.")
    p.add_argument("--java", metavar="PATH", help="probe this java instead of jfast's")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    opts = p.parse_args(args)
    java = os.path.abspath(opts.java) if opts.java else None
    if java and not os.access(java, os.X_OK):
        raise UsageError(f"--java {java} is not executable: name a JDK's bin/java")
    found = checks(java)
    works = not any(c.state == "fail" for c in found)
    if opts.json:
        print(json.dumps({"works": works, "uid": os.geteuid(),
                          "checks": [c.as_dict() for c in found]}, indent=1))
        return 0 if works else 1
    who = "root" if not userns.rootless() else f"uid {os.geteuid()}"
    print(f"jfast doctor: can this machine restore Java programs for {who}?")
    for c in found:
        print(f"  {c.state:5} {c.name:12} {c.detail}")
        if c.fix and c.state != "ok":
            print(f"  {'':5} {'':12} fix: {c.fix}")
    print("The fast path works." if works else
          "The fast path cannot work here: programs run normally under java.")
    return 0 if works else 1
