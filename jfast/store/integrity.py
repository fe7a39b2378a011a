"""The image manifest: a digest of every image file, taken once, and a guard
cheap enough for every restore.

Reading and hashing a 150 MB image before each restore would cost as much as
the restore itself (sha256 runs at about 1.5 GB/s on the test machine, plus
the read), so the digest is not recomputed on the restore path:
- sealing, once, after the dump and before the entry is published: every
  file is made 0600, hashed (sha256), and its stamp recorded: size, inode,
  mtime and ctime in ns;
- before each restore, a stat per file: any change made through the file
  system (a write, a truncation, a chmod, a replaced or renamed file) moves
  the ctime, which nobody can set back (utime sets only mtime and atime), so
  an unchanged stamp means the bytes are the ones that were hashed;
- a stamp that moved (the cache was copied or restored from a backup, a
  file was touched): the digests are checked in full, once; if they hold,
  the stamps are renewed, else the entry is damaged.
Not caught: a change below the file system (a disk returning other bytes
for a block); file systems with checksums (btrfs, zfs) catch that.
"""

from __future__ import annotations

import os

from jfast.errors import JfastError
from jfast.store import trust

HASH = "sha256"


def digest(path: str, algorithm: str = HASH) -> str:
    """A file's content digest, read in 1 MiB steps."""
    import hashlib  # not on a restore's way: it loads OpenSSL (jfast/linux/sha256.py)

    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def stamps(images: str) -> dict[str, list[int]]:
    return {e.name: _stamp(e.stat(follow_symlinks=False)) for e in os.scandir(images)}


def seal(entry_dir: str) -> dict:
    """Make a finished dump private (dirs 0700, files 0600), hash its images
    and stamp them: the manifest fields for meta.json."""
    for dirpath, dirnames, filenames in os.walk(entry_dir):
        os.chmod(dirpath, 0o700)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o600)
    images = os.path.join(entry_dir, "images")
    names = sorted(os.listdir(images))
    digests = {name: digest(os.path.join(images, name)) for name in names}
    st = stamps(images)                 # after the chmods: they move the ctime
    return {
        "image_hash": HASH,
        "image_files": {name: st[name][0] for name in names},
        "image_digests": digests,
        "image_stamps": st,
        "image_bytes": sum(s[0] for s in st.values()),
    }


class Refused(JfastError):
    """An image file another user could have written."""


def quick_check(images: str, meta: dict) -> tuple[str | None, bool]:
    """(damage, moved) from a stat per file: damage says why the files do
    not match the manifest (missing, truncated, extra); moved is True when
    they match in size but a stamp changed, so the digests must be checked.
    Raises Refused for a file another user could have written."""
    digests: dict[str, str] = meta.get("image_digests") or {}
    sizes: dict[str, int] = meta.get("image_files") or {}
    recorded: dict[str, list[int]] = meta.get("image_stamps") or {}
    if not (digests or meta.get("plain")):       # a plain entry has no images
        return "the entry has no image digests (made by an older jfast)", False
    try:
        found = {e.name: e.stat(follow_symlinks=False) for e in os.scandir(images)}
    except OSError as e:
        return f"images unreadable: {e.strerror}", False
    for st_name, st in found.items():
        why = trust.problem(os.path.join(images, st_name), st)
        if why:
            raise Refused(why)
    moved = False
    for name, size in sizes.items():
        st = found.get(name)
        if st is None:
            return f"image file {name} is missing", False
        if st.st_size != size:
            return f"image file {name} has {st.st_size} bytes, expected {size}", False
        moved = moved or _stamp(st) != recorded.get(name)
    extra = set(found) - set(sizes)
    if extra:
        return f"unexpected image file {min(extra)}", False
    return None, moved


def verify(images: str, meta: dict) -> str | None:
    """Check every file against its digest: why it does not match, or None."""
    algorithm = meta.get("image_hash", HASH)
    for name, want in sorted(meta["image_digests"].items()):
        try:
            got = digest(os.path.join(images, name), algorithm)
        except (OSError, ValueError) as e:
            return f"image file {name} unreadable: {e}"
        if got != want:
            return f"image file {name} does not match its {algorithm} digest"
    return None
