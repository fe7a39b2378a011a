"""SSH signatures over a manifest digest (jfast/fleet/signing.py), with
real ssh-keygen keys."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jfast.fleet import signing

DIGEST = "sha256:" + "ab" * 32


def keypair(tmp_path: Path, name: str) -> tuple[Path, str]:
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True, stdin=subprocess.DEVNULL)
    return key, (tmp_path / f"{name}.pub").read_text().split(" ", 2)[:2]


def allowed(tmp_path: Path, *signers: tuple[str, list[str]]) -> str:
    path = tmp_path / "allowed_signers"
    path.write_text("".join(f"{who} {' '.join(pub)}\n" for who, pub in signers))
    return str(path)


def test_a_trusted_signature_names_its_signer(tmp_path: Path):
    key, pub = keypair(tmp_path, "builder")
    sig = signing.sign(DIGEST, str(key))
    assert signing.signer(DIGEST, sig, allowed(tmp_path, ("ci@example", pub))) == "ci@example"


def test_another_digest_or_an_unknown_key_is_refused(tmp_path: Path):
    key, pub = keypair(tmp_path, "builder")
    _, other = keypair(tmp_path, "someone")
    sig = signing.sign(DIGEST, str(key))
    with pytest.raises(signing.SignatureError, match="changed after it was signed"):
        signing.signer("sha256:" + "cd" * 32, sig, allowed(tmp_path, ("ci@example", pub)))
    with pytest.raises(signing.SignatureError, match="does not list"):
        signing.signer(DIGEST, sig, allowed(tmp_path, ("ops@example", other)))


def test_a_key_that_cannot_sign_says_so(tmp_path: Path):
    with pytest.raises(signing.SignatureError, match="cannot sign"):
        signing.sign(DIGEST, str(tmp_path / "no-such-key"))
