"""Naming a registry (jfast/fleet/registry.py), without one."""

from __future__ import annotations

import pytest

from jfast.fleet import registry


@pytest.mark.parametrize(("url", "host", "repo", "http"), [
    ("oci://registry.example/team/app", "registry.example", "team/app", False),
    ("oci://127.0.0.1:5000/app", "127.0.0.1:5000", "app", True),
    ("oci://localhost:5000/a/b-c", "localhost:5000", "a/b-c", True),
    ("oci://[::1]:5000/app", "[::1]:5000", "app", True),
    ("oci+http://10.0.0.7:5000/app", "10.0.0.7:5000", "app", True),
])
def test_a_remote_names_its_host_repository_and_scheme(url, host, repo, http):
    remote = registry.Remote(url)
    assert (remote.host, remote.repo, remote.http) == (host, repo, http)
    assert remote.target("k-x86_64") == f"{host}/{repo}:k-x86_64"


@pytest.mark.parametrize("url", ["https://r.example/app", "oci://r.example", "oci://r.example/",
                                 "oci://r.example/App", "oci://r ex/app", "r.example/app"])
def test_anything_else_says_what_a_remote_looks_like(url):
    with pytest.raises(registry.RemoteError, match="oci://HOST"):
        registry.Remote(url)


def test_credentials_are_dockers(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert registry.docker_config() == str(tmp_path / "config.json")
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert registry.docker_config() == str(tmp_path / ".docker" / "config.json")
    assert registry.tag("ab" * 16, "x86_64") == "ab" * 16 + "-x86_64"
