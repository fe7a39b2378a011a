"""X connections that cross the sandbox's edge, which no image may hold.

A JVM connected to an X server outside its sandbox (the desktop's) could
never be restored: AWT kills the JVM when its X connection breaks, and CRIU
cannot dump one half of a unix stream connection anyway. The same goes the
other way: a client outside the sandbox connected to the sandbox's private
Xvfb (jfast's own window watch, a screenshot).

The kernel's sock_diag netlink interface names every unix socket of the
network namespace with its bound name and its peer's inode, which is what
/proc/net/unix leaves out. A connection is an X connection when either end
carries an X socket name (`/tmp/.X11-unix/X<n>`, or the same name in the
abstract namespace); an accepted server socket carries its listener's name.
X over TCP (ssh forwarding: DISPLAY=localhost:10) is a TCP connection to
port 6000+n.
"""

from __future__ import annotations

import re

from jfast.linux import sockdiag
from jfast.linux.procfs import fd_links, tree

X_TCP_PORTS = range(6000, 6064)

X_SOCKET = re.compile(r"^@?/tmp/\.X11-unix/X(\d+)$")


def socket_inodes(pids: list[int]) -> dict[int, int]:
    """Socket inode -> a PID holding it, over all fds of `pids`."""
    held: dict[int, int] = {}
    for pid in pids:
        for link in fd_links(pid):
            if link.startswith("socket:["):
                held.setdefault(int(link[8:-1]), pid)
    return held


def outside_x_connections(pid: int) -> list[str]:
    """X connections between the tree of `pid` and anything outside it, as
    short descriptions; empty when the tree may be dumped."""
    pids = tree(pid)
    held = socket_inodes(pids)
    found: list[str] = []
    if held:
        socks = sockdiag.unix()
        for inode, holder in held.items():
            sk = socks.get(inode)
            if sk is None:
                continue
            peer = socks.get(sk.peer) if sk.peer else None
            peer_name = peer.name if peer else ""
            if sk.peer is None or (sk.peer in held):
                continue             # a listener, or both ends inside (the private display)
            if X_SOCKET.match(peer_name):
                found.append(f"process {holder} is connected to the X server at {peer_name}")
            elif X_SOCKET.match(sk.name):
                # sk.peer == 0: the client has closed and the server has not
                # yet noticed; it goes away on its own
                found.append(f"a client outside the sandbox is connected to {sk.name}")
        found += _x_over_tcp(held)
    return found


def _x_over_tcp(held: dict[int, int]) -> list[str]:
    return [f"process {held[inode]} is connected to X over TCP (display {remote[1] - 6000})"
            for _, remote, inode in sockdiag.tcp(sockdiag.ESTABLISHED)
            if inode in held and remote[1] in X_TCP_PORTS]
