"""TCP sockets of jfast's network namespace, which the sandbox shares, from
the kernel's sock_diag netlink interface (what `ss` asks).

A cold run watches for the program's first listening socket by polling,
every 10 ms at first. /proc/net/tcp would walk the whole connection hash
table on every read, empty buckets and all: 4 ms a table on this machine
(262,144 buckets), so 8 ms of each 10 on the program's CPUs. A dump of the
listening sockets alone walks only the listening table; the connection
table is read once, when a listening socket turns up.
"""

from __future__ import annotations

import errno
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
LISTEN = 1 << 10                       # TCP_LISTEN, as a state mask
CONNECTIONS = 0x1FFE & ~LISTEN        # states 1-12 (to NEW_SYN_RECV) but LISTEN

HEADER = struct.Struct("=IHHII")                    # struct nlmsghdr
REQUEST = struct.Struct("=BBBxI48x")                # inet_diag_req_v2, any socket id
MESSAGE = struct.Struct("=BBxx2s2s16s16s4x8x16xI")  # inet_diag_msg, to its inode

# (local (address, port), remote (address, port), inode); addresses are the
# kernel's 16 bytes, of which IPv4 uses the first 4.
Socket = tuple[tuple[bytes, int], tuple[bytes, int], int]


def sockets(states: int) -> list[Socket]:
    """The IPv4 and IPv6 TCP sockets in any of `states` (a mask of TCP
    states, as LISTEN). Raises OSError where sock_diag is not available."""
    found: list[Socket] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as s:
        for family in (socket.AF_INET, socket.AF_INET6):
            body = REQUEST.pack(family, socket.IPPROTO_TCP, 0, states)
            s.send(HEADER.pack(HEADER.size + len(body), SOCK_DIAG_BY_FAMILY,
                               NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
            found += _dump(s)
    return found


def _dump(s: socket.socket) -> list[Socket]:
    found: list[Socket] = []
    while True:
        data = s.recv(1 << 16)
        at = 0
        while at + HEADER.size <= len(data):
            length, kind, _, _, _ = HEADER.unpack_from(data, at)
            if kind == NLMSG_DONE:
                return found
            if kind == NLMSG_ERROR:
                code = -struct.unpack_from("=i", data, at + HEADER.size)[0]
                raise OSError(code, f"sock_diag: {errno.errorcode.get(code, code)}")
            _, _, sport, dport, src, dst, inode = MESSAGE.unpack_from(data, at + HEADER.size)
            found.append(((src, int.from_bytes(sport, "big")),
                          (dst, int.from_bytes(dport, "big")), inode))
            at += (length + 3) & ~3
        if not data:
            return found
