"""python-xlib on a private display (jfast/display/xwatch.py), against a real
Xvfb started by the test, without root."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from jfast.display import display, xwatch


@pytest.fixture
def xserver():
    found = shutil.which("Xvfb")
    if not found:
        if os.environ.get("JFAST_MUST_WORK", "") not in ("", "0"):
            pytest.fail("JFAST_MUST_WORK is set but Xvfb is missing: run ./setup.sh")
        pytest.skip("Xvfb is not installed: run ./setup.sh")
    number = display.free_number()
    proc = subprocess.Popen([found, f":{number}", "-screen", "0", "320x200x24",
                             "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    path = f"/tmp/.X11-unix/X{number}"
    deadline = time.monotonic() + 20
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield path
    finally:
        proc.terminate()
        proc.wait()


def test_an_empty_screen_has_no_window_and_grabs_whole(xserver: str):
    watch = xwatch.WindowWatch(xserver)
    try:
        assert watch.app_window() is None
    finally:
        watch.close()
    width, height, rgb = xwatch.grab(xserver)
    assert (width, height, len(rgb)) == (320, 200, 320 * 200 * 3)
