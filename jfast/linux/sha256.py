"""sha256 for the few hundred bytes a run hashes on its way to a restore
(the key, a class folder's listing), without importing hashlib: hashlib
links OpenSSL's libcrypto, some 3 ms of every run. Files (jars, images) go
through hashlib (integrity.digest), whose OpenSSL code is several times
faster on large inputs."""

try:
    from _sha256 import sha256  # CPython's own, built in up to 3.11
except ImportError:
    try:
        from _sha2 import sha256  # the same, from 3.12
    except ImportError:
        from hashlib import sha256

__all__ = ["sha256"]
