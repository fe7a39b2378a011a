"""A cache entry as an OCI artifact (docs/fleet.md), the way Podman ships a
container checkpoint as an image: one manifest per entry, of artifact type
`application/vnd.jfast.checkpoint.v1`, whose config blob says what the
checkpoint is and needs, and whose one layer is the entry (its manifest
and images) as a gzipped tar.

The config: `key` (the key on the making machine), `program` (its java
arguments), `material` (the key material, store/key.py), `platform`
(fleet/platform.py), `files` (sha256 of every file the image maps or
reopens: java, libjvm, the C library, jars, fonts, the agent's library).
A signature (signing.py) over the config's and the layer's digests rides
in the manifest's annotations (`dev.jfast.signature`), beside the key and
the program key (the key without the fields that name a machine's own
files and user, store/key.py: the same on every machine that has the
program, so a registry can name the artifact by it).

An import checks, before it writes anything to the cache: every blob's
digest (layout.py), the signature against the trusted keys (unless the
user said `--allow-unsigned`), the platform, every file's digest here, and
the entry's own manifest (store/entry.py's checks, and that its key is its
material's). It then installs the entry under the key this machine gives
the same program (store/key.py's `localized`): nothing in the artifact
chooses a path outside the cache, a sandbox setting or an option.
"""

from __future__ import annotations

import json
import os
import tarfile
import time

from jfast import __version__
from jfast.criu import criu
from jfast.criu.images import regular_files
from jfast.errors import JfastError
from jfast.fleet import layout, platform, signing
from jfast.linux.fs import identity, remove_tree
from jfast.sandbox import userns
from jfast.store import cache, key
from jfast.store.admission import SetAside, admit
from jfast.store.digests import FileDigests
from jfast.store.entry import META, BadEntry, Entry, Meta, Pending

ARTIFACT_TYPE = "application/vnd.jfast.checkpoint.v1"
CONFIG_TYPE = "application/vnd.jfast.checkpoint.config.v1+json"
LAYER_TYPE = "application/vnd.jfast.checkpoint.entry.v1.tar+gzip"
SIGNATURE = "dev.jfast.signature"
KEY_ANNOTATION = "dev.jfast.key"
PROGRAM_KEY_ANNOTATION = "dev.jfast.program-key"
# What an entry's folder holds besides meta.json and images/ stays home:
# its use counts and failures are this machine's.
_SEALED = ("image_hash", "image_files", "image_digests", "image_stamps", "image_bytes")


class Refused(JfastError):
    """An artifact this machine will not install; the message says why."""

    exit_code = 1


class Built:
    """One entry made into an artifact in a scratch folder: the config
    blob, the layer file, the manifest, and their descriptors."""

    def __init__(self, key: str, image_bytes: int, config: bytes, config_desc: dict,
                 layer: str, layer_desc: dict, manifest: bytes, manifest_desc: dict,
                 program_key: str, arch: str) -> None:
        self.key, self.image_bytes = key, image_bytes
        self.config, self.config_desc = config, config_desc
        self.layer, self.layer_desc = layer, layer_desc
        self.manifest, self.manifest_desc = manifest, manifest_desc
        self.program_key, self.arch = program_key, arch


def build(root: str, k: str, scratch: str, sign_with: str | None) -> Built:
    """The entry `k` of the cache at `root` as an artifact, its layer in
    `scratch`, signed with the private key file `sign_with` if given."""
    entry = Entry(root, k)
    try:
        meta = admit(entry)             # checked as a restore checks it, and held
    except SetAside as e:
        raise JfastError(f"{k}: {e}") from None
    if meta is None:
        raise JfastError(f"{k}: no such checkpoint (jfast cache list)")
    try:
        if meta.plain:
            raise JfastError(f"{k} is plain: it has no image to export")
        facts = {**platform.facts(meta.raw["criu_version"], userns.rootless()),
                 "kernel": meta.material.get("kernel"), "uid": meta.material.get("uid")}
        config = json.dumps({
            "jfast": __version__, "key": k, "program": meta.argv, "material": meta.material,
            "ready_point": meta.ready_point, "platform": facts,
            "files": _mapped_files(root, entry.images)}, sort_keys=True).encode()
        layer = os.path.join(scratch, f"{k}.tar.gz")
        _pack(entry, layer)
    finally:
        entry.release()
    cfg = layout.describe(CONFIG_TYPE, config)
    layer_desc = layout.describe_file(LAYER_TYPE, layer)
    program_key = key.program_key(meta.material)
    notes = {"org.opencontainers.image.created": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                               time.gmtime()),
             KEY_ANNOTATION: k, PROGRAM_KEY_ANNOTATION: program_key}
    if sign_with:
        notes[SIGNATURE] = signing.sign(signed(cfg, layer_desc), sign_with)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": layout.MANIFEST_TYPE,
                           "artifactType": ARTIFACT_TYPE, "config": cfg,
                           "layers": [layer_desc], "annotations": notes},
                          sort_keys=True).encode()
    return Built(k, meta.image_bytes, config, cfg, layer, layer_desc, manifest,
                 layout.describe(layout.MANIFEST_TYPE, manifest, artifactType=ARTIFACT_TYPE),
                 program_key, facts["arch"])


def signed(config: dict, layer: dict) -> str:
    """What a signature covers: the config's and the layer's digests."""
    return f"config={config['digest']} layer={layer['digest']}"


def export(root: str, keys: list[str], out: str, sign_with: str | None = None) -> list[Built]:
    """Write the entries `keys` of the cache at `root` to the OCI layout
    file `out`, signed with the private key file `sign_with` if given."""
    writer = layout.Writer(out)
    scratch = cache.scratch(root, "export.")
    done = []
    try:
        for k in keys:
            art = build(root, k, scratch, sign_with)
            writer.put(art.config_desc, art.config)
            writer.put(art.layer_desc, art.layer)
            writer.put(art.manifest_desc, art.manifest)
            os.unlink(art.layer)
            done.append(art)
        writer.close([{**a.manifest_desc, "annotations": {layout.REF_NAME: a.key}}
                      for a in done])
    except BaseException:
        writer.abandon()
        raise
    finally:
        remove_tree(scratch)
    return done


def _mapped_files(root: str, images: str) -> dict[str, str]:
    """sha256 of every file the image maps or reopens, as it is here (the
    entry was just checked: these are the files it was made with)."""
    digests = FileDigests(root)
    out = {}
    for f in regular_files(images):
        if f.external or f.writable or not os.path.isfile(f.path):
            continue            # stdio; the program's own output (writes.py); its folders
        sha = digests.digest(f.path)
        if sha != "missing":    # a deleted file: its bytes are in the image
            out[f.path] = sha
    return out


def _pack(entry: Entry, out: str) -> None:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    # gzip's own default level: on a 13 MB entry level 9 (tarfile's default)
    # took 1647 ms for 1.84 MB, level 6 194 ms for 1.89 MB
    with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w:gz", compresslevel=6,
                                                  format=tarfile.PAX_FORMAT) as tar:
        tar.add(os.path.join(entry.dir, META), arcname=META, filter=_plain)
        for name in sorted(os.listdir(entry.images)):
            tar.add(os.path.join(entry.images, name), arcname=f"images/{name}", filter=_plain)


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


def this_machine(root: str) -> dict:
    """This machine's platform (platform.py), criu's version remembered in
    the cache at `root` as a run remembers it."""
    found = criu.find()
    version = criu.require_usable(found, os.path.join(root, "criu-version"), identity(found))
    return platform.facts(version, userns.rootless())


class Installed:
    def __init__(self, key: str, origin: str, signer: str | None) -> None:
        self.key, self.origin, self.signer = key, origin, signer


def import_file(root: str, path: str, trust: str | None,
                allow_unsigned: bool) -> list[Installed | Refused]:
    """Install every entry of the OCI layout file `path` that this machine
    can restore; what it refused, with why, in their places."""
    cache.ensure_dirs(root)
    scratch = cache.scratch(root, "import.")
    try:
        reader = layout.Reader(path, scratch)
        here = this_machine(root)
        out: list[Installed | Refused] = []
        for i, desc in enumerate(reader.manifests):
            try:
                out.append(_import_one(root, reader, desc, here, trust, allow_unsigned,
                                       os.path.join(scratch, f"entry{i}")))
            except Refused as e:
                out.append(e)
        return out
    finally:
        remove_tree(scratch)


def _import_one(root: str, reader: layout.Reader, desc: dict, here: dict, trust: str | None,
                allow_unsigned: bool, work: str) -> Installed:
    notes = desc.get("annotations") or {}
    name = str(notes.get(layout.REF_NAME, desc.get("digest")))
    if desc.get("mediaType") != layout.MANIFEST_TYPE or desc.get("artifactType") != ARTIFACT_TYPE:
        raise Refused(f"{name}: not a jfast checkpoint")
    return install(root, name, reader.json(desc), reader, here, trust, allow_unsigned, work)


def install(root: str, name: str, manifest: dict, blobs, here: dict, trust: str | None,
            allow_unsigned: bool, work: str) -> Installed:
    """Check the artifact of `manifest` (named `name` in messages) and
    install its entry; Refused says why not. `blobs` gives its blobs,
    checked against their descriptors (layout.Reader, registry.Blobs):
    the layer is asked for last, once everything else holds. `work`: a new
    folder for it, in the cache's file system."""
    cfg, layers = manifest.get("config") or {}, manifest.get("layers") or []
    if (cfg.get("mediaType") != CONFIG_TYPE or len(layers) != 1
            or layers[0].get("mediaType") != LAYER_TYPE):
        raise Refused(f"{name}: not a jfast checkpoint of this version")
    signer = _signer(name, signed(cfg, layers[0]),
                     (manifest.get("annotations") or {}).get(SIGNATURE), trust, allow_unsigned)
    config = blobs.json(cfg)
    why = platform.mismatch(config.get("platform") or {}, here)
    if why:
        raise Refused(f"{name}: made for another platform: {why}")
    why = _files_differ(root, config.get("files"))
    if why:
        raise Refused(f"{name}: {why}")
    os.mkdir(work, 0o700)
    _unpack(blobs.path(layers[0]), work)
    with open(os.path.join(work, META)) as f:
        text = f.read()
    try:
        meta = Meta.parse(text, str(config.get("key")))
    except BadEntry as e:
        raise Refused(f"{name}: {e}") from None
    if key.key_of(meta.material) != meta.key:
        raise Refused(f"{name}: its manifest's key is not its key material's")
    material = key.localized(meta.material, meta.java, identity(criu.find()))
    entry = Entry(root, key.key_of(material))
    if entry.published():
        return Installed(entry.key, meta.key, signer)        # here already
    fields = {k: v for k, v in meta.raw.items()
              if k not in (*_SEALED, "format", "created", "meta_sha256")}
    fields.update(key=entry.key, material=material,
                  origin={"key": meta.key, "signer": signer, "imported": time.time()})
    pending = Pending(entry, images=os.path.join(work, "images"))
    try:
        pending.publish(fields)
    except BaseException:
        pending.discard()
        raise
    return Installed(entry.key, meta.key, signer)


def _signer(name: str, what: str, signature: object, trust: str | None,
            allow_unsigned: bool) -> str | None:
    """Who signed `what`, by the trusted keys; Refused unless the user took
    unsigned ones in so many words."""
    if trust and isinstance(signature, str):
        try:
            return signing.signer(what, signature, trust)
        except signing.SignatureError as e:
            raise Refused(f"{name}: {e}") from None
    if allow_unsigned:
        return None
    if not isinstance(signature, str):
        raise Refused(f"{name}: unsigned (--allow-unsigned, or JFAST_REMOTE_ALLOW_UNSIGNED=1 "
                      "for runs, takes it anyway)")
    raise Refused(f"{name}: signed, but no trusted keys are given (JFAST_REMOTE_TRUST or "
                  "--trust: an allowed-signers file)")


def _files_differ(root: str, files: object) -> str | None:
    if not isinstance(files, dict):
        return "its config lists no files"
    digests = FileDigests(root)
    try:
        for path, want in sorted(files.items()):
            got = digests.digest(path) if os.path.isabs(path) else "missing"
            if got != want:
                return f"{path} {'is missing' if got == 'missing' else 'differs'} here"
        return None
    finally:
        try:
            digests.save()      # the JDK's 170 MB are hashed once per machine, not per pull
        except OSError:
            pass


def _unpack(layer: str, into: str) -> None:
    """The entry's meta.json and images/ from the layer, as regular files
    only, under `into`: no links, devices, absolute paths or `..`."""
    os.mkdir(os.path.join(into, "images"), 0o700)
    try:
        with tarfile.open(layer, mode="r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                ok = member.isfile() and (member.name == META or (
                    len(parts) == 2 and parts[0] == "images"
                    and parts[1] not in ("", ".", "..")))
                if not ok:
                    raise Refused(f"the entry holds {member.name!r}, which no entry holds")
                src = tar.extractfile(member)
                fd = os.open(os.path.join(into, *parts), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o600)
                with os.fdopen(fd, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
    except (OSError, tarfile.TarError, EOFError) as e:
        raise Refused(f"the entry's layer cannot be read ({e})") from None
    if not os.path.exists(os.path.join(into, META)):
        raise Refused(f"the entry's layer holds no {META}")
