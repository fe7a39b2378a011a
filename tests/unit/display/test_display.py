"""Which display a program gets (jfast/display/display.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jfast.display import display
from jfast.errors import FastPathUnavailable
from jfast.java import cmdline
from unit import compile_java


def _cmd(*argv: str) -> cmdline.JavaCommand:
    return cmdline.parse(list(argv), {}, "/")


def test_auto_picks_host_with_a_display_and_none_when_headless():
    env = {"DISPLAY": ":3", "XAUTHORITY": "/home/u/.Xauthority"}
    plan = display.resolve(env, _cmd("-cp", "/nowhere", "App"), "/")
    assert plan.mode == "host"
    assert plan.key_part() == {"mode": "host", "DISPLAY": ":3",
                               "XAUTHORITY": "/home/u/.Xauthority"}
    plan = display.resolve(env, _cmd("-Djava.awt.headless=true", "-cp", "/nowhere", "App"), "/")
    assert plan.mode == "none"
    plan = display.resolve({**env, "JAVA_TOOL_OPTIONS": "-Djava.awt.headless=true"},
                           _cmd("-cp", "/nowhere", "App"), "/")
    assert plan.mode == "none"
    assert display.resolve({}, _cmd("-cp", "/nowhere", "App"), "/").mode == "none"


def test_display_settings_are_checked():
    cmd = _cmd("-cp", "/nowhere", "App")
    with pytest.raises(FastPathUnavailable, match="JFAST_DISPLAY=fancy is not known"):
        display.resolve({"JFAST_DISPLAY": "fancy"}, cmd, "/")
    with pytest.raises(FastPathUnavailable, match="JFAST_SCREEN=big"):
        display.resolve({"JFAST_DISPLAY": "virtual", "JFAST_SCREEN": "big"}, cmd, "/")
    with pytest.raises(FastPathUnavailable, match="Xvfb not found"):
        display.resolve({"JFAST_DISPLAY": "virtual", "PATH": "/nonexistent"}, cmd, "/")


def test_free_display_numbers_avoid_running_servers():
    taken = display.taken_numbers()
    for _ in range(20):
        n = display.free_number()
        assert n not in taken and n in display.NUMBERS


def test_main_classes_that_open_windows_are_recognised_and_remembered(tmp_path: Path):
    gui = compile_java(tmp_path / "gui", {"Gui.java": """
        public class Gui {
            public static void main(String[] a) { new javax.swing.JFrame("x").setVisible(true); }
        }"""})
    cli = compile_java(tmp_path / "cli", {"Cli.java": """
        public class Cli {
            public static void main(String[] a) { System.out.println(java.awt.Color.RED); }
        }"""})
    assert display.opens_windows(_cmd("-cp", str(gui), "Gui"), "/")
    assert not display.opens_windows(_cmd("-cp", str(cli), "Cli"), "/")
    jar = tmp_path / "gui.jar"
    subprocess.run(["jar", "--create", "--file", str(jar), "--main-class", "Gui",
                    "-C", str(gui), "."], check=True)
    memo = tmp_path / "memo.json"
    cmd = _cmd("-jar", str(jar))
    assert display.opens_windows(cmd, "/", str(memo))
    [(ident, answer)] = json.loads(memo.read_text()).items()
    assert answer is True and str(jar) in ident
    memo.write_text(json.dumps({ident: False}))      # the memo answers, not the jar
    assert not display.opens_windows(cmd, "/", str(memo))
    if shutil.which("Xvfb"):
        env = {"PATH": os.environ["PATH"]}
        assert display.resolve(env, _cmd("-cp", str(gui), "Gui"), "/").mode == "virtual"
