"""The checkpoint cache: where entries live, the key, and publishing.

Layout under the cache directory (0700):

    entries/<key>/            a published checkpoint: meta.json, images/
    entries/<key>.pending/    a checkpoint being written (renamed when done)
    locks/<key>.lock          held while an entry is published or removed
    work/                     per-run scratch (CRIU logs)
    memo.json                 file digests by file identity

The key covers everything that shapes the image (DESIGN.md s.4). Files
are hashed once and remembered by (path, size, mtime_ns, inode), so a hit
costs a stat per file, not a re-hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .javacli import JavaCommand

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
    env = os.environ.get("JFAST_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs  # only needed when no directory was given
    return Path(platformdirs.user_cache_dir("jfast", appauthor=False))


def ensure_dirs(root: Path) -> None:
    for sub in ("", "entries", "locks", "work"):
        (root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)


class FileDigests:
    """sha256 of files, remembered by identity across runs."""

    def __init__(self, root: Path) -> None:
        self.path = root / "memo.json"
        try:
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
            entry = {"sha": _sha256(path), "class_path": _manifest_class_path(path)}
            self.memo[ident] = entry
            self.dirty = True
        return entry

    def digest(self, path: str) -> str:
        entry = self._entry(path)
        return entry["sha"] if entry else "missing"

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
            _atomic_write(self.path, json.dumps(self.memo))


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _manifest_class_path(path: str) -> list[str]:
    if not path.endswith((".jar", ".JAR", ".zip")):
        return []
    try:
        with zipfile.ZipFile(path) as z:
            text = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return []
    # Manifest lines wrap at 72 bytes; a leading space continues a line.
    text = text.replace("\r\n", "\n").replace("\n ", "")
    for line in text.split("\n"):
        if line.lower().startswith("class-path:"):
            return [p for p in line.split(":", 1)[1].split() if not p.startswith("http")]
    return []


def _dir_digest(path: str) -> str:
    """A class directory: its files' names, sizes and mtimes (cheap to redo)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(filenames):
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
                    return hashlib.sha256(line.encode()).hexdigest()[:16]
    except OSError:
        pass
    return "unknown"


def _identity(path: str) -> str:
    st = os.stat(path)
    return f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"


def key_material(cmd: JavaCommand, java: str, criu_id: str, stdio_shape: str,
                 digests: FileDigests, env: dict[str, str], cwd: str,
                 agent_id: str, cwd_in_key: bool = True) -> dict:
    """Everything the checkpoint depends on, as a JSON-able dict. The
    working directory is left out when the agent can move a restored
    program to the caller's (the agent's FreshRun; README, "A restored run
    is a fresh run")."""
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
        "java": _identity(java),
        "jdk_release": digests.digest(os.path.join(java_home, "release")),
        "mode": cmd.mode,
        "target": cmd.target,
        "options": cmd.options,
        "args": cmd.app_args,
        "files": files,
        **({"cwd": cwd} if cwd_in_key else {}),
        "env": {k: env[k] for k in KEY_ENV if k in env},
        "stdio": stdio_shape,
        "uid": os.getuid(),
        "kernel": os.uname().release,
        "cpu": _cpu_flags(),
        "criu": criu_id,
    }


def key_of(material: dict) -> str:
    blob = json.dumps(material, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@dataclass
class Entry:
    root: Path
    key: str

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

    def check_images(self, meta: dict) -> str | None:
        """Why the image files do not match the manifest (missing, truncated,
        extra), or None. A stat per file: cheap enough for every restore."""
        expected: dict[str, int] = meta.get("image_files") or {}
        try:
            found = {e.name: e.stat().st_size for e in os.scandir(self.images)}
        except OSError as e:
            return f"images unreadable: {e.strerror}"
        for name, size in expected.items():
            if name not in found:
                return f"image file {name} is missing"
            if found[name] != size:
                return f"image file {name} has {found[name]} bytes, expected {size}"
        extra = set(found) - set(expected)
        return f"unexpected image file {sorted(extra)[0]}" if extra else None

    def quarantine(self) -> None:
        """Move a damaged entry aside so no run uses it and the next makes a new one."""
        with self.lock():
            try:
                os.rename(self.dir, self.dir.with_name(f"{self.key}.bad.{os.getpid()}"))
            except OSError:
                pass

    def lock(self):
        from filelock import FileLock  # imported on the slow path only
        return FileLock(str(self.root / "locks" / f"{self.key}.lock"))

    def touch(self) -> None:
        """Record a use: the mtime of `used` is when the entry was last restored."""
        try:
            os.utime(self.dir / "used", None)
        except FileNotFoundError:
            (self.dir / "used").touch(mode=0o600)
        except OSError:
            pass


class Pending:
    """A checkpoint being written; `publish` renames it into place."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.dir = Path(tempfile.mkdtemp(prefix=f"{entry.key}.", suffix=".pending",
                                         dir=entry.root / "entries"))
        self.images = self.dir / "images"
        self.images.mkdir(mode=0o700)

    def publish(self, meta: dict) -> None:
        """Write the manifest and swap the entry in under the entry's lock."""
        meta["image_files"] = {p.name: p.stat().st_size for p in self.images.iterdir()}
        meta["image_bytes"] = sum(meta["image_files"].values())
        meta["created"] = time.time()
        _atomic_write(self.dir / META, json.dumps(meta, indent=1, sort_keys=True))
        with self.entry.lock():
            old = None
            if self.entry.dir.exists():
                old = self.entry.dir.with_name(f"{self.entry.key}.old.{os.getpid()}")
                os.rename(self.entry.dir, old)
            os.rename(self.dir, self.entry.dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
