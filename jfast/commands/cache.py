"""`jfast cache list|info|remove|prune|clear|export|import|push|pull`: see and
manage the checkpoint cache, and carry its entries to other machines
(jfast/fleet/, docs/fleet.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from jfast.errors import BadSetting, FastPathUnavailable, JfastError, UsageError
from jfast.settings import current
from jfast.store import cache, integrity, inventory, plainmemo, prune, trust
from jfast.store.digests import FileDigests
from jfast.store.inventory import Item
from jfast.units import format_size, iso, parse_age, parse_size, when

EXIT_OK, EXIT_NO_ENTRY, EXIT_USAGE, EXIT_CACHE, EXIT_IN_USE = 0, 1, 2, 3, 4

EPILOG = """\
sizes: 500M, 2G, 1.5GiB (powers of 1024); ages: 90 (seconds), 30m, 12h, 7d, 2w.
The cache is $JFAST_CACHE_DIR (default ~/.cache/jfast). After each new
checkpoint jfast evicts the least recently used entries until the cache fits
$JFAST_CACHE_MAX (default 4G; `off` for no limit).

--json prints one JSON object on stdout (times are ISO 8601 UTC or null):
  list   {"cache_dir", "max_bytes", "total_bytes", "entries": [ENTRY],
          "leftovers": [{"name", "kind", "size_bytes"}]}
         ENTRY = {"key", "program", "state", "reason", "size_bytes", "created",
                  "last_used", "hits", "ready_point"}
         state: "ok" (will be restored), "plain" (runs start java directly:
         a restore would not start the program sooner), "stale" (can never
         be used again: its jar, JDK, kernel or CRIU changed), "damaged"
         (will be set aside), "failing" (its last restore failed; a second
         failure in a row sets it aside)
  info   ENTRY and "argv", "cwd", "java", "jdk", "criu_version", "kernel",
         "image_bytes", "image_files", "digests" ("ok" or why not), "files"
         [{"path", "status": "unchanged"|"changed"|"gone"}], "material" (the
         key), "path" (the entry's directory)
  remove, prune, clear
         {"dry_run", "removed": [REMOVAL], "in_use": [REMOVAL],
          "failed": [REMOVAL], "freed_bytes", "kept_entries", "kept_bytes"}
         REMOVAL = {"name", "key", "kind", "program", "size_bytes", "reason"}

exit status:
  0  done
  1  info, remove, export, push: no entry matches KEY; import, pull: an
     entry was refused (the reason is on stderr), or the registry failed
  2  usage: unknown command or option, a bad size or age, an ambiguous KEY
  3  the cache directory cannot be used (another user could write it, I/O
     error, read-only: what could not be removed is listed as failed)
  4  remove, prune, clear: something was in use by a running jfast and was kept
"""


JSON_HELP = "print JSON for scripts (see `jfast cache --help`)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:          # exit 2 through our own path
        raise UsageError(f"{message} (see `jfast cache --help`)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="jfast cache", description="See and manage jfast's checkpoint cache.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command",
                           metavar="{list,info,remove,prune,clear,export,import,push,pull}")
    ls = sub.add_parser("list", help="one line per entry (the default)")
    ls.add_argument("--json", action="store_true", help=JSON_HELP)
    info = sub.add_parser("info", help="everything about one entry")
    info.add_argument("key", metavar="KEY", help="a key or a unique prefix of one")
    info.add_argument("--json", action="store_true", help=JSON_HELP)
    rm = sub.add_parser("remove", help="remove one entry (a damaged one, say)")
    rm.add_argument("key", metavar="KEY", help="a key or a unique prefix of one")
    rm.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    rm.add_argument("--json", action="store_true", help=JSON_HELP)
    pr = sub.add_parser("prune", help="remove leftovers, and entries stale, old or over a size")
    pr.add_argument("--max-size", metavar="SIZE",
                    help="evict least recently used entries down to SIZE "
                         "(default: $JFAST_CACHE_MAX)")
    pr.add_argument("--max-age", metavar="AGE", help="remove entries unused for longer than AGE")
    pr.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    pr.add_argument("--json", action="store_true", help=JSON_HELP)
    ex = sub.add_parser("export", help="write entries to an OCI layout file (docs/fleet.md)")
    ex.add_argument("keys", nargs="+", metavar="KEY", help="keys or unique prefixes of them")
    ex.add_argument("-o", "--output", required=True, metavar="FILE",
                    help="the file to write (an OCI image layout, as a tar; 0600)")
    ex.add_argument("--sign", metavar="KEYFILE",
                    help="sign each entry with this SSH private key (ssh-keygen -Y sign)")
    im = sub.add_parser("import", help="install the entries of an OCI layout file that this "
                                       "machine can restore")
    im.add_argument("file", metavar="FILE")
    im.add_argument("--trust", metavar="FILE",
                    help="the SSH allowed-signers file of trusted keys "
                         "(default: $JFAST_REMOTE_TRUST)")
    im.add_argument("--allow-unsigned", action="store_true",
                    help="install entries that no trusted key signed: their images are "
                         "process memory anyone could have written")
    pu = sub.add_parser("push", help="push entries to an OCI registry (docs/fleet.md)")
    pu.add_argument("keys", nargs="+", metavar="KEY", help="keys or unique prefixes of them")
    pu.add_argument("--to", metavar="oci://HOST[:PORT]/REPO",
                    help="the registry and repository (default: $JFAST_REMOTE)")
    pu.add_argument("--sign", metavar="KEYFILE",
                    help="sign with this SSH private key (default: $JFAST_REMOTE_SIGN)")
    pl = sub.add_parser("pull", help="install a checkpoint from an OCI registry")
    pl.add_argument("tag", metavar="TAG", help="the tag `push` printed")
    pl.add_argument("--from", dest="source", metavar="oci://HOST[:PORT]/REPO",
                    help="the registry and repository (default: $JFAST_REMOTE)")
    pl.add_argument("--trust", metavar="FILE",
                    help="the SSH allowed-signers file of trusted keys "
                         "(default: $JFAST_REMOTE_TRUST)")
    pl.add_argument("--allow-unsigned", action="store_true",
                    help="install an entry no trusted key signed")
    cl = sub.add_parser("clear", help="remove every entry")
    cl.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    cl.add_argument("--json", action="store_true", help=JSON_HELP)
    return p


def main(argv: list[str]) -> int:
    root = None
    try:
        if not argv or argv[0] == "--json":
            argv = ["list", *argv]             # `jfast cache` lists
        args = parser().parse_args(argv)
        root = Path(cache.cache_dir())
        if root.exists():
            trust.check_root(root)
        if args.command in ("remove", "prune", "clear") and root.exists() and not args.dry_run:
            return _one_at_a_time(root, lambda: COMMANDS[args.command](root, args))
        return COMMANDS[args.command](root, args)
    except UsageError as e:
        print(f"jfast cache: {e}", file=sys.stderr)
        return EXIT_USAGE
    except FastPathUnavailable:
        return EXIT_CACHE                      # trust.check_root has said why
    except OSError as e:
        print(f"jfast cache: {e.filename or root}: {e.strerror}", file=sys.stderr)
        return EXIT_CACHE


def _one_at_a_time(root: Path, work) -> int:
    """Run a prune or clear while no other one runs on this cache. filelock
    serves here, where a wait is fine; the entry locks a restore takes are
    shared ones, which it lacks (store/locks.py)."""
    import filelock

    guard = filelock.FileLock(str(root / "maintenance.lock"), mode=0o600)
    try:
        with guard.acquire(timeout=30):
            return work()
    except filelock.Timeout:
        raise JfastError(f"another `jfast cache prune` or `clear` works on {root}: "
                         "try again when it is done", EXIT_CACHE) from None


# -- pure helpers ----------------------------------------------------------------

def table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """Columns padded to their widest cell; `right` columns aligned right."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def local_time(epoch: float | None, now: float | None = None) -> str:
    if epoch is None:
        return "never"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(epoch))} ({when(epoch, now)})"


def describe(item: Item, state: str, reason: str | None) -> dict:
    """An entry as JSON for `list` and `info`."""
    return {
        "key": item.key, "program": item.program, "state": state, "reason": reason,
        "size_bytes": item.size, "created": iso(item.created),
        "last_used": iso(item.last_used), "hits": item.hits,
        "ready_point": item.meta.ready_point if item.meta else None,
    }


def entry_row(item: Item, state: str, now: float) -> list[str]:
    return [item.program, item.key[:12], format_size(item.size), when(item.created, now),
            when(item.last_used, now), str(item.hits), state]


def removal_json(r: prune.Removal) -> dict:
    i = r.item
    return {"name": i.name, "key": i.key or None, "kind": i.kind,
            "program": i.program if i.kind == "entry" else None, "size_bytes": i.size,
            "reason": r.reason}


def removal_line(r: prune.Removal, dry_run: bool) -> str:
    i = r.item
    if r.failed and not dry_run:
        return f"could not remove {i.kind} {i.name}: {r.failed}"
    verb = "would remove" if dry_run else "removed" if r.done else "in use, kept"
    what = f"{i.program} {i.key[:12]}" if i.kind == "entry" else f"{i.kind} {i.name}"
    return f"{verb} {what} ({format_size(i.size)}): {r.reason}"


# -- the commands --------------------------------------------------------------

def _state(item: Item, digests: FileDigests) -> tuple[str, str | None]:
    damage = inventory.damage(item)
    if damage:
        return "damaged", damage
    stale = inventory.stale_reason(item, digests)
    if stale:
        return "stale", stale
    if item.failures:
        return "failing", f"the last restore failed: {item.failures[-1]}"
    plain = item.meta.plain if item.meta else None
    return ("plain", plain) if plain else ("ok", None)


def _scan(root: Path) -> list[Item]:
    return inventory.scan(root) if root.exists() else []


def _cap() -> int | None:
    try:
        return prune.cap(current())
    except BadSetting as e:
        raise UsageError(str(e)) from None


def cmd_list(root: Path, args: argparse.Namespace) -> int:
    items, now = _scan(root), time.time()
    digests = FileDigests(root)
    entries = [(i, *_state(i, digests)) for i in items if i.kind == "entry"]
    # A class list without its entry is kept for the next cold run: not a leftover.
    leftovers = [i for i in items if i.kind not in ("entry", "classes")]
    total = sum(i.size for i, _, _ in entries)
    cap = _cap()
    _save(digests)
    if args.json:
        _print_json({"cache_dir": str(root), "max_bytes": cap, "total_bytes": total,
                     "entries": [describe(i, s, r) for i, s, r in entries],
                     "leftovers": [{"name": i.name, "kind": i.kind, "size_bytes": i.size}
                                   for i in leftovers]})
        return EXIT_OK
    if entries:
        print(table(["PROGRAM", "KEY", "SIZE", "CREATED", "LAST USED", "HITS", "STATE"],
                    [entry_row(i, s, now) for i, s, _ in entries], right={2, 5}))
    limit = f" of {format_size(cap)} (JFAST_CACHE_MAX)" if cap is not None else ""
    print(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}, "
          f"{format_size(total)}{limit} in {root}")
    for i, s, r in entries:
        if r:
            print(f"  {i.key[:12]} {s}: {r}")
    if leftovers:
        kinds = sorted({i.kind for i in leftovers})
        print(f"{len(leftovers)} leftover(s) ({', '.join(kinds)}), "
              f"{format_size(sum(i.size for i in leftovers))}: `jfast cache prune` removes them")
    return EXIT_OK


def _one(root: Path, key: str) -> Item | None:
    """The entry whose key starts with `key`; None (said on stderr) if none."""
    matches = [i for i in _scan(root) if i.kind == "entry" and i.key.startswith(key)]
    if not matches:
        print(f"jfast cache: no entry {key} (see `jfast cache list`)", file=sys.stderr)
        return None
    if len(matches) > 1:
        raise UsageError(f"{key} matches {len(matches)} entries: give more of the key")
    return matches[0]


def cmd_remove(root: Path, args: argparse.Namespace) -> int:
    item = _one(root, args.key)
    if item is None:
        return EXIT_NO_ENTRY
    return _act(root, [prune.Removal(item, "asked for")], args)


def cmd_info(root: Path, args: argparse.Namespace) -> int:
    item = _one(root, args.key)
    if item is None:
        return EXIT_NO_ENTRY
    meta = item.meta.raw if item.meta else {}      # shown as it is
    digests = FileDigests(root)
    state, reason = _state(item, digests)
    checked = reason if state == "damaged" else integrity.verify(item.path / "images", meta)
    m = meta.get("material") or {}
    cwd = (meta.get("inputs") or {}).get("cwd")
    files = []
    for full, digest in sorted((m.get("files") or {}).items()):
        now = digests.of_key_file(full)
        files.append({"path": full, "status": "unchanged" if now == digest
                      else "gone" if now == "missing" else "changed"})
    _save(digests)
    out = {**describe(item, state, reason), "argv": meta.get("argv"), "cwd": cwd,
           "java": meta.get("java"), "jdk": meta.get("jdk"),
           "criu_version": meta.get("criu_version"), "kernel": m.get("kernel"),
           "image_bytes": meta.get("image_bytes"), "image_files": len(meta.get("image_files", {})),
           "digests": checked or "ok", "files": files, "material": m, "path": str(item.path)}
    if args.json:
        _print_json(out)
        return EXIT_OK
    jdk = meta.get("jdk") or {}
    jdk_text = ", ".join(v for v in (jdk.get("java_version"), jdk.get("implementor")) if v)
    rows = [
        ("key", item.key), ("program", item.program),
        ("state", state + (f": {reason}" if reason else "")),
        ("command", " ".join(["java", *(meta.get("argv") or [])])),
        ("directory", cwd or "?"), ("ready point", meta.get("ready_point") or "?"),
        ("created", local_time(item.created)),
        ("last used", f"{local_time(item.last_used)}, {item.hits} hit(s)"),
        ("size", (f"{format_size(item.size)} (image {format_size(meta.get('image_bytes', 0))} "
                  f"in {out['image_files']} files)")),
        ("digests", f"{meta.get('image_hash', '?')} of every image file: {checked or 'ok'}"),
        ("java", f"{meta.get('java')}" + (f" (JDK {jdk_text})" if jdk_text else "")),
        ("criu", f"{meta.get('criu_version')} ({(m.get('criu') or '?').split('|')[0]})"),
        ("kernel", m.get("kernel", "?")), ("path", str(item.path)),
    ]
    for name, value in rows:
        print(f"{name:<12} {value}")
    print("files it depends on:")
    for f in files or [{"status": "", "path": "(none)"}]:
        print(f"  {f['status']:<9}  {f['path']}")
    print("key material:")
    width = max(map(len, m), default=0)
    for name in sorted(m):
        print(f"  {name:<{width}}  {_flat(m[name])}")
    return EXIT_OK


def _flat(value: object) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in sorted(value.items())) or "(none)"
    if isinstance(value, list):
        return " ".join(map(str, value)) or "(none)"
    return str(value)


def cmd_prune(root: Path, args: argparse.Namespace) -> int:
    try:
        max_size = parse_size(args.max_size) if args.max_size is not None else _cap()
        max_age = parse_age(args.max_age) if args.max_age is not None else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    digests = FileDigests(root)

    def stale(item: Item) -> str | None:
        return inventory.stale_reason(item, digests)

    removals = prune.removals(_scan(root), time.time(), max_size=max_size, max_age=max_age,
                          stale=stale)
    _save(digests)
    return _act(root, removals, args)


def cmd_clear(root: Path, args: argparse.Namespace) -> int:
    removals = [prune.Removal(i, "clear") for i in _scan(root)]
    code = _act(root, removals, args)
    if not args.dry_run and code == EXIT_OK and root.exists():
        for memo in ("memo.json", plainmemo.MEMO):
            try:
                (root / memo).unlink()
            except FileNotFoundError:
                pass
    return code


def _act(root: Path, removals: list[prune.Removal], args: argparse.Namespace) -> int:
    if not args.dry_run:
        prune.run(root, removals)
        if root.exists():
            prune.tidy(root)
    planned = set() if not args.dry_run else {r.item.name for r in removals}
    kept = [i for i in _scan(root) if i.kind == "entry" and i.name not in planned]
    removed = [r for r in removals if r.done or args.dry_run]
    failed = [r for r in removals if r.failed and not args.dry_run]
    busy = [r for r in removals if not r.done and not r.failed and not args.dry_run]
    freed = sum(r.item.size for r in removed)
    if args.json:
        _print_json({"dry_run": args.dry_run, "removed": [removal_json(r) for r in removed],
                     "in_use": [removal_json(r) for r in busy],
                     "failed": [{**removal_json(r), "reason": r.failed} for r in failed],
                     "freed_bytes": freed,
                     "kept_entries": len(kept), "kept_bytes": sum(i.size for i in kept)})
    else:
        for r in removals:
            print(removal_line(r, args.dry_run))
        verb = "would free" if args.dry_run else "freed"
        print(f"{verb} {format_size(freed)}; {len(kept)} "
              f"{'entry' if len(kept) == 1 else 'entries'} kept "
              f"({format_size(sum(i.size for i in kept))})")
    return EXIT_CACHE if failed else EXIT_IN_USE if busy else EXIT_OK


def _save(digests: FileDigests) -> None:
    try:
        digests.save()
    except OSError:
        pass


def _print_json(obj: dict) -> None:
    json.dump(obj, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


def _keys(root: Path, prefixes: list[str]) -> list[str] | None:
    """The whole keys of the entries `prefixes` name; None (said on stderr)
    if one names none."""
    items = [_one(root, k) for k in prefixes]
    return None if None in items else [i.key for i in items]


def cmd_export(root: Path, args: argparse.Namespace) -> int:
    from jfast.fleet import artifact

    keys = _keys(root, args.keys)
    if keys is None:
        return EXIT_NO_ENTRY
    for e in artifact.export(str(root), keys, args.output, args.sign):
        print(f"{e.key}  {format_size(e.image_bytes)} image, "
              f"{format_size(e.layer_desc['size'])} compressed{', signed' if args.sign else ''}")
    print(f"wrote {args.output}")
    return EXIT_OK


def cmd_import(root: Path, args: argparse.Namespace) -> int:
    from jfast.fleet import artifact

    trust = args.trust or current().remote_trust
    results = artifact.import_file(str(root), args.file, trust, args.allow_unsigned)
    for r in results:
        if isinstance(r, artifact.Refused):
            print(f"jfast cache: refused {r}", file=sys.stderr)
        else:
            by = f", signed by {r.signer}" if r.signer else ", unsigned"
            print(f"{r.key}  installed (made as {r.origin}{by})")
    return EXIT_OK if results and all(not isinstance(r, artifact.Refused) for r in results) \
        else EXIT_NO_ENTRY


def _remote(url: str | None) -> object:
    from jfast.fleet import registry

    url = url or current().remote
    if not url:
        raise UsageError("no registry: give --to/--from oci://HOST[:PORT]/REPO or set "
                         "JFAST_REMOTE")
    return registry.Remote(url)


def cmd_push(root: Path, args: argparse.Namespace) -> int:
    from jfast.fleet import registry

    remote = _remote(args.to)
    keys = _keys(root, args.keys)
    if keys is None:
        return EXIT_NO_ENTRY
    sign = args.sign or current().remote_sign
    for art, tag in registry.push(str(root), keys, remote, sign):
        print(f"{art.key}  pushed as {remote.target(tag)} ({format_size(art.layer_desc['size'])}"
              f"{', signed' if sign else ', unsigned'})")
    return EXIT_OK


def cmd_pull(root: Path, args: argparse.Namespace) -> int:
    from jfast.fleet import artifact, registry

    remote = _remote(args.source)
    try:
        got = registry.pull(str(root), remote, args.tag, args.trust or current().remote_trust,
                            args.allow_unsigned, timeout=60)
    except artifact.Refused as e:
        print(f"jfast cache: refused {e}", file=sys.stderr)
        return EXIT_NO_ENTRY
    if got is None:
        print(f"jfast cache: {remote.target(args.tag)} does not exist", file=sys.stderr)
        return EXIT_NO_ENTRY
    by = f", signed by {got.signer}" if got.signer else ", unsigned"
    print(f"{got.key}  installed (made as {got.origin}{by})")
    return EXIT_OK


COMMANDS = {"list": cmd_list, "info": cmd_info, "remove": cmd_remove, "prune": cmd_prune,
            "clear": cmd_clear, "export": cmd_export, "import": cmd_import, "push": cmd_push,
            "pull": cmd_pull}
