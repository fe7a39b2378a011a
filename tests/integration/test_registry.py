"""Checkpoints shared through a real OCI registry: Debian's docker-registry
(the CNCF distribution registry 2.8), started here on 127.0.0.1 with a
temporary config and htpasswd auth, stopped by PID. Two users with their
own caches and Docker credentials stand for two machines: alice makes a
checkpoint ahead of time and pushes it, bob's first run with JFAST_REMOTE
set is a restore. What bob refuses, he refuses with the reason, and his
program runs all the same."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import EARLY, JFAST, Runner, free_port, keypair, need_tool, with_api

from jfast.fleet import artifact, registry, signing

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("integration")]

CONFIG = """version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {data}
http:
  addr: 127.0.0.1:{port}
auth:
  htpasswd:
    realm: jfast-test
    path: {htpasswd}
"""
USERS = {"alice": "alice-secret", "bob": "bob-secret"}


class Registry:
    def __init__(self, folder: Path) -> None:
        binary = need_tool("docker-registry")
        htpasswd = need_tool("htpasswd")
        self.data = folder / "data"
        self.data.mkdir(parents=True)
        passwords = folder / "htpasswd"
        for i, (user, password) in enumerate(USERS.items()):
            subprocess.run([htpasswd, "-B", "-b", *(["-c"] if i == 0 else []), str(passwords),
                            user, password], check=True, capture_output=True)
        self.port = free_port()
        config = folder / "config.yml"
        config.write_text(CONFIG.format(data=self.data, port=self.port, htpasswd=passwords))
        self.proc = subprocess.Popen([binary, "serve", str(config)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"oci://127.0.0.1:{self.port}/jfast/app"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=2)
            except urllib.error.HTTPError as e:
                if e.code == 401:                 # up, and asking for credentials
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("docker-registry did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def reg(tmp_path: Path):
    r = Registry(tmp_path / "registry")
    try:
        yield r
    finally:
        r.stop()


class User:
    """A user on a machine of their own: a cache, Docker credentials for
    the registry (0600, as `docker login` writes them), and a report."""

    def __init__(self, name: str, runner: Runner, tmp_path: Path, reg: Registry) -> None:
        home = tmp_path / name
        (home / "docker").mkdir(parents=True)
        creds = home / "docker" / "config.json"
        auth = base64.b64encode(f"{name}:{USERS[name]}".encode()).decode()
        creds.write_text(json.dumps({"auths": {f"127.0.0.1:{reg.port}": {"auth": auth}}}))
        creds.chmod(0o600)
        self.runner = runner
        self.env = {"JFAST_CACHE_DIR": str(home / "cache"), "DOCKER_CONFIG": str(home / "docker"),
                    "JFAST_REPORT": str(home / "report.jsonl")}
        self.report = home / "report.jsonl"

    def jfast(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return self.runner.run([*JFAST, *args], env={**self.env, **env})

    def last(self) -> dict:
        return json.loads(self.report.read_text().splitlines()[-1])

    def entries(self) -> list[str]:
        folder = Path(self.env["JFAST_CACHE_DIR"]) / "entries"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []


@pytest.fixture
def program(tmp_path: Path) -> list[str]:
    return ["-cp", with_api(tmp_path / "early", {"Early.java": EARLY}), "Early", "x"]


def made_and_pushed(alice: User, reg: Registry, args: list[str], *sign: str) -> str:
    made = alice.jfast("checkpoint", "--", *args)
    assert made.returncode == 0, made.stderr
    pushed = alice.jfast("cache", "push", made.stdout.splitlines()[-1], "--to", reg.url, *sign)
    assert pushed.returncode == 0, pushed.stderr
    return pushed.stdout.split(" pushed as ")[1].split()[0]


def test_a_pushed_checkpoint_restores_another_users_first_run(runner: Runner, tmp_path: Path,
                                                              reg: Registry, program: list[str]):
    alice, bob = User("alice", runner, tmp_path, reg), User("bob", runner, tmp_path, reg)
    signer, trusted = keypair(tmp_path, "builder")
    target = made_and_pushed(alice, reg, program, "--sign", signer)
    assert target.startswith(f"127.0.0.1:{reg.port}/jfast/app:")
    want = runner.java(*program)
    got = bob.jfast(*program, JFAST_REMOTE=reg.url, JFAST_REMOTE_TRUST=trusted)
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, 7)
    rep = bob.last()
    assert rep["outcome"] == "restored" and "remote" in rep["timings_ms"], rep
    again = bob.jfast(*program, JFAST_REMOTE=reg.url, JFAST_REMOTE_TRUST=trusted)
    assert again.returncode == 7 and "remote" not in bob.last()["timings_ms"]   # local now
    # `jfast cache pull` of the same tag: here already
    pulled = bob.jfast("cache", "pull", target.rsplit(":", 1)[1], "--from", reg.url,
                       "--trust", trusted)
    assert pulled.returncode == 0 and "installed" in pulled.stdout, pulled.stderr


def test_bad_credentials_say_so(runner: Runner, tmp_path: Path, reg: Registry):
    alice = User("alice", runner, tmp_path, reg)
    (Path(alice.env["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps(
        {"auths": {f"127.0.0.1:{reg.port}": {"auth": base64.b64encode(b"alice:wrong").decode()}}}))
    res = alice.jfast("cache", "pull", "0" * 32 + "-x86_64", "--from", reg.url)
    assert res.returncode == 1 and "jfast cache:" in res.stderr, res.stderr


def refused_then_cold(bob: User, runner: Runner, program: list[str], why: str, **env: str):
    got = bob.jfast(*program, JFAST_REMOTE_TIMEOUT="20", **env)
    want = runner.java(*program)
    assert (got.stdout, got.stderr, got.returncode) == (want.stdout, want.stderr, 7)
    rep = bob.last()
    assert rep["outcome"] == "started" and why in (rep["reason"] or ""), rep
    for entry in bob.entries():              # it made its own checkpoint: start over
        shutil.rmtree(Path(bob.env["JFAST_CACHE_DIR"]) / "entries" / entry)


def test_what_a_pull_refuses(runner: Runner, tmp_path: Path, reg: Registry,
                             program: list[str], monkeypatch: pytest.MonkeyPatch):
    alice, bob = User("alice", runner, tmp_path, reg), User("bob", runner, tmp_path, reg)
    monkeypatch.setenv("DOCKER_CONFIG", alice.env["DOCKER_CONFIG"])   # for the changes below
    signer, trusted = keypair(tmp_path, "builder")
    stranger, _ = keypair(tmp_path, "stranger")
    remote = {"JFAST_REMOTE": reg.url, "JFAST_REMOTE_TRUST": trusted}

    made_and_pushed(alice, reg, program)                          # unsigned
    refused_then_cold(bob, runner, program, "unsigned", **remote)
    made_and_pushed(alice, reg, program, "--sign", stranger)      # an unknown key
    refused_then_cold(bob, runner, program, "signed by a key", **remote)

    target = made_and_pushed(alice, reg, program, "--sign", signer)
    with_platform(reg, target, {"cpu_features": ["fpu", "notacpufeature"]}, signer)
    refused_then_cold(bob, runner, program, "made for another platform: cpu_features", **remote)

    made_and_pushed(alice, reg, program, "--sign", signer)
    tamper_layer(reg, target)
    refused_then_cold(bob, runner, program, "does not match its digest", **remote)


def with_platform(reg: Registry, target: str, change: dict, signer: str) -> None:
    """The artifact at `target` replaced by one whose config says another
    platform, signed by `signer` (a trusted builder on another machine)."""
    remote = registry.Remote(reg.url)
    client = registry.Client(remote, 30)
    tag = target.rsplit(":", 1)[1]
    manifest = client.manifest(tag)
    blobs = registry.Blobs(client, str(reg.data.parent))
    config = blobs.json(manifest["config"])
    config["platform"].update(change)
    data = json.dumps(config).encode()
    path = reg.data.parent / "config.json"
    path.write_bytes(data)
    from jfast.fleet import layout
    cfg = layout.describe(artifact.CONFIG_TYPE, data)
    client.upload(cfg, str(path))
    notes = {**manifest["annotations"],
             artifact.SIGNATURE: signing.sign(artifact.signed(cfg, manifest["layers"][0]), signer)}
    client.put_manifest({**manifest, "config": cfg, "annotations": notes}, tag)


def tamper_layer(reg: Registry, target: str) -> None:
    """Flip a byte of the layer in the registry's storage, as a disk or an
    intruder would: the registry serves it as it is."""
    client = registry.Client(registry.Remote(reg.url), 30)
    manifest = client.manifest(target.rsplit(":", 1)[1])
    digest = manifest["layers"][0]["digest"][7:]
    [data] = [p for p in reg.data.rglob("data") if p.parent.name == digest]
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 1
    data.write_bytes(bytes(raw))


def test_a_registry_down_or_slow_costs_the_budget_at_most(runner: Runner, tmp_path: Path,
                                                          program: list[str]):
    """Nothing listening, or a server that accepts and never answers: the run
    starts cold within JFAST_REMOTE_TIMEOUT, and says why."""
    (tmp_path / "bob").mkdir()
    bob = Runner(tmp_path / "bob")
    down = f"oci://127.0.0.1:{free_port()}/jfast/app"
    got = bob.jfast(*program, env={"JFAST_REMOTE": down})
    assert got.returncode == 7 and "cannot reach" in bob.last()["reason"], bob.last()
    assert got.stderr == runner.java(*program).stderr      # nothing of jfast's or oras's
    (tmp_path / "carol").mkdir()
    carol = Runner(tmp_path / "carol")              # an empty cache again
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:                            # accepts, and says nothing
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                pass
    t = threading.Thread(target=hold, daemon=True)
    t.start()
    try:
        slow = f"oci://127.0.0.1:{silent.getsockname()[1]}/jfast/app"
        got = carol.jfast(*program, env={"JFAST_REMOTE": slow, "JFAST_REMOTE_TIMEOUT": "1"})
        rep = carol.last()
        assert (got.returncode, rep["outcome"]) == (7, "started"), rep
        assert "cannot reach" in rep["reason"] or "time allowed" in rep["reason"], rep
    finally:
        stop.set()
        t.join()
        for s in (*held, silent):
            s.close()


def test_a_new_checkpoint_is_pushed_behind_the_run(runner: Runner, tmp_path: Path,
                                                   reg: Registry, program: list[str]):
    """JFAST_REMOTE_PUSH: alice's first run makes the checkpoint and a process
    of its own pushes it, signed; bob's first run restores it."""
    alice, bob = User("alice", runner, tmp_path, reg), User("bob", runner, tmp_path, reg)
    signer, trusted = keypair(tmp_path, "builder")
    first = alice.jfast(*program, JFAST_REMOTE=reg.url, JFAST_REMOTE_PUSH="1",
                        JFAST_REMOTE_SIGN=signer)
    assert first.returncode == 7 and alice.last()["checkpoint"] == "created", alice.last()
    log = Path(alice.env["JFAST_CACHE_DIR"]) / registry.PUSH_LOG
    deadline = time.monotonic() + 120
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "pushed " in log.read_text(), log.read_text()
    assert log.stat().st_mode & 0o777 == 0o600
    got = bob.jfast(*program, JFAST_REMOTE=reg.url, JFAST_REMOTE_TRUST=trusted)
    assert got.returncode == 7 and bob.last()["outcome"] == "restored", bob.last()
