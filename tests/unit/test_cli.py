"""The command line (jfast/cli.py): subcommands from one table, and help."""

from __future__ import annotations

import importlib

from jfast import cli


def test_every_subcommand_has_a_module_with_main():
    for name, (module, summary) in cli.SUBCOMMANDS.items():
        assert callable(importlib.import_module(f"jfast.commands.{module}").main), name
        assert name in cli.usage() and summary in cli.usage()


def test_jfast_help_lists_the_table(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["jfast"])
    assert cli.main(["--jfast-help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name}" in out for name in cli.SUBCOMMANDS)


def test_a_subcommand_error_is_one_line_and_its_exit_status(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["jfast"])
    monkeypatch.setenv("JFAST_CACHE_DIR", "/nonexistent/jfast-cache")
    assert cli.main(["screenshot"]) == 2
    assert capsys.readouterr().err.startswith("jfast screenshot: no program with a virtual")
