"""`jfast uninstall`: undo `jfast install` (commands/install.py)."""

from jfast.commands.install import main_uninstall as main

__all__ = ["main"]
