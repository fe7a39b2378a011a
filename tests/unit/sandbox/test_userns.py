"""What forbids a user namespace, and the fix (jfast/sandbox/userns.py)."""

from __future__ import annotations

import io

from jfast.sandbox import userns


def test_each_switch_that_forbids_user_namespaces_is_named_with_its_fix(monkeypatch):
    values = {"/proc/sys/kernel/unprivileged_userns_clone": "1\n",
              "/proc/sys/user/max_user_namespaces": "0\n"}

    def fake_open(path, *a, **kw):
        if path not in values:
            raise FileNotFoundError(path)
        return io.StringIO(values[path])

    monkeypatch.setattr(userns, "open", fake_open, raising=False)
    what, fix = userns.blocked()
    assert what == "user.max_user_namespaces = 0 forbids unprivileged user namespaces"
    assert fix.startswith("sysctl -w user.max_user_namespaces=15000")
    values["/proc/sys/user/max_user_namespaces"] = "15000\n"
    assert userns.blocked() is None
