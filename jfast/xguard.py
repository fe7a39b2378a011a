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

import os
import re
import socket
import struct

from .procfs import tree

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
UDIAG_SHOW_NAME, UDIAG_SHOW_PEER = 0x1, 0x4
UNIX_DIAG_NAME, UNIX_DIAG_PEER = 0, 2
ALL_STATES = 0xFFFFFFFF
TCP_ESTABLISHED = "01"
X_TCP_PORTS = range(6000, 6064)

X_SOCKET = re.compile(r"^@?/tmp/\.X11-unix/X(\d+)$")


class UnixSocket:
    __slots__ = ("inode", "name", "peer")

    def __init__(self, inode: int, name: str, peer: int | None) -> None:
        self.inode = inode
        self.name = name            # bound name; '@...' for the abstract namespace
        self.peer = peer            # peer's inode; None when not connected


def unix_sockets() -> dict[int, UnixSocket]:
    """Every unix socket of this network namespace, by inode."""
    req = struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, ALL_STATES, 0,
                      UDIAG_SHOW_NAME | UDIAG_SHOW_PEER, 0xFFFFFFFF, 0xFFFFFFFF)
    hdr = struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY,
                      NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    out: dict[int, UnixSocket] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        nl.sendall(hdr + req)
        while True:
            data = nl.recv(1 << 16)
            pos = 0
            while pos + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, pos)
                if kind == NLMSG_DONE:
                    return out
                if kind == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", data, pos + 16)[0]
                    raise OSError(err, f"sock_diag: {os.strerror(err)}")
                if kind == SOCK_DIAG_BY_FAMILY:
                    sk = _parse_unix(data[pos + 16:pos + length])
                    out[sk.inode] = sk
                pos += (length + 3) & ~3
            if not data:
                return out


def _parse_unix(msg: bytes) -> UnixSocket:
    # struct unix_diag_msg: family, type, state, pad, ino, cookie[2]
    inode = struct.unpack_from("=I", msg, 4)[0]
    name, peer = "", None
    pos = 16
    while pos + 4 <= len(msg):
        alen, atype = struct.unpack_from("=HH", msg, pos)
        if alen < 4:
            break
        payload = msg[pos + 4:pos + alen]
        if atype == UNIX_DIAG_NAME:
            raw = payload.split(b"\0", 1)[0] if payload[:1] != b"\0" else b"@" + payload[1:]
            name = raw.rstrip(b"\0").decode(errors="replace")
        elif atype == UNIX_DIAG_PEER:
            peer = struct.unpack_from("=I", payload)[0]
        pos += (alen + 3) & ~3
    return UnixSocket(inode, name, peer)


def socket_inodes(pids: list[int]) -> dict[int, int]:
    """Socket inode -> a PID holding it, over all fds of `pids`."""
    held: dict[int, int] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
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
        socks = unix_sockets()
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
    found += _x_over_tcp(pids, held)
    return found


def _x_over_tcp(pids: list[int], held: dict[int, int]) -> list[str]:
    found = []
    for table in ("tcp", "tcp6"):        # one network namespace: the first pid's view
        try:
            with open(f"/proc/{pids[0]}/net/{table}") as f:
                rows = [line.split() for line in list(f)[1:]]
        except OSError:
            continue
        for r in rows:
            # Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if r[3] != TCP_ESTABLISHED or int(r[9]) not in held:
                continue
            port = int(r[2].rsplit(":", 1)[1], 16)
            if port in X_TCP_PORTS:
                found.append(f"process {held[int(r[9])]} is connected to X over TCP "
                             f"(display {port - 6000})")
    return found
