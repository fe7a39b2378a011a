"""One checkpoint in the store, and the one owner of its format.

An entry is a folder `entries/<key>/` holding `meta.json` (the manifest
below), `images/` (CRIU's files; `jfast-output`, what the program printed
before its ready point, sandbox/replay.py; `jfast-write-N`, the bytes it
wrote to files, sandbox/writes.py: every file a restore uses, under
the manifest's digests and the owner and mode checks), `used` (a byte per
restore) and `failures` (why restores failed since the last that worked).
It is written as `<key>.*.pending/` and renamed into place
(`Pending.publish`), under the entry's lock.

`meta.json` is read only through `Meta.parse`, which checks its format
version, its own digest (a flipped byte that leaves valid JSON is caught
too) and the type of every field it has, and written only here (`Pending`,
`Entry.restamp`). What a run records about itself is handed in as plain
values by the cold run (cold/warmup.py) and comes back as `Meta`'s fields.
"""

from __future__ import annotations

import os
import time

from jfast import jsoncodec
from jfast.errors import JfastError
from jfast.linux.fs import atomic_write, fresh_name, remove_tree
from jfast.linux.sha256 import sha256
from jfast.store import integrity, locks, trust

META = "meta.json"
# The version of meta.json's layout; an entry of another version is not used.
FORMAT = 2
SELF_DIGEST = "meta_sha256"


class BadEntry(JfastError):
    """An entry whose manifest cannot be read as this jfast writes it."""


# Every field meta.json may hold: its type, and whether every entry has it.
_FIELDS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "format": (int, True),
    "meta_sha256": (str, True),
    "key": (str, True),
    "argv": (list, True),
    "java": (str, True),
    "criu_version": (str, True),
    "material": (dict, True),
    "created": ((int, float), True),
    "jdk": (dict, False),
    "plain": (str, False),          # a restore would gain nothing: java runs it
    "ready_point": (str, False),
    "stale_runs": (int, False),     # of the entries this one replaced (STALE_RUNS)
    "stdio": (list, False),
    "pipes": (dict, False),
    "display": (dict, False),
    "inputs": (dict, False),
    "termios": ((list, type(None)), False),
    "output": ((dict, type(None)), False),
    "steps": (list, False),         # what a restore does to files again (sandbox/writes.py)
    "writes": (list, False),        # files a restore writes again (sandbox/writes.py)
    "image_hash": (str, False),
    "image_files": (dict, False),
    "image_digests": (dict, False),
    "image_stamps": (dict, False),
    "image_bytes": (int, False),
    "origin": (dict, False),        # imported: the key it had, who signed it (fleet/artifact.py)
}
# An entry with images has all of these.
_IMAGE_FIELDS = ("ready_point", "stdio", "pipes", "display", "inputs", "output",
                 "image_hash", "image_files", "image_digests", "image_stamps", "image_bytes")


class Meta:
    """An entry's manifest, checked. `raw` is the parsed JSON, for `jfast
    cache info`."""

    def __init__(self, raw: dict) -> None:
        self.raw = raw

    @classmethod
    def parse(cls, text: str, key: str) -> Meta:
        """The manifest in `text` of the entry named `key`; BadEntry says
        what is wrong with it."""
        try:
            raw = jsoncodec.loads(text)
        except ValueError as e:
            raise BadEntry(f"{META} is not JSON ({e})") from None
        if not isinstance(raw, dict):
            raise BadEntry(f"{META} holds a {type(raw).__name__}, not an object")
        if raw.get("format") != FORMAT:
            raise BadEntry(f"{META} is of format {raw.get('format')!r}, not {FORMAT}")
        if raw.get(SELF_DIGEST) != _digest(raw):
            raise BadEntry(f"{META} does not match its own digest")
        for name, (kind, needed) in _FIELDS.items():
            if name not in raw:
                if needed or (name in _IMAGE_FIELDS and "plain" not in raw):
                    raise BadEntry(f"{META} has no {name}")
                continue
            if not isinstance(raw[name], kind) or isinstance(raw[name], bool):
                raise BadEntry(f"{META}'s {name} is a {type(raw[name]).__name__}")
        if raw["key"] != key:
            raise BadEntry(f"{META} is the manifest of {raw['key']}, not of {key}")
        meta = cls(raw)
        meta._check_parts()
        return meta

    def _check_parts(self) -> None:
        """The nested parts a restore acts on."""
        raw = self.raw
        if self.plain is not None:
            return
        for f in raw["stdio"]:
            if not (isinstance(f, dict) and isinstance(f.get("fd"), int)
                    and isinstance(f.get("resource"), str) and isinstance(f.get("kind"), str)):
                raise BadEntry(f"{META}'s stdio is malformed")
        if not all(isinstance(raw["pipes"].get(k), str) for k in ("ev", "cmd")):
            raise BadEntry(f"{META}'s pipes are malformed")
        output = raw["output"]
        if output is not None and output.get("file") != OUTPUT:
            raise BadEntry(f"{META} names another output file")
        if not isinstance(raw["material"].get("criu"), str):
            raise BadEntry(f"{META}'s key material has no criu")
        for i, w in enumerate(raw.get("writes", [])):
            if not (isinstance(w, dict) and _path(w.get("path"))
                    and w.get("kind") in ("create", "append") and w.get("data") == write_data(i)
                    and _count(w.get("start")) and _count(w.get("mode"))
                    and (w.get("reopen") is None or _count(w.get("reopen")))):
                raise BadEntry(f"{META}'s writes are malformed")
        for step in raw.get("steps", []):
            if not (isinstance(step, dict) and _path(step.get("path")) and (
                    (step.get("op") == "opened" and isinstance(step.get("existed"), bool))
                    or step.get("op") == "absent"
                    or (step.get("op") == "remove" and isinstance(step.get("perform"), bool))
                    or (step.get("op") == "rename" and _path(step.get("to"))
                        and isinstance(step.get("replaced"), bool)
                        and isinstance(step.get("perform"), bool)))):
                raise BadEntry(f"{META}'s steps are malformed")

    # -- what the run that made the entry recorded
    @property
    def key(self) -> str:
        return self.raw["key"]

    @property
    def argv(self) -> list[str]:
        return self.raw["argv"]

    @property
    def java(self) -> str:
        return self.raw["java"]

    @property
    def material(self) -> dict:
        return self.raw["material"]

    @property
    def created(self) -> float:
        return self.raw["created"]

    @property
    def plain(self) -> str | None:
        """Why java starts this program as soon as a restore would, or None."""
        return self.raw.get("plain")

    def plain_expired(self, now: float | None = None) -> bool:
        """A plain verdict is measured again after PLAIN_DAYS: one run's
        start and preloading decided it, on a machine that changes."""
        return (now or time.time()) - self.created > PLAIN_DAYS * 86400

    @property
    def ready_point(self) -> str | None:
        return self.raw.get("ready_point")

    @property
    def stdio(self) -> list[dict]:
        return self.raw.get("stdio") or []

    @property
    def pipes(self) -> dict[str, str]:
        return self.raw.get("pipes") or {}

    @property
    def display(self) -> dict:
        return self.raw.get("display") or {}

    @property
    def termios(self) -> list | None:
        return self.raw.get("termios")

    @property
    def output(self) -> dict | None:
        return self.raw.get("output")

    @property
    def inputs_cwd(self) -> str | None:
        """The directory CRIU reopens as the program's working directory."""
        return (self.raw.get("inputs") or {}).get("cwd")

    @property
    def input_files(self) -> dict:
        """The files the program read before its checkpoint (cold/inputs.py)."""
        return (self.raw.get("inputs") or {}).get("files") or {}

    @property
    def input_env(self) -> dict:
        """The environment variables the program read before its checkpoint,
        with their values then (None: unset)."""
        return (self.raw.get("inputs") or {}).get("env") or {}

    @property
    def read_whole_env(self) -> bool:
        """Whether the program read the whole environment (System.getenv())."""
        return (self.raw.get("inputs") or {}).get("env_whole") is True

    @property
    def stale_runs(self) -> int:
        """How many stale entries, never restored, this one replaced in a row."""
        return self.raw.get("stale_runs", 0)

    @property
    def steps(self) -> list[dict]:
        """What the program did to files before its checkpoint, in order
        (sandbox/writes.py): {op: opened, path, existed}, {op: absent, path}
        (a removal or rename found none), {op: remove, path, perform} and
        {op: rename, path, to, replaced, perform}."""
        return self.raw.get("steps", [])

    @property
    def writes(self) -> list[dict]:
        """What the program wrote to files before its checkpoint, for a
        restore to write again (sandbox/writes.py): path, kind, start, data
        (a file of the images), mode and reopen (open flags, or None)."""
        return self.raw.get("writes", [])

    @property
    def image_bytes(self) -> int:
        return self.raw.get("image_bytes", 0)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _path(value: object) -> bool:
    return isinstance(value, str) and value.startswith("/")


OUTPUT = "jfast-output"     # early output (sandbox/replay.py), beside CRIU's files


def write_data(index: int) -> str:
    """The images' file holding the bytes of the manifest's `index`th write."""
    return f"jfast-write-{index}"

FAILURES = "failures"        # why restores failed since the last that worked
USED = "used"                # a byte per restore
RESTORE_FAILURES = 2         # in a row: the entry is set aside
SAMPLES_KEPT = 5             # ratios at main kept per key
PLAIN_DAYS = 7               # a plain verdict's life
# Runs in a row that found the last checkpoint stale (its inputs or files
# changed) and made a new one, never restored: then no more are made. jEdit
# needs 6 (its log's five backups fill up); a program whose files differ on
# every run (a log moved aside under a name with the time in it) never ends.
STALE_RUNS = 8


class Entry:
    """One checkpoint in the store, present or not."""

    def __init__(self, root: str, key: str) -> None:
        self.root = str(root)
        self.key = key
        self._held: locks.Lock | None = None      # the shared lock while restoring

    @property
    def dir(self) -> str:
        return os.path.join(self.root, "entries", self.key)

    @property
    def images(self) -> str:
        return os.path.join(self.dir, "images")

    @property
    def output(self) -> str:
        """What the program printed before its checkpoint (sandbox/replay.py)."""
        return os.path.join(self.images, OUTPUT)

    @property
    def classes(self) -> str:
        """Classes the program loaded on its first run, preloaded next time."""
        return os.path.join(self.root, "entries", f"{self.key}.classes")

    @property
    def samples(self) -> str:
        """The ratios of preloading to start of the program's runs at main,
        one a line, newest last (cold/warmup.py's main_verdict)."""
        return os.path.join(self.root, "entries", f"{self.key}.samples")

    def add_sample(self, ratio: float) -> list[float]:
        """Add this run's ratio; the last SAMPLES_KEPT, newest last."""
        kept: list[float] = []
        try:
            if not trust.problem(self.samples):     # another user's plant counts for nothing
                with open(self.samples, errors="replace") as f:
                    kept = [float(x) for x in f.read().split()[-(SAMPLES_KEPT - 1):]]
        except (OSError, ValueError):
            kept = []
        kept.append(round(ratio, 3))
        try:
            atomic_write(self.samples, "".join(f"{r}\n" for r in kept).encode())
        except OSError:
            pass                 # a read-only cache: this run's ratio alone
        return kept

    def meta(self) -> Meta | None:
        """The manifest; None when there is no entry; BadEntry when it is damaged."""
        try:
            with open(os.path.join(self.dir, META)) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            raise BadEntry(f"{META} unreadable: {e}") from None
        return Meta.parse(text, self.key)

    def published(self) -> bool:
        return os.path.exists(os.path.join(self.dir, META))

    def restamp(self, meta: Meta) -> None:
        """The image files' digests held though their stamps moved: remember
        the new stamps, so the next restore is cheap again."""
        meta.raw["image_stamps"] = integrity.stamps(self.images)
        _write(os.path.join(self.dir, META), meta.raw)

    def hold(self) -> None:
        """Hold the entry's shared lock: while a run restores from it, no
        publish, quarantine or prune moves its files."""
        self._held = locks.entry_lock(self.root, self.key)
        self._held.acquire(shared=True)

    def release(self) -> None:
        if self._held is not None:
            self._held.release()
            self._held = None

    def quarantine(self) -> None:
        """Move a damaged entry aside so no run uses it and the next makes a new one."""
        self.release()
        with self.lock():
            try:
                os.rename(self.dir, f"{self.dir}.bad.{os.getpid()}")
            except OSError:
                pass

    def lock(self) -> locks.Lock:
        return locks.entry_lock(self.root, self.key)

    def touch(self) -> None:
        """Count a use: `used` grows by a byte per restore (the hits) and its
        mtime is the last use. One O_APPEND write: cheap, and safe when
        several runs restore at once. A restore that worked clears the
        failures."""
        _append(os.path.join(self.dir, USED), b".")
        try:
            os.unlink(os.path.join(self.dir, FAILURES))
        except OSError:
            pass

    def failed(self, why: str) -> bool:
        """Count a restore that failed (criu could not restore the image);
        True when it failed RESTORE_FAILURES times in a row and was set
        aside: the next run makes a new checkpoint, instead of meeting the
        same failure on every run (an image that holds a file or terminal
        no later run can give it back)."""
        path = os.path.join(self.dir, FAILURES)
        _append(path, (why.replace("\n", " ")[:300] + "\n").encode())
        if len(self.failures()) < RESTORE_FAILURES:
            return False
        self.give_up(why)        # a new checkpoint would fail the same way
        return True

    def give_up(self, why: str) -> None:
        """Set the entry aside and make no more checkpoints of this key:
        runs are java's until `jfast cache prune` removes the mark."""
        self.quarantine()
        _append(self.unrestorable, (why.replace("\n", " ")[:300] + "\n").encode())

    def given_up(self) -> str | None:
        """Why no checkpoint of this key is made (the mark's last reason), or None."""
        try:
            with open(self.unrestorable, errors="replace") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return None
        except OSError:
            return "unknown"
        return lines[-1] if lines else "unknown"

    def went_stale(self, meta: Meta, why: str) -> int | None:
        """Count a run that found this entry stale and makes a new one: how
        many in a row, never restored, the new one follows (its manifest's
        `stale_runs`); None when that reached STALE_RUNS and the key was
        given up instead."""
        try:
            restored = os.path.getsize(os.path.join(self.dir, USED)) > 0
        except OSError:
            restored = False
        runs = 0 if restored else meta.stale_runs + 1
        if runs < STALE_RUNS:
            return runs
        self.give_up(f"its checkpoint went stale on {runs} runs in a row, never restored "
                     f"({why})")
        return None

    @property
    def unrestorable(self) -> str:
        """Says why this key's checkpoints could not be restored: while it is
        there no run makes one (`jfast cache prune` removes it)."""
        return os.path.join(self.root, "entries", f"{self.key}.unrestorable")

    def failures(self) -> list[str]:
        """Why the restores since the last one that worked failed, oldest first."""
        try:
            with open(os.path.join(self.dir, FAILURES), errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []


class Pending:
    """A checkpoint being written; `publish` renames it into place."""

    def __init__(self, entry: Entry, images: str | None = None) -> None:
        """`images`: a folder of the same cache that criu is writing (a dump
        started ahead, cold/warmup.py), moved in as the images."""
        self.entry = entry
        self.dir = os.path.join(entry.root, "entries", fresh_name(f"{entry.key}.", ".pending"))
        os.mkdir(self.dir, mode=0o700)
        self.images = os.path.join(self.dir, "images")
        if images is None:
            os.mkdir(self.images, mode=0o700)
        else:
            os.rename(images, self.images)     # criu writes on through its folder's fd
        self.output = os.path.join(self.images, OUTPUT)

    def publish(self, fields: dict) -> None:
        """Seal the images (modes, digests, stamps), write the manifest from
        the run's `fields` and swap the entry in under the entry's lock."""
        meta = {**fields, **integrity.seal(self.dir), "format": FORMAT, "created": time.time()}
        from jfast.java.jdk import jdk_release
        meta.setdefault("jdk", jdk_release(meta["java"]))
        Meta(meta)._check_parts()       # what a restore will rely on
        _write(os.path.join(self.dir, META), meta)
        with self.entry.lock():
            old = None
            if os.path.exists(self.entry.dir):
                old = f"{self.entry.dir}.old.{os.getpid()}"
                os.rename(self.entry.dir, old)
            os.rename(self.dir, self.entry.dir)
        if old is not None:
            remove_tree(old)

    def discard(self) -> None:
        remove_tree(self.dir)


def _append(path: str, data: bytes) -> None:
    """One O_APPEND write (0600), quietly: a read-only cache keeps nothing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError:
        pass


def _write(path: str, meta: dict) -> None:
    meta[SELF_DIGEST] = _digest(meta)
    atomic_write(path, jsoncodec.dumps(meta, indent=1, sort_keys=True))


def _digest(meta: dict) -> str:
    """sha256 of the manifest's fields but this one, in a canonical form."""
    fields = {k: v for k, v in meta.items() if k != SELF_DIGEST}
    return sha256(jsoncodec.dumps(fields, sort_keys=True).encode()).hexdigest()
