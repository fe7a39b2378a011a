"""The one exception root of jfast: every expected failure is a JfastError,
caught at the edge (jfast/cli.py for subcommands, jfast/launcher.py for a
run, which then starts java) and shown as one line that names the fix."""

from __future__ import annotations


class JfastError(Exception):
    """An error with a one-line message that names the fix, and an exit code."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class FastPathUnavailable(JfastError):
    """The fast path cannot be taken; the program still runs normally.

    `reason` is a short machine-friendly phrase for the run report;
    `lasting` marks a state of the machine that every run will meet until
    someone fixes it (criu missing, user namespaces forbidden)."""

    def __init__(self, reason: str, detail: str = "", lasting: bool = False) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.lasting = lasting


class UsageError(JfastError):
    """A subcommand was called wrongly (exit status 2)."""


class BadSetting(JfastError):
    """A JFAST_* variable holds a value jfast cannot use (settings.py)."""
