"""OCI image layout files (jfast/fleet/layout.py): what is written reads
back, and a changed byte, a link or a stray path is refused."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from jfast.fleet import layout


def written(tmp_path: Path) -> tuple[Path, dict]:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 3_000_000)
    out = tmp_path / "out.tar"
    w = layout.Writer(str(out))
    cfg = w.blob_bytes(b'{"a": 1}', "application/x-config")
    layer = w.blob_file(str(big), "application/x-layer")
    manifest = w.blob_bytes(json.dumps({"config": cfg, "layers": [layer]}).encode(),
                            layout.MANIFEST_TYPE)
    w.close([{**manifest, "annotations": {layout.REF_NAME: "k1"}}])
    return out, layer


def test_what_is_written_reads_back(tmp_path: Path):
    out, layer = written(tmp_path)
    assert out.stat().st_mode & 0o777 == 0o600
    (tmp_path / "s").mkdir()
    r = layout.Reader(str(out), str(tmp_path / "s"))
    [desc] = r.manifests
    assert desc["annotations"][layout.REF_NAME] == "k1"
    manifest = r.json(desc)
    assert r.json(manifest["config"]) == {"a": 1}
    assert Path(r.path(layer)).read_bytes() == b"x" * 3_000_000
    with tarfile.open(out) as tar:                 # as podman and skopeo read it
        assert {"oci-layout", "index.json"} <= set(tar.getnames())


def rewritten(src: Path, dst: Path, change) -> None:
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for m in tin:
            data = tin.extractfile(m).read() if m.isfile() else b""
            m, data = change(m, data)
            if m is not None:
                tout.addfile(m, io.BytesIO(data))


def test_a_changed_blob_is_refused(tmp_path: Path):
    out, layer = written(tmp_path)
    bad = tmp_path / "bad.tar"

    def flip(m, data):
        if m.name.endswith(layer["digest"][7:]):
            data = b"y" + data[1:]
        return m, data
    rewritten(out, bad, flip)
    (tmp_path / "s").mkdir()
    with pytest.raises(layout.LayoutError, match="does not match its digest"):
        layout.Reader(str(bad), str(tmp_path / "s"))


@pytest.mark.parametrize("kind", ["link", "stray"])
def test_a_link_or_a_stray_path_is_refused(tmp_path: Path, kind: str):
    out, _ = written(tmp_path)
    extra = tarfile.TarInfo("blobs/sha256/" + "0" * 64 if kind == "link" else "../evil")
    if kind == "link":
        extra.type, extra.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with tarfile.open(out, "a") as tar:
        tar.addfile(extra, io.BytesIO(b""))
    (tmp_path / "s").mkdir()
    with pytest.raises(layout.LayoutError, match="not a regular file|no place"):
        layout.Reader(str(out), str(tmp_path / "s"))


def test_a_missing_index_is_refused(tmp_path: Path):
    out, _ = written(tmp_path)
    bad = tmp_path / "bad.tar"
    rewritten(out, bad, lambda m, d: (None, d) if m.name == "index.json" else (m, d))
    (tmp_path / "s").mkdir()
    with pytest.raises(layout.LayoutError, match="index.json"):
        layout.Reader(str(bad), str(tmp_path / "s"))
