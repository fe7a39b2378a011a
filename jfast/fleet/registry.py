"""An OCI distribution registry as a fleet's checkpoint store (docs/fleet.md),
through oras-py's `Registry` (the ORAS project's Python SDK).

A remote is `oci://HOST[:PORT]/REPO`: HTTPS, except on a loopback host,
which is plain HTTP, as Docker treats it; `oci+http://` asks for plain
HTTP elsewhere. An artifact is tagged `<program key>-<arch>`
(store/key.py's `program_key`): the same on every machine that runs the
program the same way, so a machine that misses asks for that tag.
Credentials are Docker's (`$DOCKER_CONFIG/config.json`, else
`~/.docker/config.json`, as `docker login` writes them); jfast writes none.

Every request has a deadline: a run that asks the registry on a miss
(`JFAST_REMOTE`) must start cold within its budget when the registry is
down or slow. Blobs are checked against their digests as they arrive.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import time

from jfast.errors import JfastError
from jfast.fleet import artifact, layout
from jfast.linux.fs import remove_tree
from jfast.store import cache

_REPO = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")


class RemoteError(JfastError):
    """The registry could not be asked or answered otherwise than expected."""

    exit_code = 1


class Remote:
    """A parsed `oci://HOST[:PORT]/REPO`."""

    def __init__(self, url: str) -> None:
        scheme, sep, rest = url.partition("://")
        host, _, repo = rest.partition("/")
        if (not sep or scheme not in ("oci", "oci+http") or not _HOST.fullmatch(host)
                or not _REPO.fullmatch(repo)):
            raise RemoteError(f"{url} is not a registry: use oci://HOST[:PORT]/REPO "
                              "(repository in lower case)")
        self.url, self.host, self.repo = url, host, repo
        self.http = scheme == "oci+http" or _loopback(host)

    def target(self, tag: str) -> str:
        return f"{self.host}/{self.repo}:{tag}"


def _loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:host.index("]")]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def tag(program_key: str, arch: str) -> str:
    return f"{program_key}-{arch}"


def docker_config() -> str:
    """Where Docker keeps registry credentials."""
    folder = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    return os.path.join(folder, "config.json")


class Client:
    """An oras-py Registry for `remote`, each request bounded by `deadline`
    (time.monotonic()) and `timeout` seconds."""

    def __init__(self, remote: Remote, timeout: float, deadline: float | None = None) -> None:
        try:
            import logging

            import oras.provider
            import requests
            # oras-py logs to stderr, which is the program's: jfast says
            # what went wrong itself, in the report
            logging.getLogger("oras").setLevel(logging.CRITICAL + 1)
        except ImportError as e:
            raise RemoteError(f"the registry client is missing ({e.name}): reinstall jfast "
                              "(./setup.sh)") from None
        self.remote, self.timeout, self.deadline = remote, timeout, deadline
        self._requests = requests
        backend = self._auth_backend()
        self.oras = oras.provider.Registry(hostname=remote.host, insecure=remote.http,
                                           auth_backend=backend)
        # oras-py sets no timeouts: every request gets ours.
        request = self.oras.session.request
        self.oras.session.request = lambda *a, **kw: request(*a, **{"timeout": self._left(),
                                                                    **kw})
        self.container = self.oras.get_container(remote.target("latest"))
        creds = docker_config()
        self.oras.auth.load_configs(self.container,
                                    configs=[creds] if os.path.exists(creds) else [])
        # oras-py's basic backend fails on its own attribute without credentials
        self.anonymous = backend == "basic" and not getattr(self.oras.auth, "_basic_auth", None)

    def _left(self) -> float:
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RemoteError("the registry did not answer within the time allowed")
        return min(self.timeout, left)

    def _auth_backend(self) -> str:
        """oras-py's backend for the registry's challenge: `basic` for a
        registry with htpasswd (the CNCF registry's own), `token` else."""
        url = f"{'http' if self.remote.http else 'https'}://{self.remote.host}/v2/"
        try:
            answer = self._requests.get(url, timeout=self._left())
        except self._requests.RequestException as e:
            raise RemoteError(f"cannot reach {self.remote.host}: {_short(e)}") from None
        challenge = answer.headers.get("WWW-Authenticate", "")
        return "basic" if challenge.lower().startswith("basic") else "token"

    def _call(self, what: str, fn, *args, **kw):
        if self.anonymous:
            raise RemoteError(f"{self.remote.host} asks for a password, and {docker_config()} "
                              f"has none for it: docker login {self.remote.host}")
        try:
            return fn(*args, **kw)
        except RemoteError:
            raise
        except Exception as e:  # noqa: BLE001 - requests, oras and jsonschema raise their own
            raise RemoteError(f"{what} at {self.remote.host}: {_short(e)}") from None

    def manifest(self, tag_name: str) -> dict | None:
        """The manifest tagged `tag_name`, None if there is none."""
        c = self.oras.get_container(self.remote.target(tag_name))
        url = f"{self.oras.prefix}://{c.manifest_url()}"
        answer = self._call("asking for the checkpoint", self.oras.do_request, url, "GET",
                            headers={"Accept": layout.MANIFEST_TYPE})
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise RemoteError(f"{self.remote.host} answered {answer.status_code} for "
                              f"{tag_name}: {answer.text[:200]}")
        data = answer.content
        digest = answer.headers.get("Docker-Content-Digest")
        if digest and digest != "sha256:" + hashlib.sha256(data).hexdigest():
            raise RemoteError(f"the manifest of {tag_name} does not match its digest")
        try:
            return json.loads(data)
        except ValueError:
            raise RemoteError(f"the manifest of {tag_name} is not JSON") from None

    def upload(self, desc: dict, path: str) -> None:
        if self._call("checking a blob", self.oras.blob_exists, desc, self.container):
            return
        answer = self._call("uploading a blob", self.oras.upload_blob, path, self.container,
                            desc)
        if answer.status_code not in (200, 201, 202):
            raise RemoteError(f"{self.remote.host} refused a blob: {answer.status_code} "
                              f"{answer.text[:200]}")

    def put_manifest(self, manifest: dict, tag_name: str) -> None:
        c = self.oras.get_container(self.remote.target(tag_name))
        answer = self._call("uploading the manifest", self.oras.upload_manifest, manifest, c)
        if answer.status_code not in (200, 201):
            raise RemoteError(f"{self.remote.host} refused the manifest: {answer.status_code} "
                              f"{answer.text[:200]}")


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:200]


class Blobs:
    """A registry's blobs for artifact.install: downloaded into `work`,
    checked against their descriptors as they arrive."""

    def __init__(self, client: Client, work: str) -> None:
        self.client, self.work = client, work

    def path(self, desc: dict) -> str:
        digest, size = str(desc.get("digest")), desc.get("size")
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest) or not isinstance(size, int):
            raise artifact.Refused(f"a malformed blob descriptor: {desc}")
        out = os.path.join(self.work, digest[7:])
        c = self.client
        h = hashlib.sha256()
        answer = c._call("downloading a blob", c.oras.get_blob, c.container, digest, stream=True)
        with answer:
            if answer.status_code != 200:
                raise RemoteError(f"{c.remote.host} answered {answer.status_code} for a blob")
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                got = c._call("downloading a blob", self._copy, answer, f, h, size)
        if got != size or "sha256:" + h.hexdigest() != digest:
            raise artifact.Refused(f"blob {digest[:19]} does not match its digest: it was "
                                   "changed on the way or in the registry")
        return out

    def _copy(self, answer, f, h, size: int) -> int:
        """The body into `f` (and `h`), no more than `size` bytes and one
        chunk more; how many it took. A timeout or a broken connection on
        the way is the caller's RemoteError."""
        got = 0
        for chunk in answer.iter_content(1 << 20):
            got += len(chunk)
            h.update(chunk)
            f.write(chunk)
            if got > size:
                break
            self.client._left()               # the deadline holds for a slow download too
        return got

    def json(self, desc: dict) -> dict:
        return layout.json_object(self.path(desc), desc["digest"][:19], artifact.Refused)


def push(root: str, keys: list[str], remote: Remote, sign_with: str | None,
         timeout: float = 60) -> list[tuple[artifact.Built, str]]:
    """Push the entries `keys` of the cache at `root` to `remote`; each with
    its tag."""
    client = Client(remote, timeout)
    scratch = cache.scratch(root, "push.")
    done = []
    try:
        for k in keys:
            art = artifact.build(root, k, scratch, sign_with)
            config = os.path.join(scratch, "config.json")
            with open(config, "wb") as f:
                f.write(art.config)
            client.upload(art.config_desc, config)
            client.upload(art.layer_desc, art.layer)
            name = tag(art.program_key, art.arch)
            client.put_manifest(json.loads(art.manifest), name)
            os.unlink(art.layer)
            done.append((art, name))
    finally:
        remove_tree(scratch)
    return done


def pull(root: str, remote: Remote, tag_name: str, trust: str | None, allow_unsigned: bool,
         timeout: float, deadline: float | None = None) -> artifact.Installed | None:
    """Install the artifact tagged `tag_name` from `remote`, checked as an
    import checks it (artifact.install); None when the registry has no such
    tag. Refused or RemoteError say why not."""
    client = Client(remote, timeout, deadline)
    manifest = client.manifest(tag_name)
    if manifest is None:
        return None
    if manifest.get("artifactType") != artifact.ARTIFACT_TYPE:
        raise artifact.Refused(f"{remote.target(tag_name)}: not a jfast checkpoint")
    cache.ensure_dirs(root)
    scratch = cache.scratch(root, "pull.")
    try:
        here = artifact.this_machine(root)
        work = os.path.join(scratch, "entry")
        return artifact.install(root, remote.target(tag_name), manifest,
                                Blobs(client, scratch), here, trust, allow_unsigned, work)
    finally:
        remove_tree(scratch)


PUSH_LOG = "remote.log"


def push_behind(root: str, key: str, env: dict[str, str]) -> None:
    """JFAST_REMOTE_PUSH: push the checkpoint `key`, just published, from a
    process of its own in a session of its own, so that neither the program
    nor the run waits for the upload; it writes one line to the cache's
    remote.log when done. The same jfast runs it, whatever PATH says."""
    import subprocess
    import sys

    import jfast
    source = os.path.dirname(os.path.dirname(os.path.abspath(jfast.__file__)))
    child_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [source,
                                                                   env.get("PYTHONPATH")]))}
    subprocess.Popen([sys.executable, "-m", "jfast.fleet.registry", root, key], env=child_env,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, cwd="/")


def _push_main(root: str, key: str) -> int:
    from jfast.settings import Settings
    settings = Settings(os.environ)
    try:
        remote = Remote(settings.remote or "")
        [(_, name)] = push(root, [key], remote, settings.remote_sign, timeout=300)
        line = f"pushed {key} as {remote.target(name)}"
        code = 0
    except JfastError as e:
        line, code = f"could not push {key}: {e}", 1
    fd = os.open(os.path.join(root, PUSH_LOG), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")
    return code


if __name__ == "__main__":
    import sys
    sys.exit(_push_main(sys.argv[1], sys.argv[2]))
