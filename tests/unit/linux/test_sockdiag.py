"""The kernel's socket tables through sock_diag (jfast/linux/sockdiag.py),
on sockets of this process."""

from __future__ import annotations

import socket

from jfast.display.xguard import socket_inodes
from jfast.linux import sockdiag


def test_a_listening_socket_and_a_connection_are_listed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    try:
        listening = {local[1]: inode for local, _, inode in sockdiag.tcp(sockdiag.LISTEN)}
        assert port in listening
        import os
        assert listening[port] in socket_inodes([os.getpid()])
        pairs = {(local[1], remote[1]) for local, remote, _ in sockdiag.tcp(sockdiag.ESTABLISHED)}
        assert (client.getsockname()[1], port) in pairs and (port, client.getsockname()[1]) in pairs
    finally:
        for s in (accepted, client, server):
            s.close()
