"""jfast's own subcommands, one module each (jfast/cli.py's table): demo,
cache, checkpoint, doctor, ps, screenshot, install and uninstall (the way
in: wayin).

May import: anything but jfast/cli.py.
"""
