"""Before a restore: is the entry there, ours, whole and unchanged?

`admit` holds the entry's shared lock from the checks until CRIU has read
the images (restore.py releases it), so a prune, a quarantine or a publish
by another run cannot move the files in between. A damaged entry and an
entry another user could have written are set aside (quarantined) and this
run starts the program normally, making a fresh checkpoint: the next run
restores again.
"""

from __future__ import annotations

import os

from jfast.errors import FastPathUnavailable
from jfast.log import verbose
from jfast.store import integrity, trust
from jfast.store.entry import META, BadEntry, Entry, Meta


class SetAside(FastPathUnavailable):
    """The entry was damaged or refused and has been moved aside."""


def admit(entry: Entry) -> Meta | None:
    """The entry's manifest if it may be restored, None if there is no entry;
    raises SetAside (after quarantining it) if it may not."""
    if not entry.published():
        if os.path.isdir(entry.dir):     # published whole, so its manifest was lost
            entry.quarantine()
            raise SetAside("checkpoint damaged", f"{META} is missing")
        return None                      # a miss costs two stats and no lock
    entry.hold()
    try:
        why = trust.problem(entry.dir) or trust.problem(os.path.join(entry.dir, META))
        if why:
            raise integrity.Refused(why)
        meta = entry.meta()
        if meta is None:                 # removed or replaced while we waited
            entry.release()
            return None
        why = trust.problem(entry.images)
        if why:
            raise integrity.Refused(why)
        damage, moved = integrity.quick_check(entry.images, meta.raw)
        if not damage and moved:
            verbose(f"image stamps of {entry.key} changed: checking the digests")
            damage = integrity.verify(entry.images, meta.raw)
            if not damage:
                try:
                    entry.restamp(meta)  # best effort: a read-only cache checks every time
                except OSError:
                    pass
    except integrity.Refused as e:
        entry.quarantine()
        trust.warn_refused(str(e), f"checkpoint {entry.key} was set aside and a new one "
                           "is made", reason="checkpoint refused")
        raise SetAside("checkpoint refused", str(e)) from None
    except BadEntry as e:
        damage = str(e)
    if damage:
        entry.quarantine()
        raise SetAside("checkpoint damaged", damage)
    return meta
