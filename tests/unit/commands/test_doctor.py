"""`jfast doctor` (jfast/commands/doctor.py): its usage and its checks' form.
A whole doctor run, with its probe, is in tests/integration."""

from __future__ import annotations

import pytest

from jfast.commands import doctor
from jfast.errors import UsageError


def test_usage_errors_exit_2(capsys):
    for args, says in ((["--frobnicate"], "unrecognized arguments"),
                       (["--java", "/nonexistent/java"], "is not executable")):
        with pytest.raises(UsageError, match=says) as raised:
            doctor.main(args)
        assert raised.value.exit_code == 2
    with pytest.raises(SystemExit) as done:
        doctor.main(["--help"])
    assert done.value.code == 0 and "--java PATH" in capsys.readouterr().out


def test_a_check_as_json():
    c = doctor.Check("criu", "fail", "criu not found", "run ./setup.sh")
    assert c.as_dict() == {"name": "criu", "state": "fail", "detail": "criu not found",
                           "fix": "run ./setup.sh"}


def test_the_kernel_and_cache_checks_say_what_they_saw(tmp_path, monkeypatch):
    assert doctor._kernel().state == "ok"
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path / "cache"))
    check = doctor._cache()
    assert check.state == "ok" and str(tmp_path / "cache") in check.detail
