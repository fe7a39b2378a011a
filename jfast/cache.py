"""The checkpoint cache: where entries live, the key, and publishing.

Layout under the cache directory (0700):

    entries/<key>/            a published checkpoint: meta.json, images/, used
    entries/<key>.*.pending/  a checkpoint being written (renamed when done)
    entries/<key>.bad.<pid>/  a damaged or refused entry, set aside
    entries/<key>.classes     classes a cold run loaded, preloaded next time
    locks/<key>.lock|.make    see locks.py
    work/                     per-run scratch (CRIU logs)
    memo.json                 file digests by file identity
    display-memo.json         whether a jar's main class opens windows (display.py)
    criu-version              the version of the criu binary last seen (criu.py)

Directories are 0700 and files 0600 (trust.py refuses anything another user
could have written); the image manifest is in integrity.py, listing and
pruning in inventory.py and prune.py.

The key covers everything that shapes the image (DESIGN.md s.4). Files
are hashed once and remembered by (path, size, mtime_ns, inode), so a hit
costs a stat per file, not a re-hash.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import __version__, integrity, locks, trust
from .javacli import JavaCommand
from .sha256 import sha256

# Environment variables that shape the JVM as it starts (options, class
# path, locale and encodings, time zone, native library path, the dynamic
# linker) or that programs commonly read before their ready point (HOME,
# USER); a different value is a different key. A restored program sees the
# caller's values of all other variables (README: "A restored run").
KEY_ENV = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
           "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "HOME", "USER",
           "LD_LIBRARY_PATH", "LD_PRELOAD", "GLIBC_TUNABLES", "JFAST_READY")
META = "meta.json"


def cache_dir() -> Path:
    """$JFAST_CACHE_DIR, else the user's cache directory as platformdirs
    finds it. The usual cases (an absolute $XDG_CACHE_HOME or $HOME) are
    worked out here, because importing platformdirs costs every run some
    6 ms (it loads tempfile, shutil, bz2 and lzma); a test holds the two
    answers equal."""
    env = os.environ.get("JFAST_CACHE_DIR")
    if env:
        return Path(env)
    xdg, home = os.environ.get("XDG_CACHE_HOME", ""), os.environ.get("HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg, "jfast")
    if os.path.isabs(home):
        return Path(home, ".cache", "jfast")
    import platformdirs
    return Path(platformdirs.user_cache_dir("jfast", appauthor=False))


def ensure_dirs(root: Path) -> None:
    """Create the cache (0700), then refuse it if another user could write it."""
    for sub in ("", "entries", "locks", "work"):
        (root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    trust.check_root(root)


def writable(root: Path) -> bool:
    """False for a cache on a read-only file system (restores still work)."""
    return os.access(root / "entries", os.W_OK)


def scratch(root: Path, prefix: str) -> Path:
    """A private scratch directory: in the cache's work/, else (a read-only
    or full cache) in the system's temporary directory."""
    path = root / "work" / f"{prefix}{os.getpid()}.{time.monotonic_ns()}"
    try:
        path.mkdir(mode=0o700)
        return path
    except OSError:
        import tempfile  # rare: tempfile costs a restore 2 ms to import

        return Path(tempfile.mkdtemp(prefix=f"jfast-{prefix}"))


class FileDigests:
    """sha256 of files, remembered by identity across runs."""

    def __init__(self, root: Path) -> None:
        self.path = root / "memo.json"
        try:
            # A memo another user could write could pass a changed jar as unchanged.
            if trust.problem(self.path):
                raise ValueError(self.path)
            self.memo: dict[str, dict] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.memo = {}
        self.dirty = False

    def _entry(self, path: str) -> dict | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        ident = f"{path}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
        entry = self.memo.get(ident)
        if entry is None:
            from .manifest import class_path  # only for a file not seen before
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
        return _dir_digest(path) if os.path.isdir(path) else self.digest(path)

    def jar_closure(self, jars: list[str]) -> dict[str, str]:
        """Digests of jars and, transitively, the jars their manifests name."""
        out: dict[str, str] = {}
        todo = list(jars)
        while todo:
            jar = os.path.abspath(todo.pop())
            if jar in out:
                continue
            if os.path.isdir(jar):
                out[jar] = _dir_digest(jar)
                continue
            entry = self._entry(jar)
            out[jar] = entry["sha"] if entry else "missing"
            if entry:
                base = os.path.dirname(jar)
                todo += [os.path.join(base, p) for p in entry["class_path"]]
        return out

    def save(self) -> None:
        if self.dirty:
            atomic_write(self.path, json.dumps(self.memo))


def _dir_digest(path: str) -> str:
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


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return sha256(line.encode()).hexdigest()[:16]
    except OSError:
        pass
    return "unknown"


def identity(path: str) -> str:
    """A binary as the key knows it: real path, size, mtime and inode."""
    st = os.stat(path)
    return f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"


def key_material(cmd: JavaCommand, java: str, criu_id: str, stdio_shape: str,
                 digests: FileDigests, env: dict[str, str], cwd: str,
                 agent_id: str) -> dict:
    """Everything the checkpoint depends on, as a JSON-able dict. The
    working directory is left out: the agent moves a restored program to the
    caller's, and checks that it did (the agent's FreshRun; README, "A
    restored run is a fresh run")."""
    java_home = os.path.dirname(os.path.dirname(os.path.realpath(java)))
    files: dict[str, str] = digests.jar_closure(
        [os.path.join(cwd, p) for p in cmd.classpath + cmd.module_path])
    if cmd.mode == "source":
        files[os.path.join(cwd, cmd.target)] = digests.digest(os.path.join(cwd, cmd.target))
    for opt in cmd.options:        # -javaagent:x.jar=... and friends
        if opt.startswith(("-javaagent:", "-agentpath:")):
            jar = opt.split(":", 1)[1].split("=", 1)[0]
            files[jar] = digests.digest(os.path.join(cwd, jar))
    return {
        "jfast": __version__,
        "agent": agent_id,
        "java": identity(java),
        "jdk_release": digests.digest(os.path.join(java_home, "release")),
        "mode": cmd.mode,
        "target": cmd.target,
        "options": cmd.options,
        "args": cmd.app_args,
        "files": files,
        "env": {k: env[k] for k in KEY_ENV if k in env},
        "stdio": stdio_shape,
        "uid": os.getuid(),
        "kernel": os.uname().release,
        "cpu": _cpu_flags(),
        "criu": criu_id,
    }


def key_of(material: dict) -> str:
    blob = json.dumps(material, sort_keys=True).encode()
    return sha256(blob).hexdigest()[:32]


def fresh_name(prefix: str, suffix: str = "") -> str:
    """A file name no other process picks, for O_EXCL or mkdir: what tempfile
    gives, without the 6 ms its import costs a cold run."""
    return f"{prefix}{os.getpid()}.{os.urandom(6).hex()}{suffix}"


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` (0600) through a temporary file and a rename,
    so that readers see the old file or the new one, never half of it."""
    tmp = path.parent / fresh_name(f".{path.name}.")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)         # a full disk must not leave half-written files
        except OSError:
            pass
        raise


class Entry:
    """One checkpoint in the store, present or not."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key
        self._held: locks.Lock | None = None      # the shared lock while restoring

    @property
    def dir(self) -> Path:
        return self.root / "entries" / self.key

    @property
    def images(self) -> Path:
        return self.dir / "images"

    @property
    def classes(self) -> Path:
        """Classes the program loaded on its first run, preloaded next time."""
        return self.root / "entries" / f"{self.key}.classes"

    def meta(self) -> dict | None:
        try:
            return json.loads((self.dir / META).read_text())
        except (OSError, ValueError):
            return None

    def published(self) -> bool:
        return (self.dir / META).exists()

    def write_meta(self, meta: dict) -> None:
        atomic_write(self.dir / META, json.dumps(meta, indent=1, sort_keys=True))

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
                os.rename(self.dir, self.dir.with_name(f"{self.key}.bad.{os.getpid()}"))
            except OSError:
                pass

    def lock(self) -> locks.Lock:
        return locks.entry_lock(self.root, self.key)

    def touch(self) -> None:
        """Count a use: `used` grows by a byte per restore (the hits) and its
        mtime is the last use. One O_APPEND write: cheap, and safe when
        several runs restore at once."""
        try:
            fd = os.open(self.dir / "used", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                         0o600)
            try:
                os.write(fd, b".")
            finally:
                os.close(fd)
        except OSError:
            pass


class Pending:
    """A checkpoint being written; `publish` renames it into place."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.dir = entry.root / "entries" / fresh_name(f"{entry.key}.", ".pending")
        self.dir.mkdir(mode=0o700)
        self.images = self.dir / "images"
        self.images.mkdir(mode=0o700)

    def publish(self, meta: dict) -> None:
        """Seal the images (modes, digests, stamps), write the manifest and
        swap the entry in under the entry's lock."""
        meta.update(integrity.seal(self.dir))
        meta["created"] = time.time()
        if meta.get("java"):
            from .javabin import jdk_release
            meta.setdefault("jdk", jdk_release(meta["java"]))
        atomic_write(self.dir / META, json.dumps(meta, indent=1, sort_keys=True))
        with self.entry.lock():
            old = None
            if self.entry.dir.exists():
                old = self.entry.dir.with_name(f"{self.entry.key}.old.{os.getpid()}")
                os.rename(self.entry.dir, old)
            os.rename(self.dir, self.entry.dir)
        if old is not None:
            remove_tree(old)

    def discard(self) -> None:
        remove_tree(self.dir)


def remove_tree(path: Path) -> None:
    """rm -rf, quietly. Every restore ends with one (its scratch folder), and
    importing shutil for rmtree (it loads bz2 and lzma) would cost 3 ms.
    os.walk does not follow links: a link to a folder is unlinked."""
    for top, dirs, files in os.walk(path, topdown=False):
        for name in dirs:
            _quietly(os.unlink if os.path.islink(os.path.join(top, name)) else os.rmdir,
                     os.path.join(top, name))
        for name in files:
            _quietly(os.unlink, os.path.join(top, name))
    _quietly(os.rmdir, path)


def _quietly(remove, path) -> None:
    try:
        remove(path)
    except OSError:
        pass
