"""python-xlib on a private display (jfast/display/xwatch.py), against a real
Xvfb started by the test, without root."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from jfast.display import xwatch


@pytest.fixture
def xserver():
    found = shutil.which("Xvfb")
    if not found:
        if os.environ.get("JFAST_MUST_WORK", "") not in ("", "0"):
            pytest.fail("JFAST_MUST_WORK is set but Xvfb is missing: run ./setup.sh")
        pytest.skip("Xvfb is not installed: run ./setup.sh")
    # -displayfd: Xvfb picks a free number itself and says it once it
    # accepts connections (a number chosen here could be taken meanwhile by
    # another test run's Xvfb, whose socket we would then talk to).
    r, w = os.pipe()
    proc = subprocess.Popen([found, "-displayfd", str(w), "-screen", "0", "320x200x24",
                             "-nolisten", "tcp"], stderr=subprocess.DEVNULL, pass_fds=(w,))
    os.close(w)
    try:
        with os.fdopen(r) as said:
            number = said.readline().strip()
        assert number, "Xvfb exited without a display"
        yield f"/tmp/.X11-unix/X{number}"
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
