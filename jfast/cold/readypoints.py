"""The ready points jfast sees from outside the program in a cold run
(docs/architecture.md, "Ready points"): the main thread blocking on a
terminal's stdin (a REPL at its prompt), a TCP socket the program listens on
before any connection reached it (where the agent's native listen(2) did not
already stop it), and its first window on its private display. The agent
reports the others (main-entry, explicit, the native socket point) itself.
"""

from __future__ import annotations

from jfast.display.xguard import socket_inodes
from jfast.java.protocol import RANK
from jfast.linux import sockdiag
from jfast.linux.procfs import reading
from jfast.log import verbose


class Watch:
    """What a cold run still watches for, polled while the program starts."""

    def __init__(self, mode: str, stdin_is_tty: bool, display) -> None:
        self.stdin = mode in ("auto", "stdin") and stdin_is_tty
        self.socket = mode in ("auto", "socket")
        self.display = display             # display/displayrun.py's ColdDisplay
        self.window = display.watching
        self._stdin_hits = 0
        self._started = None
        # Connections that predate the program (another process's TIME_WAIT
        # on the same port, say) are not the program's.
        try:
            self._before = _Before() if self.socket else None
        except OSError as e:
            verbose(f"not watching for a listening socket: {e}")
            self.socket, self._before = False, None

    def interval(self, best: int, now: float | None = None) -> float | None:
        """Seconds until the next poll (often at first, less so later), or
        None when no point better than `best` is left to watch for."""
        import time
        now = time.monotonic() if now is None else now
        if self._started is None:
            self._started = now
        polling = (((self.stdin or self.socket) and best < RANK["socket"])
                   or (self.window and best < RANK["window"]))
        if not polling:
            return None
        elapsed = now - self._started
        return 0.01 if elapsed < 2 else 0.05 if elapsed < 20 else 0.25

    def reached(self, pid: int, best: int) -> str | None:
        """The point the program `pid` has reached now, if better than `best`."""
        if self.socket:
            try:
                listening = _listening(pid, self._before)
            except OSError as e:
                verbose(f"not watching for a listening socket: {e}")
                listening, self.socket = None, False
            if listening:
                self.socket = False
                if listening == "fresh" and best < RANK["socket"]:
                    return "socket"
                verbose("a connection came before the listening socket was seen: "
                        "no checkpoint there")
        if self.window and best < RANK["window"] and self.display.window_ready():
            self.window = False
            return "window"
        if self.stdin and best < RANK["stdin"]:
            self._stdin_hits = self._stdin_hits + 1 if 0 in reading(pid) else 0
            if self._stdin_hits >= 2:         # blocked across two polls, not passing through
                self.stdin = False
                return "stdin"
        return None


class _Before:
    """The host's TCP sockets as the program starts: its own listening socket
    is a new one, and connections already there (another process's
    TIME_WAIT on the same port, say) are not its own."""

    def __init__(self) -> None:
        self.listeners = {inode for _, _, inode in sockdiag.tcp(sockdiag.LISTEN)}
        self.connections = _connections()


def _connections() -> set[tuple]:
    """(local, remote) of every TCP connection, in any state but LISTEN."""
    return {(local, remote) for local, remote, _ in sockdiag.tcp(sockdiag.CONNECTIONS)}


def _listening(pid: int, before: _Before) -> str | None:
    """'fresh' when the program listens on a TCP port that has seen no
    connection yet, 'used' when a connection already reached it (a
    checkpoint now could replay a served request), None when not listening.
    Raises OSError where sock_diag is not available."""
    new = {inode: local[1] for local, _, inode in sockdiag.tcp(sockdiag.LISTEN)
           if inode not in before.listeners}
    if not new:                 # the usual poll: no need to look at the program's fds
        return None
    ports = {new[inode] for inode in socket_inodes([pid]) if inode in new}
    if not ports:
        return None
    if any(local[1] in ports for local, _ in _connections() - before.connections):
        return "used"
    return "fresh"
