"""The C library calls (jfast/linux/libc.py): errors become OSError with errno."""

from __future__ import annotations

import errno

import pytest

from jfast.linux.libc import check, libc


def test_a_failed_call_raises_with_its_errno():
    with pytest.raises(OSError) as got:
        check(libc.chdir(b"/nonexistent/jfast"), "chdir /nonexistent/jfast")
    assert got.value.errno == errno.ENOENT and "chdir /nonexistent/jfast" in str(got.value)
    check(0, "nothing")
