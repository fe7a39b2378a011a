"""What the cache holds: its entries (with size, age, hits and whether they
can still be used) and the leftovers of runs that did not finish.

Reading only: `jfast cache list|info` show this, prune.py acts on it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from jfast import __version__
from jfast.java.jdk import java_home
from jfast.linux.fs import identity
from jfast.store.digests import FileDigests
from jfast.store.entry import META, USED, BadEntry, Entry, Meta
from jfast.store.key import cpu_part

LEFTOVER_KINDS = {
    "pending": "partial",        # a dump or publish that did not finish
    "bad": "quarantined",        # damaged or refused, set aside
    "old": "replaced",           # an entry replaced by a newer one of its key
    "trash": "removing",         # being removed
    "unrestorable": "unrestorable",   # its checkpoints failed to restore: none made
}
SCRATCH_AGE = 600                # scratch files older than this are leftovers
# What a key's runs leave before (and beside) its entry: the class list of
# its last run and the ratios of its runs at main; kind "classes".
BEFORE_ENTRY = ("classes", "samples")


@dataclass
class Item:
    name: str                    # its name under entries/ (or work/)
    key: str
    # entry | partial | quarantined | replaced | removing | classes | scratch
    kind: str
    path: Path
    size: int = 0                # bytes of its files (with the entry's class list)
    meta: Meta | None = None
    broken: str | None = None    # why its manifest cannot be read (a damaged entry)
    failures: list[str] = field(default_factory=list)   # restores failed since one worked
    created: float | None = None
    last_used: float | None = None
    hits: int = 0
    extra: list[Path] = field(default_factory=list)   # files removed with it

    @property
    def program(self) -> str:
        return program_name(self.meta)

    @property
    def last_activity(self) -> float:
        """What least-recently-used eviction orders by."""
        return self.last_used or self.created or 0.0


def program_name(meta: Meta | None) -> str:
    """A short name: the jar's file name, the main class, the module or source."""
    material = meta.material if meta else {}
    target = material.get("target") or ""
    if material.get("mode") in ("jar", "source"):
        return os.path.basename(target)
    return target or "?"


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _entry(root: Path, name: str, path: Path) -> Item:
    item = Item(name, name, "entry", path)
    entry = Entry(root, name)
    item.failures = entry.failures()
    try:
        item.meta = entry.meta()
    except BadEntry as e:
        item.broken = str(e)             # listed as damaged; prune removes it
    if item.meta is None and item.broken is None:
        item.kind = "partial"            # no manifest: never restored
    elif item.meta is not None:
        item.created = item.meta.created
    try:
        used = os.stat(path / USED)
        item.last_used, item.hits = used.st_mtime, used.st_size
    except OSError:
        pass
    for kept in (entry.classes, entry.samples):      # what its earlier runs measured
        if os.path.exists(kept):
            item.extra.append(Path(kept))
    item.size = _tree_size(path) + sum(_tree_size(p) for p in item.extra)
    return item


def scan(root: Path | str, now: float | None = None) -> list[Item]:
    """Entries and leftovers, entries first, each group by key."""
    root = Path(root)
    now = time.time() if now is None else now
    try:
        names = sorted(os.listdir(root / "entries"))
    except FileNotFoundError:
        names = []
    entries = {n for n in names if "." not in n and (root / "entries" / n).is_dir()}
    items = [_entry(root, n, root / "entries" / n) for n in sorted(entries)]
    for name in names:
        path = root / "entries" / name
        key, _, rest = name.partition(".")
        if name in entries or (rest in BEFORE_ENTRY and key in entries):
            continue
        tag = rest.split(".")[-1] if rest.endswith("pending") else rest.split(".")[0]
        kind = LEFTOVER_KINDS.get(tag) or ("classes" if tag in BEFORE_ENTRY else None)
        if kind is None:
            continue                      # not ours to judge
        try:
            if name.endswith(".tmp") and now - path.stat().st_mtime < SCRATCH_AGE:
                continue                  # the agent is writing it right now
            item = Item(name, key, kind, path, size=_tree_size(path))
            if kind == "classes":         # written when its program's first run ended
                item.created = path.stat().st_mtime
            items.append(item)
        except OSError:
            continue                      # gone while we looked
    try:
        for scratch in sorted(os.scandir(root / "work"), key=lambda e: e.name):
            if now - scratch.stat(follow_symlinks=False).st_mtime > SCRATCH_AGE:
                items.append(Item(scratch.name, "", "scratch", Path(scratch.path),
                                  size=_tree_size(Path(scratch.path))))
    except OSError:
        pass
    return items


def stale_reason(item: Item, digests: FileDigests) -> str | None:
    """Why an entry can never be used again (its manifest is damaged, or what
    it was made with is gone or changed: a jar, the JDK, the kernel, CRIU,
    jfast), or None."""
    if item.broken or item.meta is None:
        return f"damaged: {item.broken}"
    m = item.meta.material
    if m.get("jfast") != __version__:
        return f"made by jfast {m.get('jfast')}, this is {__version__}"
    if m.get("uid") != os.geteuid():
        return f"made by uid {m.get('uid')}"
    if m.get("kernel") != os.uname().release:
        return f"made under kernel {m.get('kernel')}, this is {os.uname().release}"
    if m.get("cpu") != cpu_part():
        return "made on a CPU with other features"
    for what, ident in (("java", m.get("java")), ("criu", m.get("criu"))):
        path = (ident or "").split("|")[0]
        if not path or not os.path.exists(path):
            return f"{what} {path} is gone"
        if identity(path) != ident:
            return f"{what} {path} has changed"
    from jfast.java import agentfiles
    agent = os.path.join(agentfiles.DATA, "jfast-agent.jar")
    if os.path.exists(agent) and agentfiles.agent_identity(digests.digest, agent) != m.get("agent"):
        return "made with another jfast agent"
    home = java_home(m["java"].split("|")[0])
    if digests.digest(os.path.join(home, "release")) != m.get("jdk_release"):
        return f"the JDK in {home} has changed"
    for full, digest in sorted((m.get("files") or {}).items()):
        now = digests.of_key_file(full)
        if now != digest:
            return f"{full} is gone" if now == "missing" else f"{full} has changed"
    return None


def damage(item: Item) -> str | None:
    """Why an entry would be refused or set aside before a restore (a stat
    per file; the digests are checked by `verify`), or None."""
    from jfast.store import integrity, trust
    if item.broken or item.meta is None:
        return item.broken
    why = trust.problem(item.path) or trust.problem(item.path / META)
    if why:
        return why
    try:
        broken, _ = integrity.quick_check(item.path / "images", item.meta.raw)
    except integrity.Refused as e:
        return str(e)
    return broken
