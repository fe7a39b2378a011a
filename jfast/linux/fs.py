"""Files: write-then-rename, names no other process picks, rm -rf, and a
file's identity (what says "the same file, unchanged" without reading it).

No shutil or tempfile: a restore ends with a `remove_tree`, and those two
modules (with bz2 and lzma) would cost it 3-6 ms to import."""

from __future__ import annotations

import os


def identity(path: str, st: os.stat_result | None = None) -> str:
    """A file as a key or memo knows it: real path, size, mtime, ctime and
    inode. Any change made through the file system moves the ctime, which
    nobody can set back: a file replaced by one of the same size and mtime
    (`cp -p`, `rsync -t --inplace`) is another file."""
    st = st or os.stat(path)
    return (f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"
            f"|{st.st_ino}")


def still(ident: str) -> bool:
    """Whether the file an `identity` names is still that file, unchanged."""
    path = ident.rsplit("|", 4)[0]
    try:
        return identity(path) == ident
    except OSError:
        return False


def fresh_name(prefix: str, suffix: str = "") -> str:
    """A file name no other process picks, for O_EXCL or mkdir: what tempfile
    gives, without the 6 ms its import costs a cold run."""
    return f"{prefix}{os.getpid()}.{os.urandom(6).hex()}{suffix}"


def atomic_write(path: str, data: str | bytes) -> None:
    """Write `data` to `path` (0600) through a temporary file and a rename,
    so that readers see the old file or the new one, never half of it."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, fresh_name(f".{name}."))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)         # a full disk must not leave half-written files
        except OSError:
            pass
        raise


def remove_tree(path: str) -> None:
    """rm -rf, quietly. os.walk does not follow links: a link to a folder is
    unlinked."""
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
