"""OCI image layout files: the OCI image spec's image layout (`oci-layout`,
`index.json`, `blobs/sha256/<digest>`) as one tar file, which `podman`,
`skopeo` and `oras` read as an `oci-archive`. The owner of that format.

A reader takes nothing from the tar but those names, as regular files
(no links, no other paths), and checks every blob against its digest and
size before anything reads it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile

from jfast.errors import JfastError

LAYOUT_FILE, INDEX = "oci-layout", "index.json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
_BLOB = re.compile(r"blobs/sha256/([0-9a-f]{64})")
_CHUNK = 1 << 20


class LayoutError(JfastError):
    """An OCI layout file that cannot be read, or whose bytes do not match."""

    exit_code = 1


def descriptor(media_type: str, digest: str, size: int, **extra: object) -> dict:
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def describe(media_type: str, data: bytes, **extra: object) -> dict:
    """The OCI descriptor of the blob `data`."""
    return descriptor(media_type, "sha256:" + hashlib.sha256(data).hexdigest(), len(data),
                      **extra)


def describe_file(media_type: str, path: str, **extra: object) -> dict:
    """The OCI descriptor of the file at `path` as a blob."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return descriptor(media_type, "sha256:" + h.hexdigest(), os.path.getsize(path), **extra)


class Writer:
    """A layout tar being written at `path` (0600: images hold process
    memory); `close` puts it in place."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._partial = f"{path}.partial.{os.getpid()}"
        fd = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._tar = tarfile.open(fileobj=os.fdopen(fd, "wb"), mode="w", format=tarfile.PAX_FORMAT)
        self._written: set[str] = set()

    def _member(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, 0
        return info

    def put(self, desc: dict, data: bytes | str) -> None:
        """The blob `desc` describes: `data`, or the file at that path."""
        digest = desc["digest"]
        if digest in self._written:
            return
        self._written.add(digest)
        member = self._member(f"blobs/sha256/{digest[7:]}", desc["size"])
        if isinstance(data, bytes):
            self._tar.addfile(member, io.BytesIO(data))
        else:
            with open(data, "rb") as f:
                self._tar.addfile(member, f)

    def blob_bytes(self, data: bytes, media_type: str, **extra: object) -> dict:
        desc = describe(media_type, data, **extra)
        self.put(desc, data)
        return desc

    def blob_file(self, path: str, media_type: str, **extra: object) -> dict:
        desc = describe_file(media_type, path, **extra)
        self.put(desc, path)
        return desc

    def close(self, manifests: list[dict]) -> None:
        """Write the layout's index of `manifests` and put the file in place."""
        for name, doc in ((LAYOUT_FILE, {"imageLayoutVersion": "1.0.0"}),
                          (INDEX, {"schemaVersion": 2, "mediaType": INDEX_TYPE,
                                   "manifests": manifests})):
            data = json.dumps(doc, indent=1, sort_keys=True).encode()
            self._tar.addfile(self._member(name, len(data)), io.BytesIO(data))
        fileobj = self._tar.fileobj
        self._tar.close()
        fileobj.close()
        os.replace(self._partial, self.path)

    def abandon(self) -> None:
        try:
            fileobj = self._tar.fileobj
            self._tar.close()
            fileobj.close()
        finally:
            try:
                os.unlink(self._partial)
            except FileNotFoundError:
                pass


class Reader:
    """A layout tar at `path`, its blobs copied into `scratch` (a private
    folder) and checked against their names as they are read."""

    def __init__(self, path: str, scratch: str) -> None:
        self.scratch = scratch
        self._blobs: dict[str, str] = {}
        index = layout = None
        try:
            with tarfile.open(path, mode="r:") as tar:
                for member in tar:
                    name = member.name.removeprefix("./")
                    if member.isdir() and name in ("", ".", "blobs", "blobs/sha256"):
                        continue
                    if not member.isfile():
                        raise LayoutError(f"{path}: {member.name} is not a regular file")
                    found = _BLOB.fullmatch(name)
                    f = tar.extractfile(member)
                    if found:
                        self._blobs[f"sha256:{found[1]}"] = self._copy(f, found[1])
                    elif name in (INDEX, LAYOUT_FILE) and member.size <= _CHUNK:
                        data = json.loads(f.read())
                        index, layout = (data, layout) if name == INDEX else (index, data)
                    else:
                        raise LayoutError(f"{path}: {member.name} has no place in an OCI layout")
        except (OSError, tarfile.TarError, ValueError) as e:
            raise LayoutError(f"{path}: not an OCI layout file ({e})") from None
        if not isinstance(layout, dict) or layout.get("imageLayoutVersion") != "1.0.0":
            raise LayoutError(f"{path}: no oci-layout of version 1.0.0")
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            raise LayoutError(f"{path}: no index.json listing manifests")
        self.manifests: list[dict] = index["manifests"]

    def _copy(self, f, hexdigest: str) -> str:
        out = os.path.join(self.scratch, hexdigest)
        h = hashlib.sha256()
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as dst:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                dst.write(chunk)
        if h.hexdigest() != hexdigest:
            raise LayoutError(f"blob sha256:{hexdigest[:12]} does not match its digest: "
                              "the file was changed")
        return out

    def path(self, desc: dict) -> str:
        """The blob `desc` names, checked: its file in `scratch`."""
        path = self._blobs.get(str(desc.get("digest")))
        if path is None:
            raise LayoutError(f"blob {desc.get('digest')} is missing")
        if os.path.getsize(path) != desc.get("size"):
            raise LayoutError(f"blob {desc['digest']} is not of the size its descriptor says")
        return path

    def json(self, desc: dict) -> dict:
        return json_object(self.path(desc), desc["digest"])


def json_object(path: str, name: str, error: type[JfastError] = LayoutError) -> dict:
    """The JSON object in the blob file at `path`; `error` naming the blob
    `name` when it holds anything else."""
    with open(path, "rb") as f:
        try:
            doc = json.loads(f.read())
        except ValueError as e:
            raise error(f"blob {name} is not JSON ({e})") from None
    if not isinstance(doc, dict):
        raise error(f"blob {name} is not a JSON object")
    return doc
