"""The checkpoint cache on disk: where it lives (cache), the key (key, with
file digests in digests), one entry and the one format of its files (entry),
its image digests (integrity), who may have written it (trust), its locks
(locks), the checks before a restore (admission), what it holds (inventory)
and removing what it need not (prune), the runs going on now (runs), and
messages said once (notice).

May import: the base modules, linux/ and java/.
"""
