#!/usr/bin/python3
"""A server that accepts LDAP connections and never answers.

Usage: silent-server.py PORTFILE

It listens on a free loopback port, writes it to PORTFILE (a FIFO the test
reads: its readiness signal), and holds every connection open without a word
until the client gives up, so the client's own timeout is what ends the wait.
"""
import selectors
import socket
import sys

lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.bind(("127.0.0.1", 0))
lsock.listen(8)
with open(sys.argv[1], "w") as f:
    f.write(str(lsock.getsockname()[1]) + "\n")
sel = selectors.DefaultSelector()
sel.register(lsock, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is lsock:
            conn, _ = lsock.accept()
            sel.register(conn, selectors.EVENT_READ)
        elif not key.fileobj.recv(65536):
            sel.unregister(key.fileobj)
            key.fileobj.close()
            sys.exit(0)   # the client gave up: the test is over
