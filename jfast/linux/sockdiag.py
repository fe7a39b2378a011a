"""The sockets of jfast's network namespace, which the sandbox shares, from
the kernel's sock_diag netlink interface (what `ss` asks).

Unix sockets: sock_diag names each with its bound name and its peer's
inode, which /proc/net/unix leaves out (xguard.py needs both).

TCP sockets: xguard.py looks for connections to X over TCP. sock_diag
asks for one state's sockets; /proc/net/tcp walks the whole connection hash
table on every read, empty buckets and all (4 ms a table on this machine,
262,144 buckets).
"""

from __future__ import annotations

import os
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
HEADER = struct.Struct("=IHHII")                    # struct nlmsghdr

# TCP states as masks for tcp()
ESTABLISHED, LISTEN = 1 << 1, 1 << 10
TCP_REQUEST = struct.Struct("=BBBxI48x")            # inet_diag_req_v2, any socket id
TCP_MESSAGE = struct.Struct("=BBxx2s2s16s16s4x8x16xI")  # inet_diag_msg, to its inode

UDIAG_SHOW_NAME, UDIAG_SHOW_PEER = 0x1, 0x4
UNIX_DIAG_NAME, UNIX_DIAG_PEER = 0, 2

# A TCP socket: (local (address, port), remote (address, port), inode);
# addresses are the kernel's 16 bytes, of which IPv4 uses the first 4.
TcpSocket = tuple[tuple[bytes, int], tuple[bytes, int], int]


class UnixSocket:
    __slots__ = ("inode", "name", "peer")

    def __init__(self, inode: int, name: str, peer: int | None) -> None:
        self.inode = inode
        self.name = name            # bound name; '@...' for the abstract namespace
        self.peer = peer            # peer's inode; None when not connected


def tcp(states: int) -> list[TcpSocket]:
    """The IPv4 and IPv6 TCP sockets in any of `states` (a mask, as LISTEN).
    Raises OSError where sock_diag is not available."""
    found: list[TcpSocket] = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for msg in _dump(TCP_REQUEST.pack(family, socket.IPPROTO_TCP, 0, states)):
            _, _, sport, dport, src, dst, inode = TCP_MESSAGE.unpack_from(msg)
            found.append(((src, int.from_bytes(sport, "big")),
                          (dst, int.from_bytes(dport, "big")), inode))
    return found


def unix() -> dict[int, UnixSocket]:
    """Every unix socket, by inode."""
    req = struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0,
                      UDIAG_SHOW_NAME | UDIAG_SHOW_PEER, 0xFFFFFFFF, 0xFFFFFFFF)
    return {sk.inode: sk for sk in map(_parse_unix, _dump(req))}


def _dump(request: bytes) -> list[bytes]:
    """The messages a sock_diag dump request is answered with."""
    out: list[bytes] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        nl.sendall(HEADER.pack(HEADER.size + len(request), SOCK_DIAG_BY_FAMILY,
                               NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + request)
        while True:
            data = nl.recv(1 << 16)
            pos = 0
            while pos + HEADER.size <= len(data):
                length, kind = struct.unpack_from("=IH", data, pos)
                if kind == NLMSG_DONE:
                    return out
                if kind == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", data, pos + HEADER.size)[0]
                    raise OSError(err, f"sock_diag: {os.strerror(err)}")
                if kind == SOCK_DIAG_BY_FAMILY:
                    out.append(data[pos + HEADER.size:pos + length])
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
