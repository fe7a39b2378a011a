"""Checkpoints that travel (jfast/fleet/): an entry exported to an OCI
layout file, signed, and imported into another cache, where the first run
of the program is a restore; and what an import refuses, with its reason,
while the program still runs."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import EARLY, JFAST, Runner, keypair, with_api

from jfast.fleet import layout

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]


@pytest.fixture
def made(runner: Runner, tmp_path: Path) -> tuple[list[str], str]:
    """A checkpoint of a program with an explicit ready point: its java
    arguments and its key."""
    args = ["-cp", with_api(tmp_path / "early", {"Early.java": EARLY}), "Early", "x"]
    runner.jfast(*args)
    assert runner.last()["checkpoint"] == "created", runner.last()
    return args, runner.last()["key"]


class Machine:
    """Another user's cache on another machine, as far as jfast can tell."""

    def __init__(self, runner: Runner, tmp_path: Path) -> None:
        self.runner = runner
        self.env = {"JFAST_CACHE_DIR": str(tmp_path / "other-cache")}

    def jfast(self, *args: str) -> subprocess.CompletedProcess:
        return self.runner.run([*JFAST, *args], env=self.env)

    def entries(self) -> list[str]:
        folder = Path(self.env["JFAST_CACHE_DIR"]) / "entries"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def export(runner: Runner, key: str, out: Path, *more: str) -> None:
    res = runner.jfast("cache", "export", key, "-o", str(out), *more)
    assert res.returncode == 0, res.stderr
    assert f"wrote {out}" in res.stdout


def test_a_signed_export_restores_on_the_first_run_elsewhere(runner: Runner, tmp_path: Path,
                                                             made):
    args, key = made
    signer, trusted = keypair(tmp_path, "builder")
    out = tmp_path / "checkpoint.oci.tar"
    export(runner, key, out, "--sign", signer)
    assert out.stat().st_mode & 0o777 == 0o600
    other = Machine(runner, tmp_path)
    imported = other.jfast("cache", "import", str(out), "--trust", trusted)
    assert imported.returncode == 0, imported.stderr
    assert "installed" in imported.stdout and "signed by builder@example" in imported.stdout
    want = runner.java(*args)
    got = other.jfast(*args)
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, 7)
    assert runner.last()["outcome"] == "restored", runner.last()
    info = json.loads(other.jfast("cache", "info", runner.last()["key"], "--json").stdout)
    assert info["digests"] == "ok"


def refused(other: Machine, out: Path, *more: str) -> str:
    res = other.jfast("cache", "import", str(out), *more)
    assert res.returncode == 1, res.stdout
    assert other.entries() == []                # nothing installed, nothing left behind
    return res.stderr


def test_what_an_import_refuses(runner: Runner, tmp_path: Path, made):
    args, key = made
    signer, trusted = keypair(tmp_path, "builder")
    stranger, _ = keypair(tmp_path, "stranger")
    other = Machine(runner, tmp_path)

    unsigned = tmp_path / "unsigned.tar"
    export(runner, key, unsigned)
    assert "unsigned (--allow-unsigned, or JFAST_REMOTE_ALLOW_UNSIGNED=1" in refused(
        other, unsigned, "--trust", trusted)

    foreign_key = tmp_path / "stranger.tar"
    export(runner, key, foreign_key, "--sign", stranger)
    assert "signed by a key" in refused(other, foreign_key, "--trust", trusted)
    assert "no trusted keys are given" in refused(other, foreign_key)

    good = tmp_path / "good.tar"
    export(runner, key, good, "--sign", signer)
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(good) as tin, tarfile.open(tampered, "w") as tout:
        for m in tin:
            data = tin.extractfile(m).read()
            if m.size > 100_000:                 # the layer: the entry's images
                data = data[:50_000] + bytes([data[50_000] ^ 1]) + data[50_001:]
            tout.addfile(m, io.BytesIO(data))
    assert "does not match its digest" in refused(other, tampered, "--trust", trusted)

    foreign = tmp_path / "foreign.tar"
    with_platform(good, foreign, {"cpu_features": ["fpu", "notacpufeature"]}, signer)
    assert "made for another platform: cpu_features: this CPU lacks 1 the making one had " \
        "(notacpufeature)" in refused(other, foreign, "--trust", trusted)
    other_kernel = tmp_path / "kernel.tar"
    with_platform(good, other_kernel, {"kernel": "2.6.32"}, signer)
    assert "made for another platform: kernel: made on '2.6.32'" in refused(
        other, other_kernel, "--trust", trusted)

    # and the program runs all the same, as java does
    want = runner.java(*args)
    got = other.jfast(*args)
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, 7)
    assert runner.last()["outcome"] == "started"


def with_platform(src: Path, dst: Path, change: dict, signer: str) -> None:
    """`src` with its config's platform changed, signed again by `signer`:
    an entry made on another machine, by a trusted builder."""
    from jfast.fleet import artifact, signing

    scratch = dst.parent / f"{dst.name}.read"
    scratch.mkdir()
    r = layout.Reader(str(src), str(scratch))
    [desc] = r.manifests
    manifest = r.json(desc)
    config = r.json(manifest["config"])
    config["platform"].update(change)
    w = layout.Writer(str(dst))
    cfg = w.blob_bytes(json.dumps(config).encode(), artifact.CONFIG_TYPE)
    layer = w.blob_file(r.path(manifest["layers"][0]), artifact.LAYER_TYPE)
    notes = {**manifest["annotations"],
             artifact.SIGNATURE: signing.sign(artifact.signed(cfg, layer), signer)}
    new = w.blob_bytes(json.dumps({**manifest, "config": cfg, "layers": [layer],
                                   "annotations": notes}).encode(),
                       layout.MANIFEST_TYPE, artifactType=artifact.ARTIFACT_TYPE)
    w.close([{**new, "annotations": desc["annotations"]}])
