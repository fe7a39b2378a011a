"""The display side of a cold run (jfast/cold/warmup.py calls it).

In virtual mode it starts the program behind the private Xvfb
(jfast/display/xvfb.py), watches that display for the `window` ready point
(jfast/display/xwatch.py), and hangs up its own X connection before every dump,
since CRIU cannot dump a connection to a client outside the image.

In every mode it refuses a dump while the program holds an X connection
that crosses the sandbox's edge (jfast/display/xguard.py): such an image could
never be restored.
"""

from __future__ import annotations

import os
import time

from jfast.display import xguard, xvfb
from jfast.display.display import DisplayPlan
from jfast.errors import FastPathUnavailable
from jfast.log import verbose

# How long a dump waits for outside clients of the private display (jfast's
# own watch, a screenshot) to be gone from the X server.
CLIENTS_GONE_TIMEOUT = 3.0


class ColdDisplay:
    def __init__(self, plan: DisplayPlan | None, ready: str) -> None:
        self.plan = plan
        self.virtual = plan is not None and plan.virtual
        self.watching = self.virtual and ready in ("auto", "window")
        self.watch = None                 # xwatch.WindowWatch while attached
        self.window: int | None = None    # the application window seen mapped
        self.init_pid: int | None = None
        self._status: tuple[int, int] | None = None

    def spawn(self, argv: list[str], env: dict[str, str],
              fds: dict[int, int]) -> tuple[list[str], dict[str, str], dict[int, int]]:
        """The program's argv, env and fds, behind the private Xvfb if virtual."""
        if not self.virtual:
            return argv, env, fds
        assert self.plan is not None
        self._status = os.pipe()
        argv, env = xvfb.wrap(argv, env, self.plan.number, self.plan.xvfb or "Xvfb",
                              self.plan.screen, self.plan.xvfb_args)
        return argv, env, {**fds, xvfb.STATUS_FD: self._status[1]}

    def started(self, sandbox) -> None:
        """After the sandbox started: wait for Xvfb. On failure the sandbox
        (where java has not started) is killed and the fast path given up."""
        if not self.virtual or self._status is None:
            return
        status_r, status_w = self._status
        os.close(status_w)
        try:
            why = xvfb.await_start(status_r)
        finally:
            os.close(status_r)
        if why:
            sandbox.kill()
            sandbox.wait()
            raise FastPathUnavailable("virtual display failed", why)
        self.init_pid = sandbox.init_pid
        if self.watching:
            self._attach()

    def _attach(self) -> None:
        from jfast.display import xwatch

        assert self.plan is not None and self.init_pid is not None
        try:
            self.watch = xwatch.WindowWatch(xvfb.socket_path(self.init_pid, self.plan.number))
        except Exception as e:  # noqa: BLE001 - python-xlib raises several unrelated types
            verbose(f"cannot watch the virtual display for windows: {e}")
            self.watching = False

    def window_ready(self) -> bool:
        """Whether an application window is mapped now (a poll, never blocks)."""
        if self.watch is None:
            return False
        wid = self.watch.app_window()
        if wid is None:
            return False
        self.window = wid
        return True

    def before_dump(self, program_pid: int) -> str | None:
        """Hang up the watch; then None if the tree may be dumped, else why not."""
        if self.watch is not None:
            self.watch.close()
            self.watch = None
        # Outside clients of the private display go away by themselves (the
        # server notices a hang-up a moment later); a host X connection stays.
        deadline = time.monotonic() + (CLIENTS_GONE_TIMEOUT if self.virtual else 0)
        while True:
            try:
                found = xguard.outside_x_connections(program_pid)
            except OSError as e:
                return f"cannot check the program's X connections: {e}"
            if not found or time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        if found:
            return ("the program holds an X connection outside its sandbox, which no "
                    f"restore could bring back ({found[0]})")
        return None

    def after_dump(self, point: str) -> None:
        if point == "window":
            self.watching = False         # nothing stronger to see on the display
        if self.watching and self.watch is None:
            self._attach()

    def manifest(self) -> dict:
        if self.plan is None:
            return {"mode": "none"}
        part = {"mode": self.plan.mode}
        if self.virtual:
            part.update(number=self.plan.number, screen=self.plan.screen, window=self.window)
        return part

    def close(self) -> None:
        self.watching = False
        if self.watch is not None:
            self.watch.close()
            self.watch = None
