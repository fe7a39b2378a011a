"""Files read before the ready point, and their check (jfast/cold/inputs.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jfast.cold import inputs


def _recorded(path: Path) -> dict[str, list]:
    ident = inputs.identity(os.stat(path))
    return {str(path): ident + [inputs._digest_if_same(str(path), ident)]}


def test_an_unchanged_or_merely_touched_input_is_fine(tmp_path: Path):
    f = tmp_path / "config.properties"
    f.write_text("greeting=hello\n")
    files = _recorded(f)
    assert inputs.changed(files) is None
    os.utime(f, ns=(1, 1))                      # times moved, content did not
    assert inputs.changed(files) is None


@pytest.mark.parametrize("how", ["edit", "same size", "remove"])
def test_a_changed_input_is_named(tmp_path: Path, how: str):
    f = tmp_path / "config.properties"
    f.write_text("greeting=hello\n")
    files = _recorded(f)
    if how == "edit":
        f.write_text("greeting=bonjour\n")
    elif how == "same size":
        f.write_text("greeting=HELLO\n")
    else:
        f.unlink()
    why = inputs.changed(files)
    assert why and str(f) in why


def test_a_large_input_is_compared_by_stat(tmp_path: Path):
    f = tmp_path / "big.bin"
    f.write_bytes(b"x" * (inputs.DIGEST_LIMIT + 1))
    files = _recorded(f)
    assert files[str(f)][5] is None              # no digest: too large
    os.utime(f, ns=(1, 1))
    assert inputs.changed(files)


def test_inputs_leave_out_what_the_key_covers_and_what_was_written(tmp_path: Path):
    ident = [1, 2, 3, 4, 5]
    opened = {"/etc/app.conf": ident, "/etc/passwd": ident, "/jdk/lib/x": ident,
              "/proc/self/maps": ident, "/w/out.log": ident, "/cp/A.class": ident,
              "/cp/data.txt": ident, "/gone (deleted)": ident}
    assert inputs.kept(opened, ["/jdk"], {"/w/out.log"}, ["/cp"]) == {
        "/cp/data.txt": ident, "/etc/app.conf": ident}
