"""The private Xvfb's start-up shell and paths (jfast/display/xvfb.py); a real
one runs in tests/integration/test_awt.py."""

from __future__ import annotations

import os

from jfast.display import xvfb


def test_paths_and_the_wrapped_command():
    assert xvfb.socket_path(42, 7) == "/proc/42/root/tmp/.X11-unix/X7"
    argv, env = xvfb.wrap(["java", "-jar", "a.jar"], {"A": "1"}, 7, "/usr/bin/Xvfb",
                          "1280x1024x24")
    assert argv[:2] == ["/bin/sh", "-c"] and argv[-3:] == ["java", "-jar", "a.jar"]
    assert argv[4:8] == ["7", "/usr/bin/Xvfb", "1280x1024x24", ""]
    assert env == {"A": "1", "DISPLAY": ":7"}
    assert argv[8] == ("" if os.geteuid() == 0 else xvfb.lock_path(7))


def test_the_shells_word_on_its_start():
    for said, meaning in ((b"ok\n", None), (b"error Xvfb exited at start-up\n",
                                             "Xvfb exited at start-up"), (b"", "died")):
        r, w = os.pipe()
        os.write(w, said)
        os.close(w)
        got = xvfb.await_start(r, timeout=5)
        os.close(r)
        assert got == meaning or (meaning and meaning in got)
