"""Ready points at a method's first call (JFAST_READY=call:CLASS.METHOD, or
a line of the user's ready-points file): each run's output and files equal
java's as the inputs change, those read before the point (a fresh run) and
those after (a restore). Real jfast, java and CRIU; Debian's jython, Ant,
Saxon and PlantUML, each at the point docs/architecture.md gives it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import test_rootless as rootless
from conftest import JFAST, MUST_WORK, Runner, compile_java
from test_rootless import tree, user  # noqa: F401 - fixtures for the test without root

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

TOOL = """
    import java.nio.file.*;

    public class Tool {
        public static void main(String[] args) throws Exception {
            String config = Files.readString(Path.of("config.txt")).trim();  // before the point
            StringBuilder warm = new StringBuilder();
            for (int i = 0; i < 20000; i++) {
                warm.append(Integer.toHexString(i * 31));
            }
            run(config, args);
        }

        static void run(String config, String[] args) throws Exception {
            System.out.println(config + " " + String.join(" ", args) + " "
                    + Files.readString(Path.of("data.txt")).trim());
        }
    }
"""


def side_by_side(runner: Runner, argv: list[str], folders: dict[str, Path],
                 env: dict[str, str]) -> dict:
    """One run under java in its folder and one under jfast in its own:
    equal output, status and files; jfast's report."""
    plain = runner.java(*argv, cwd=folders["java"])
    fast = runner.run([*JFAST, *argv], cwd=folders["jfast"], env=env)
    said = [(out.stdout.replace(str(folders[n]), "<cwd>"), out.stderr.replace(str(folders[n]),
                                                                             "<cwd>"))
            for n, out in (("java", plain), ("jfast", fast))]
    assert (said[1], fast.returncode) == (said[0], plain.returncode), runner.last()
    assert files(folders["jfast"]) == files(folders["java"]), runner.last()
    return runner.last()


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def two_folders(tmp_path: Path, seed: dict[str, str]) -> dict[str, Path]:
    out = {}
    for name in ("java", "jfast"):
        out[name] = tmp_path / name
        out[name].mkdir()
        write(out[name], seed)
    return out


def write(folder: Path, content: dict[str, str]) -> None:
    for name, text in content.items():
        (folder / name).write_text(text)


def rewrite_both(folders: dict[str, Path], content: dict[str, str]) -> None:
    for folder in folders.values():
        write(folder, content)


def outcomes(runner: Runner, argv: list[str], folders: dict[str, Path], env: dict[str, str],
             after: dict[str, str], before: dict[str, str]) -> list[str]:
    """Two runs as they are, one after an input read after the point
    changed (`after`), one after an input read before it changed (`before`)."""
    seen = []
    for change in ({}, {}, after, before):
        rewrite_both(folders, change)
        report = side_by_side(runner, argv, folders, env)
        seen.append((report["outcome"], report["ready_point"]))
    return seen


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(compile_java(tmp_path_factory.mktemp("tool"), {"Tool.java": TOOL}))


def test_a_call_point_restores_and_reads_what_comes_after_fresh(runner: Runner, tool: str,
                                                                 tmp_path: Path):
    folders = two_folders(tmp_path, {"config.txt": "c1", "data.txt": "d1"})
    env = {**runner.env, "JFAST_READY": "call:Tool.run"}
    seen = outcomes(runner, ["-cp", tool, "Tool", "x"], folders, env,
                    after={"data.txt": "d2"}, before={"config.txt": "c2"})
    assert seen == [("started", "call"), ("restored", "call"), ("restored", "call"),
                    ("started", "call")], runner.reports()
    assert "config.txt" in runner.last()["reason"]


def test_the_ready_points_file_names_the_point_for_a_program(runner: Runner, tool: str,
                                                             tmp_path: Path):
    home = tmp_path / "home"
    (home / ".config" / "jfast").mkdir(parents=True)
    (home / ".config" / "jfast" / "ready-points").write_text(
        "# my tools\nTool  call:Tool.run\n")
    folders = two_folders(tmp_path, {"config.txt": "c", "data.txt": "d"})
    env = {**runner.env, "HOME": str(home)}
    firsts = [side_by_side(runner, ["-cp", tool, "Tool"], folders, env) for _ in range(2)]
    assert [(r["outcome"], r["ready_point"]) for r in firsts] == [
        ("started", "call"), ("restored", "call")], runner.reports()
    # JFAST_READY wins, and is a checkpoint of its own.
    first = side_by_side(runner, ["-cp", tool, "Tool"], folders, {**env, "JFAST_READY": "main"})
    assert first["outcome"] == "started" and first["key"] != firsts[0]["key"]


def test_a_mistake_in_the_point_is_said_and_java_runs(runner: Runner, tool: str,
                                                      tmp_path: Path):
    folders = two_folders(tmp_path, {"config.txt": "c", "data.txt": "d"})
    fast = runner.run([*JFAST, "-cp", tool, "Tool"], cwd=folders["jfast"],
                      env={**runner.env, "JFAST_READY": "call:run"})
    assert fast.stdout == "c  d\n" and fast.returncode == 0
    assert fast.stderr == ("jfast: JFAST_READY: ready point call:run is not known: use one "
                           "of auto, none, main, stdin, socket, window, explicit, "
                           "call:CLASS.METHOD\n")
    assert runner.last()["outcome"] == "fallback"


def test_a_method_never_called_makes_no_checkpoint(runner: Runner, tool: str, tmp_path: Path):
    folders = two_folders(tmp_path, {"config.txt": "c", "data.txt": "d"})
    env = {**runner.env, "JFAST_READY": "call:Tool.never"}
    for _ in range(2):
        report = side_by_side(runner, ["-cp", tool, "Tool"], folders, env)
        assert (report["outcome"], report["checkpoint"]) == ("started", "none")
    # The dump started ahead (criu/criu.py's Dump) ended with the run.
    assert not list((runner.cache / "entries").glob("*.pending"))
    assert not list((runner.cache / "work").iterdir())


# Debian's tools, each at its point (docs/architecture.md, "Ready points").
JYTHON = ["-jar", "/usr/share/java/jython.jar", "-Dpython.home=/usr/share/jython"]
ANT = ["-classpath", "/usr/share/ant/lib/ant-launcher.jar", "-Dant.home=/usr/share/ant",
       "org.apache.tools.ant.launch.Launcher"]
SAXON = ["-classpath", "/usr/share/java/saxon.jar", "com.icl.saxon.StyleSheet"]
PLANTUML = ["-Djava.awt.headless=true", "-jar", "/usr/share/plantuml/plantuml.jar"]

BUILD = """<project name="p" default="show">
  <property file="build.properties"/>
  <target name="show">
    <loadfile property="msg" srcFile="msg.txt"/>
    <echo message="{greeting} ${{msg}} ${{who}}"/>
  </target>
</project>
"""
STYLE = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/">
    <xsl:for-each select="//item">{prefix}<xsl:value-of select="@name"/>=<xsl:value-of
        select="."/><xsl:text>&#10;</xsl:text></xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
"""
DIAGRAM = "@startuml\nAlice -> Bob : {text}\n@enduml\n"

# name: (point, argv, first inputs, an input read after the point changed,
#        one read before it changed)
TOOLS = {
    "jython -c": (
        "call:org.python.core.Py.runCode",
        [*JYTHON, "-c", "import sys; print open('data.txt').read().strip(), sys.argv"],
        {"data.txt": "one"}, {"data.txt": "two"}, None),
    "Ant": (
        "call:org.apache.tools.ant.ProjectHelper.configureProject",
        [*ANT, "-S", "-Dwho=me"],       # -S: the task's output alone (no timing)
        {"build.xml": BUILD.format(greeting="hello"), "msg.txt": "m1",
         "build.properties": "x=1\n"},
        {"build.xml": BUILD.format(greeting="goodbye"), "msg.txt": "m2"},
        None),
    "Saxon": (
        "call:com.icl.saxon.StyleSheet.processFile",
        [*SAXON, "in.xml", "style.xsl"],
        {"style.xsl": STYLE.format(prefix="1:"), "in.xml": '<l><item name="a">1</item></l>'},
        {"in.xml": '<l><item name="b">2</item><item name="c">3</item></l>'},
        {"style.xsl": STYLE.format(prefix="2:")}),
    "PlantUML": (
        "call:net.sourceforge.plantuml.AbstractPSystem.exportDiagram",
        [*PLANTUML, "-tpng", "d.puml"],
        {"d.puml": DIAGRAM.format(text="hello")}, {}, {"d.puml": DIAGRAM.format(text="again")}),
}


@pytest.mark.parametrize("name", TOOLS)
def test_a_debian_tool_at_its_point(runner: Runner, tmp_path: Path, name: str):
    point, argv, seed, after, before = TOOLS[name]
    jars = [a for a in argv if a.endswith(".jar")]
    if not all(os.path.exists(j) for j in jars):
        if MUST_WORK:
            pytest.fail(f"JFAST_MUST_WORK is set but {name} is missing: run ./setup.sh")
        pytest.skip(f"{name} is not installed: run ./setup.sh")
    folders = two_folders(tmp_path, seed)
    env = {**runner.env, "JFAST_READY": point}
    seen = outcomes(runner, argv, folders, env, after=after, before=before or {})
    # PlantUML opens its image for writing before the point: the second run
    # finds the image the first made, and runs afresh (test_file_writes.py).
    second = "started" if name == "PlantUML" else "restored"
    expected = ["started", second, "restored", "started" if before else "restored"]
    assert [s[0] for s in seen] == expected, runner.reports()
    assert {s[1] for s in seen} == {"call"}


def test_a_restored_tool_finds_a_file_removed_since(runner: Runner, tool: str,
                                                     tmp_path: Path):
    """What the program reads after the point is read then: a data file gone
    since the checkpoint gives java's own error."""
    folders = two_folders(tmp_path, {"config.txt": "c", "data.txt": "d"})
    env = {**runner.env, "JFAST_READY": "call:Tool.run"}
    for _ in range(2):
        side_by_side(runner, ["-cp", tool, "Tool"], folders, env)
    for folder in folders.values():
        (folder / "data.txt").unlink()
    plain = runner.java("-cp", tool, "Tool", cwd=folders["java"])
    fast = runner.run([*JFAST, "-cp", tool, "Tool"], cwd=folders["jfast"], env=env)
    assert runner.last()["outcome"] == "restored"
    assert fast.returncode == plain.returncode == 1
    assert fast.stderr.splitlines()[0] == plain.stderr.splitlines()[0]


def test_without_root_a_file_read_before_the_point_is_checked(user, tree: Path):
    """No fanotify watch without root: the native library's log of the files
    the JVM opens stands in, so a configuration changed since the
    checkpoint means a fresh run there too."""
    work = tree / "call-point"
    compile_java(work / "classes", {"Tool.java": TOOL})
    write(work, {"config.txt": "c1", "data.txt": "d1"})
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(work)], check=True)
    env = {**rootless.user_env(tree), "JFAST_READY": "call:Tool.run",
           "JFAST_REPORT": str(work / "report.jsonl")}
    argv = rootless.as_user(user, [*rootless.jfast_argv(tree), "-cp", str(work / "classes"),
                                   "Tool"], work)
    seen = []
    for change in ({}, {}, {"data.txt": "d2"}, {"config.txt": "c2"}):
        write(work, change)
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120,
                              stdin=subprocess.DEVNULL)
        seen.append(done.stdout)
    outcomes = [json.loads(line) for line in (work / "report.jsonl").read_text().splitlines()]
    assert seen == ["c1  d1\n", "c1  d1\n", "c1  d2\n", "c2  d2\n"], outcomes
    assert [r["outcome"] for r in outcomes] == ["started", "restored", "restored", "started"]
    assert outcomes[-1]["reason"] == f"checkpoint stale: {work / 'config.txt'} changed"
