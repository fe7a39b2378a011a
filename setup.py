"""Build hook: compile the Java agent and demo into jfast/data/ so the
installed package carries them (the JDK's javac is needed to build)."""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithJars(build_py):
    def run(self):
        sys.path.insert(0, str(HERE))
        from jfast.java import agentbuild
        agentbuild.build(HERE / "jfast" / "data")
        super().run()


setup(cmdclass={"build_py": BuildWithJars})
