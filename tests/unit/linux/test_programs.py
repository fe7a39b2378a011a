"""Helper programs (jfast/linux/programs.py): `which`, and `run`."""

from __future__ import annotations

from pathlib import Path

from jfast.linux import programs


def test_which_takes_the_first_executable_the_filter_accepts(tmp_path: Path):
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    (tmp_path / "a" / "tool").write_text("not executable")
    for folder in ("b", "c"):
        (tmp_path / folder / "tool").write_text("#!/bin/sh\n")
        (tmp_path / folder / "tool").chmod(0o755)
    path = ":".join(str(tmp_path / f) for f in ("a", "b", "c"))
    assert programs.which("tool", path) == str(tmp_path / "b" / "tool")
    assert programs.which("tool", path, accept=lambda p: "/c/" in p) == str(
        tmp_path / "c" / "tool")
    assert programs.which("nothere", path) is None


def test_run_keeps_the_output():
    res = programs.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "err\n")
