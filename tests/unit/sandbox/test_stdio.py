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


def shape_under(redirections: str, tmp_path: Path, record: bool = False) -> str:
    """The shape a run under these shell redirections gets."""
    out = tmp_path / "shape"
    rec = "from jfast.sandbox import replay; r = replay.Recording(); " if record else "r = None; "
    code = (f"{rec}from jfast.sandbox import stdio; io = stdio.prepare(r); "
            f"open({str(out)!r}, 'w').write(io.shape)")
    subprocess.run(f"exec {sys.executable} -c \"{code}\" {redirections}", shell=True,
                   cwd=Path(__file__).resolve().parents[3], check=True)
    return out.read_text()


def test_kinds_and_sharing(tmp_path: Path):
    with open(tmp_path / "out", "w") as f:
        # a file gets a relay: the program sees a pipe, the caller's offset moves on
        assert shape_of(subprocess.DEVNULL, f) == "io0,io1,io2 ['dev', 'pipe', 'pipe']"
    assert shape_of(subprocess.PIPE, subprocess.PIPE).startswith("io0,io1,io2")


def test_one_open_file_is_shared_and_two_opens_of_one_inode_are_not(tmp_path: Path):
    f = tmp_path / "f"
    assert shape_under(f"</dev/null >{f} 2>&1", tmp_path) == "io0,io1,io1"
    assert shape_under(f"</dev/null >{f} 2>{f}", tmp_path) == "io0,io1,io2"
    assert shape_under("</dev/null >/dev/null 2>/dev/null", tmp_path) == "io0,io1,io2"
    assert shape_under("</dev/null >/dev/null 2>&1", tmp_path) == "io0,io1,io1"


def test_a_recording_run_has_the_shape_of_a_restoring_one(tmp_path: Path):
    """Output goes through relays while recording; the key must not see that."""
    for redirections in ("</dev/null >/dev/null 2>/dev/null", "</dev/null >/dev/null 2>&1",
                         f"<{__file__} 2>&1 | cat", "</dev/null 2>/dev/null | cat"):
        assert (shape_under(redirections, tmp_path, record=True)
                == shape_under(redirections, tmp_path)), redirections


def test_a_closed_fd_becomes_dev_null():
    res = subprocess.run(["sh", "-c", f"exec {sys.executable} -c \"import sys; {SHOW}\" 0<&-"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert res.stderr.strip().startswith("io0,")


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


def test_a_recording_relay_counts_what_the_program_took_from_stdin():
    code = ("import os, time; from jfast.sandbox import replay, stdio; "
            "io = stdio.prepare(replay.Recording()); program = os.dup(io.fds[0]); "
            "io.started(); time.sleep(0.3); before = io.stdin_taken(); "
            "got = os.read(program, 2); print(before, io.stdin_taken(), got.decode())")
    res = subprocess.run([sys.executable, "-c", code], input="hello\n", capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[3])
    assert res.stdout.split() == ["0", "2", "he"]
