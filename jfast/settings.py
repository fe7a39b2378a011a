"""jfast's own settings: every `JFAST_*` environment variable, read here and
nowhere else (the README's "Settings" table). jfast takes none of java's
options; each run reads these once, from its own environment.

Values are kept as given; the module that owns a concept checks its value
(java/protocol.py the ready modes, display/display.py the display modes,
store/prune.py the size limit) and names the fix when it is wrong.
"""

from __future__ import annotations

import os


def _on(value: str | None) -> bool:
    return (value or "") not in ("", "0")


class Settings:
    """The JFAST_* variables of one environment."""

    def __init__(self, env: dict[str, str]) -> None:      # or os.environ
        self.disabled = _on(env.get("JFAST_DISABLE"))          # behave exactly like java
        self.verbose = _on(env.get("JFAST_VERBOSE"))           # explain each step on stderr
        self.report = env.get("JFAST_REPORT") or None          # append a JSON line per run
        self.java = env.get("JFAST_JAVA") or None              # the java binary to use
        self.criu = env.get("JFAST_CRIU") or None              # the criu binary to use
        self.cache_dir = env.get("JFAST_CACHE_DIR") or None    # where checkpoints live
        self.cache_max = env.get("JFAST_CACHE_MAX", "").strip()  # the cache's size limit
        self.ready = env.get("JFAST_READY") or None            # where to checkpoint
        self.display = env.get("JFAST_DISPLAY") or "auto"      # virtual | host | none | auto
        self.screen = env.get("JFAST_SCREEN") or None          # the virtual display's screen
        self.xvfb = env.get("JFAST_XVFB") or None              # the Xvfb binary
        self.xvfb_args = env.get("JFAST_XVFB_ARGS", "")        # more Xvfb arguments
        self.ready_points = _ready_points(env)       # the user's file (java/readyfile.py)
        # Checkpoints shared through a registry (docs/fleet.md)
        self.remote = env.get("JFAST_REMOTE") or None              # oci://HOST[:PORT]/REPO
        self.remote_timeout = env.get("JFAST_REMOTE_TIMEOUT", "").strip()   # a miss's budget
        self.remote_trust = env.get("JFAST_REMOTE_TRUST") or None  # allowed-signers file
        self.remote_unsigned = _on(env.get("JFAST_REMOTE_ALLOW_UNSIGNED"))  # take unsigned
        self.remote_push = _on(env.get("JFAST_REMOTE_PUSH"))        # push new checkpoints
        self.remote_sign = env.get("JFAST_REMOTE_SIGN") or None    # the key that signs them


def _ready_points(env: dict[str, str]) -> str | None:
    """$XDG_CONFIG_HOME/jfast/ready-points, else ~/.config/jfast/ready-points
    (None: no home to look in)."""
    config = env.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(config):
        home = env.get("HOME", "")
        if not os.path.isabs(home):
            return None
        config = os.path.join(home, ".config")
    return os.path.join(config, "jfast", "ready-points")


def current() -> Settings:
    """This process's settings, from its environment as it is now."""
    return Settings(os.environ)
