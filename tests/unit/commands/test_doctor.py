"""`jfast doctor` (jfast/commands/doctor.py): its usage and its checks' form.
A whole doctor run, with its probe, is in tests/integration."""

from __future__ import annotations

from jfast.commands import doctor


def test_usage_errors_exit_2(capsys):
    assert doctor.main(["--frobnicate"]) == 2
    assert doctor.main(["--java", "/nonexistent/java"]) == 2
    assert "--java /nonexistent/java is not executable" in capsys.readouterr().err
    assert doctor.main(["--help"]) == 0


def test_a_check_as_json():
    c = doctor.Check("criu", "fail", "criu not found", "run ./setup.sh")
    assert c.as_dict() == {"name": "criu", "state": "fail", "detail": "criu not found",
                           "fix": "run ./setup.sh"}


def test_the_kernel_and_cache_checks_say_what_they_saw(tmp_path, monkeypatch):
    assert doctor._kernel().state == "ok"
    monkeypatch.setenv("JFAST_CACHE_DIR", str(tmp_path / "cache"))
    check = doctor._cache()
    assert check.state == "ok" and str(tmp_path / "cache") in check.detail
