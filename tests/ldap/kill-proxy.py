#!/usr/bin/python3
"""A TCP proxy in front of slapd that kills the server in the middle of a search.

Usage: kill-proxy.py PORTFILE UPSTREAM_PORT SLAPD_PID AFTER_BYTES

It listens on a free loopback port and writes it to PORTFILE (the test's
readiness signal, a FIFO the test reads). It forwards one client connection to slapd; once more
than AFTER_BYTES have come back from the server, it SIGKILLs slapd and closes
both sides, so the client sees a server that died mid-search.
"""
import os
import selectors
import signal
import socket
import sys

portfile, upstream, pid, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.bind(("127.0.0.1", 0))
lsock.listen(4)
with open(portfile, "w") as f:   # a FIFO: the test's read returns now
    f.write(str(lsock.getsockname()[1]) + "\n")

client, _ = lsock.accept()
server = socket.create_connection(("127.0.0.1", upstream))
sel = selectors.DefaultSelector()
sel.register(client, selectors.EVENT_READ, server)
sel.register(server, selectors.EVENT_READ, client)
returned = 0
while True:
    for key, _ in sel.select():
        data = key.fileobj.recv(65536)
        if not data:
            sys.exit(0)
        if key.fileobj is server:
            returned += len(data)
            if returned > after:
                os.kill(pid, signal.SIGKILL)
                client.send(data[: len(data) // 2])
                client.close()
                server.close()
                sys.exit(0)
        key.data.sendall(data)
