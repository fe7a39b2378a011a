"""X connections that cross the sandbox's edge (jfast/display/xguard.py), with
a real unix socket named like an X server's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from jfast.display import xguard


def test_a_client_connected_to_an_outside_x_server_is_named():
    server = socket.socket(socket.AF_UNIX)
    server.bind("\0/tmp/.X11-unix/X981")          # abstract, like an X server's second socket
    server.listen()
    client = subprocess.Popen([sys.executable, "-c",
                               "import socket,time; s=socket.socket(socket.AF_UNIX); "
                               "s.connect('\\0/tmp/.X11-unix/X981'); time.sleep(30)"])
    try:
        conn, _ = server.accept()
        found = xguard.outside_x_connections(client.pid)
        assert found == [f"process {client.pid} is connected to the X server at "
                         "@/tmp/.X11-unix/X981"]
        assert xguard.outside_x_connections(os.getpid()) == []     # both ends in our tree
        conn.close()
    finally:
        client.kill()
        client.wait()
        server.close()


def test_a_tree_with_no_x_connection_may_be_dumped():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.05)
        assert xguard.outside_x_connections(proc.pid) == []
    finally:
        proc.kill()
        proc.wait()
