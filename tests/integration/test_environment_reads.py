"""Environment variables a program reads before its ready point are inputs:
a restore with other values starts the program afresh. Real jfast, java
and CRIU."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import JFAST, Runner, with_api

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

SECRET = """
    public class Secret {
        public static void main(String[] args) {
            String secret = System.getenv("SECRET");       // read before the point
            dev.jfast.Jfast.ready();
            System.out.println("secret=" + secret + " later=" + System.getenv("LATER"));
        }
    }
"""

WHOLE = """
    public class Whole {
        public static void main(String[] args) {
            int n = System.getenv().size();                 // the whole environment
            dev.jfast.Jfast.ready();
            System.out.println("ready " + (n > 0));
        }
    }
"""


@pytest.fixture(scope="module")
def classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    return with_api(tmp_path_factory.mktemp("env"), {"Secret.java": SECRET, "Whole.java": WHOLE})


def test_a_variable_read_before_the_ready_point_is_an_input(runner: Runner, classpath: str):
    def run(secret: str, later: str = "l") -> tuple[str, str]:
        res = runner.run([*JFAST, "-cp", classpath, "Secret"],
                         env={"SECRET": secret, "LATER": later})
        return res.stdout.strip(), runner.last()["outcome"]

    assert run("s1") == ("secret=s1 later=l", "started")
    assert run("s1", "other") == ("secret=s1 later=other", "restored")   # read after: fresh
    out, outcome = run("s2")
    assert (out, outcome) == ("secret=s2 later=l", "started")             # afresh
    assert "$SECRET" in runner.last()["reason"]
    assert run("s2") == ("secret=s2 later=l", "restored")


def test_sixteen_restores_at_once_each_see_their_own_value(runner: Runner, classpath: str):
    runner.run([*JFAST, "-cp", classpath, "Secret"], env={"SECRET": "made"})
    procs = [subprocess.Popen([*JFAST, "-cp", classpath, "Secret"], stdout=subprocess.PIPE,
                              text=True, env={**runner.env, "SECRET": f"s{i}", "LATER": "l"})
             for i in range(16)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outs == [f"secret=s{i} later=l" for i in range(16)]


def test_the_whole_environment_read_is_all_of_it(runner: Runner, classpath: str,
                                                 tmp_path: Path):
    for env, outcome in (({"A": "1"}, "started"), ({"A": "1"}, "restored"),
                         ({"A": "2"}, "started")):
        res = runner.run([*JFAST, "-cp", classpath, "Whole"], env=env)
        assert res.stdout == "ready true\n" and runner.last()["outcome"] == outcome
