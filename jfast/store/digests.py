"""Content digests of the files a key covers (jars, source files, agent),
remembered across runs by file identity (linux/fs.py) in the cache's
`memo.json`, so a hit costs a stat per file, not a re-hash; a jar's
`Class-Path` is remembered with it."""

from __future__ import annotations

import os

from jfast import jsoncodec
from jfast.linux.fs import atomic_write, identity
from jfast.linux.sha256 import sha256
from jfast.store import integrity, trust

MEMO = "memo.json"


class FileDigests:
    """sha256 of files, remembered by identity across runs."""

    def __init__(self, root: str) -> None:
        self.path = os.path.join(root, MEMO)
        try:
            # A memo another user could write could pass a changed jar as unchanged.
            if trust.problem(self.path):
                raise ValueError(self.path)
            with open(self.path) as f:
                self.memo: dict[str, dict] = jsoncodec.loads(f.read())
            if not isinstance(self.memo, dict):
                raise ValueError(self.path)
        except (OSError, ValueError):
            self.memo = {}
        self.dirty = False

    def _entry(self, path: str) -> dict | None:
        try:
            ident = identity(path)
        except OSError:
            return None
        entry = self.memo.get(ident)
        if not isinstance(entry, dict) or not isinstance(entry.get("sha"), str):
            from jfast.java.jarfile import class_path  # only for a file not seen before
            entry = {"sha": integrity.digest(path), "class_path": class_path(path)}
            self.memo[ident] = entry
            self.dirty = True
        return entry

    def digest(self, path: str) -> str:
        entry = self._entry(path)
        return entry["sha"] if entry else "missing"

    def of_key_file(self, path: str) -> str:
        """What the key holds for a file of `files`: a jar's digest, or a
        class directory's (see jar_closure)."""
        return dir_digest(path) if os.path.isdir(path) else self.digest(path)

    def jar_closure(self, jars: list[str]) -> dict[str, str]:
        """Digests of jars and, transitively, the jars their manifests name."""
        out: dict[str, str] = {}
        todo = list(jars)
        while todo:
            jar = os.path.abspath(todo.pop())
            if jar in out:
                continue
            if os.path.isdir(jar):
                out[jar] = dir_digest(jar)
                continue
            entry = self._entry(jar)
            out[jar] = entry["sha"] if entry else "missing"
            if entry:
                base = os.path.dirname(jar)
                todo += [os.path.join(base, p) for p in entry.get("class_path") or []]
        return out

    def save(self) -> None:
        if self.dirty:
            atomic_write(self.path, jsoncodec.dumps(self.memo))


def dir_digest(path: str) -> str:
    """A class directory: its class files' names, sizes and mtimes (cheap to
    redo). Only classes: other files there (a program's output, jfast's own
    cache under `-cp .` in a home folder) change from run to run, and a
    resource a program read before its checkpoint is checked as one of its
    inputs. Folders whose names cannot be a package are not walked."""
    h = sha256()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d.replace("$", "_").isidentifier())
        for name in sorted(filenames):
            if not name.endswith(".class"):
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            h.update(f"{os.path.relpath(full, path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()
