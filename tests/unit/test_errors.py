"""The one error root (jfast/errors.py)."""

from __future__ import annotations

from jfast.errors import BadSetting, FastPathUnavailable, JfastError, UsageError
from jfast.java.cmdline import ArgfileError
from jfast.store.entry import BadEntry
from jfast.store.integrity import Refused


def test_every_expected_failure_is_a_jfast_error():
    for kind in (FastPathUnavailable, UsageError, BadSetting, ArgfileError, BadEntry, Refused):
        assert issubclass(kind, JfastError)
    assert JfastError("x").exit_code == 2 and JfastError("x", 127).exit_code == 127


def test_fast_path_unavailable_keeps_reason_and_detail():
    e = FastPathUnavailable("criu not found", "install CRIU", lasting=True)
    assert (str(e), e.reason, e.detail, e.lasting) == \
        ("criu not found: install CRIU", "criu not found", "install CRIU", True)
