"""Checkpoints that travel between machines (docs/fleet.md): what a
checkpoint needs of the machine that restores it (platform.py), an entry as
an OCI artifact (artifact.py) in an OCI image layout file (layout.py), and
the signatures that say who made it (signing.py).

May import: jfast.store, jfast.criu, jfast.sandbox, jfast.java, jfast.linux
and the base modules.
"""
