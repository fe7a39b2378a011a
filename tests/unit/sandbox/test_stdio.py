"""fds 0-2 and their relays (jfast/sandbox/stdio.py), in a child process
whose stdio is a terminal, a pipe, a file or closed."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

SHOW = ("from jfast.sandbox import stdio; io = stdio.prepare(); "
        "print(io.shape, [f.kind for f in io.program_side], file=sys.stderr)")


def shape_of(stdin, stdout, stderr=None, **kw) -> str:
    code = f"import sys; {SHOW}"
    res = subprocess.run([sys.executable, "-c", code], stdin=stdin, stdout=stdout,
                         stderr=subprocess.PIPE if stderr is None else stderr, text=True,
                         cwd=Path(__file__).resolve().parents[3], **kw)
    return res.stderr.strip()


def test_kinds_and_sharing(tmp_path: Path):
    with open(tmp_path / "out", "w") as f:
        # a file gets a relay: the program sees a pipe, the caller's offset moves on
        assert shape_of(subprocess.DEVNULL, f) == "dev0,pipe1,pipe2 ['dev', 'pipe', 'pipe']"
    assert shape_of(subprocess.PIPE, subprocess.PIPE).startswith("pipe0,pipe1,pipe2")


def test_a_closed_fd_becomes_dev_null():
    res = subprocess.run(["sh", "-c", f"exec {sys.executable} -c \"import sys; {SHOW}\" 0<&-"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert res.stderr.strip().startswith("dev0,")


def test_a_terminal_is_handed_over_as_it_is(tmp_path: Path):
    main, side = pty.openpty()
    out = tmp_path / "shape"
    code = (f"import sys; from jfast.sandbox import stdio; "
            f"open({str(out)!r}, 'w').write(stdio.prepare().shape)")
    subprocess.run([sys.executable, "-c", code], stdin=side, stdout=side, stderr=side,
                   cwd=Path(__file__).resolve().parents[3], check=True)
    os.close(side)
    os.close(main)
    assert out.read_text() == "tty0,tty0,tty0"
