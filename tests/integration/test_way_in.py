"""The way in (jfast/commands/wayin.py): real launch scripts from Debian
packages, run as a user would after `jfast install` (their login shell) or
after `jfast install --machine`, reach jfast and are restored, with java's
output and exit status. Each kind of script picks java its own way:

- saxon-xslt (libsaxon-java): `exec java`, from PATH;
- rasterizer (libbatik-java): Debian's java-wrappers, which search the JDKs
  themselves unless JAVA_CMD names one;
- ant: an absolute $JAVACMD (a bare `java` fails its -x test);
- plantuml: $JAVA_HOME, else a hard-coded /usr/bin/java.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

import pytest
from conftest import need_tool
from test_rootless import as_user, jfast_argv, tree, user  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

SCRIPTS = {
    "PATH": "saxon-xslt t.xml t.xsl",
    "JAVA_CMD": "rasterizer -d out.png t.svg",
    "JAVACMD": "ant -q -f build.xml",
    "JAVA_HOME": "plantuml -tsvg d.puml",
}
FILES = {
    "t.xml": "<a><b>hello</b><b>world</b></a>\n",
    "t.xsl": '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
             '<xsl:output method="text"/><xsl:template match="/"><xsl:for-each select="a/b">'
             '<xsl:value-of select="."/><xsl:text> </xsl:text></xsl:for-each></xsl:template>'
             '</xsl:stylesheet>\n',
    "t.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
             '<rect width="40" height="30" fill="red"/></svg>\n',
    "build.xml": '<project name="t" default="hello"><target name="hello">'
                 '<echo message="hello from ant"/></target></project>\n',
    "d.puml": "@startuml\nAlice -> Bob: hello\n@enduml\n",
}


def work_folder(top: Path, owner: pwd.struct_passwd | None = None) -> Path:
    work = top / "work"
    work.mkdir(exist_ok=True)
    for name, text in FILES.items():
        (work / name).write_text(text)
    if owner is not None:
        subprocess.run(["chown", "-R", f"{owner.pw_uid}:{owner.pw_gid}", str(work)], check=True)
    return work


def shell(argv: list[str], env: dict[str, str], login: bool, cmd: str,
          timeout: float = 180) -> subprocess.CompletedProcess:
    """`cmd` in a fresh sh (a login shell reads the profile files), with
    only `env` in its environment."""
    return subprocess.run([*argv, "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                           "sh", "-lc" if login else "-c", cmd],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def last_report(path: Path) -> dict:
    return json.loads(path.read_text().splitlines()[-1])


def under_java(argv: list[str], base: dict[str, str],
               kinds: dict[str, str]) -> dict[str, subprocess.CompletedProcess]:
    """Each script as it runs on the real JDK without the way in: no profile
    read, and each variable the way in sets naming the real JDK instead (a
    script's own messages may depend on which it finds set)."""
    for cmd in kinds.values():
        need_tool(cmd.split()[0])
    home = os.path.dirname(os.path.dirname(os.path.realpath(need_tool("java"))))
    real = {"JAVA_HOME": home, "JRE_HOME": home, "JAVA_CMD": f"{home}/bin/java",
            "JAVACMD": f"{home}/bin/java"}
    return {kind: shell(argv, {**base, **(real if kind != "/usr/bin/java" else {})}, False, cmd)
            for kind, cmd in kinds.items()}


def check_scripts(argv: list[str], base: dict[str, str], report: Path, login: bool,
                  kinds: dict[str, str],
                  plains: dict[str, subprocess.CompletedProcess]) -> dict[str, list[str]]:
    """Each script three times through the way in: java's output and status
    (`plains`); the outcomes."""
    seen = {}
    for kind, cmd in kinds.items():
        plain = plains[kind]
        outcomes = []
        for _ in range(3):
            before = len(report.read_text().splitlines()) if report.exists() else 0
            fast = shell(argv, base, login, cmd)
            assert (fast.stdout, fast.stderr, fast.returncode) == (
                plain.stdout, plain.stderr, plain.returncode), (kind, fast.stderr)
            lines = report.read_text().splitlines() if report.exists() else []
            assert len(lines) == before + 1, f"{kind}: `{cmd}` did not reach jfast"
            outcomes.append(json.loads(lines[-1])["outcome"])
        seen[kind] = outcomes
    return seen


def test_a_users_programs_reach_jfast_without_root(user, tree):  # noqa: F811
    """`jfast install` as the user: every kind of script, in their login
    shell, reaches jfast; `jfast uninstall` gives them java back."""
    home = tree / "home"
    work = work_folder(tree, user)
    argv = as_user(user, [], work)
    report = tree / "report.jsonl"
    base = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin",
            "JFAST_CACHE_DIR": str(tree / "cache"), "JFAST_REPORT": str(report),
            "JFAST_READY": "main"}          # a checkpoint at main, however quick the tool
    plains = under_java(argv, base, SCRIPTS)
    done = subprocess.run(as_user(user, ["env", f"HOME={home}", *jfast_argv(tree), "install"],
                                  work), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "undo: jfast uninstall" in done.stdout
    try:
        seen = check_scripts(argv, base, report, True, SCRIPTS, plains)
        assert all(o == ["started", "restored", "restored"] for o in seen.values()), seen
        doctor = shell(argv, base, True, f"{' '.join(jfast_argv(tree))} doctor --json")
        way_in = next(c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "way in")
        assert way_in["state"] == "ok" and "set up for this user" in way_in["detail"]
    finally:
        undone = subprocess.run(as_user(user, ["env", f"HOME={home}", *jfast_argv(tree),
                                               "uninstall"], work),
                                capture_output=True, text=True, timeout=60)
    assert undone.returncode == 0 and "removed" in undone.stdout, undone.stderr
    before = len(report.read_text().splitlines())
    assert shell(argv, base, True, SCRIPTS["PATH"]).returncode == 0
    assert len(report.read_text().splitlines()) == before          # java's own again
    assert not (home / ".local" / "share" / "jfast" / "jdk").exists()
    assert "jfast" not in (home / ".profile").read_text()


def alternative() -> tuple[str, str]:
    out = subprocess.run(["update-alternatives", "--query", "java"], capture_output=True,
                         text=True, check=True).stdout
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return fields["Status"], fields["Value"]


def test_the_machines_programs_reach_jfast(tree, tmp_path: Path):  # noqa: F811
    """`jfast install --machine`: /usr/bin/java is jfast (a script that
    hard-codes it, with nothing set), and every login has the variables
    (java-wrappers). Undone, /usr/bin/java is what it was."""
    need_tool("update-alternatives")
    before = alternative()
    work = work_folder(tmp_path)
    report = tmp_path / "report.jsonl"
    base = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "JFAST_CACHE_DIR":
            str(tmp_path / "cache"), "JFAST_REPORT": str(report), "JFAST_READY": "main"}
    jfast = jfast_argv(tree)
    argv = ["env", f"--chdir={work}"]
    kinds = {"/usr/bin/java": SCRIPTS["JAVA_HOME"], "JAVA_CMD": SCRIPTS["JAVA_CMD"]}
    plains = under_java(argv, base, kinds)
    done = subprocess.run([*jfast, "install", "--machine"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    try:
        assert os.path.realpath("/usr/bin/java") == str(tree / "bin" / "jfast")
        # Not a login: nothing set, /usr/bin/java named in the script.
        seen = check_scripts(argv, base, report, False,
                             {"/usr/bin/java": kinds["/usr/bin/java"]}, plains)
        # A login: JAVA_CMD for java-wrappers, whose own search would pass the shim.
        seen.update(check_scripts(argv, base, report, True,
                                  {"JAVA_CMD": kinds["JAVA_CMD"]}, plains))
        assert all(o == ["started", "restored", "restored"] for o in seen.values()), seen
    finally:
        undone = subprocess.run([*jfast, "uninstall", "--machine"], capture_output=True,
                                text=True, timeout=120)
    assert undone.returncode == 0, undone.stderr
    assert alternative() == before
    assert not Path("/usr/lib/jvm/jfast").exists() and not Path("/etc/profile.d/jfast.sh").exists()
