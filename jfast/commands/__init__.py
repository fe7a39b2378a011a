"""jfast's own subcommands, one module each (jfast/cli.py's table): demo,
cache, doctor, ps, screenshot.

May import: anything but jfast/cli.py.
"""
