"""Who made a checkpoint: SSH signatures (`ssh-keygen -Y`, OpenSSH 8.1 and
later) over the digests of an artifact's config and layer (which say
everything a restore uses), in the namespace `jfast-checkpoint`. The
signature travels in the manifest's annotations, so a registry keeps it
with the artifact.

An SSH key is what a fleet's operators already have and rotate, and
OpenSSH's signature format needs no library here: the signer signs with a
private key file (`--sign KEYFILE`); a machine trusts the keys listed in
an allowed-signers file (`ssh-keygen(1)`, ALLOWED SIGNERS: one
`PRINCIPAL KEYTYPE KEY` a line), named by JFAST_REMOTE_TRUST or `--trust`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

from jfast.errors import JfastError
from jfast.linux.programs import which

NAMESPACE = "jfast-checkpoint"


class SignatureError(JfastError):
    """No signature could be made, or one is missing, unknown or wrong."""


def _message(signed: str) -> bytes:
    return f"jfast checkpoint {signed}\n".encode()


def _ssh_keygen() -> str:
    found = which("ssh-keygen", os.environ.get("PATH", os.defpath))
    if not found:
        raise SignatureError("ssh-keygen is needed for signatures: install openssh-client")
    return found


def sign(signed: str, key_file: str) -> str:
    """The armored SSH signature of `signed` (digests) by the private key in `key_file`."""
    tool = _ssh_keygen()
    with tempfile.TemporaryDirectory(prefix="jfast-sign.") as tmp:
        message = os.path.join(tmp, "manifest")
        with open(message, "wb") as f:
            f.write(_message(signed))
        res = subprocess.run([tool, "-Y", "sign", "-q", "-f", key_file, "-n", NAMESPACE, message],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        if res.returncode != 0:
            raise SignatureError(f"cannot sign with {key_file}: {res.stderr.strip()}")
        with open(message + ".sig") as f:
            return f.read()


def signer(signed: str, signature: str, allowed_signers: str) -> str:
    """The principal of `allowed_signers` whose key made `signature` over
    `signed`; SignatureError naming what is wrong otherwise."""
    tool = _ssh_keygen()
    if not os.path.isfile(allowed_signers):
        raise SignatureError(f"{allowed_signers}: no such allowed-signers file")
    with tempfile.TemporaryDirectory(prefix="jfast-verify.") as tmp:
        sig = os.path.join(tmp, "manifest.sig")
        with open(sig, "w") as f:
            f.write(signature)
        found = subprocess.run([tool, "-Y", "find-principals", "-s", sig, "-f", allowed_signers],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL,
                               check=False)
        principals = found.stdout.split()
        if found.returncode != 0 or not principals:
            raise SignatureError(f"signed by a key {allowed_signers} does not list")
        for principal in principals:
            res = subprocess.run([tool, "-Y", "verify", "-f", allowed_signers, "-I", principal,
                                  "-n", NAMESPACE, "-s", sig], input=_message(signed),
                                 capture_output=True, check=False)
            if res.returncode == 0:
                return principal
        raise SignatureError("the signature does not match the checkpoint: it was changed "
                             "after it was signed")
