#!/usr/bin/python3
"""A TCP proxy in front of an LDAP server that watches or spoils requests.

Usage: ldap-proxy.py PORTFILE UPSTREAM_PORT MODE [ARGS]

  count REGEX LOGFILE  forward everything; for every client request, one line
                       in LOGFILE per match of REGEX (bytes, e.g. member;range=...)
  cut REGEX N          forward until the Nth client request matching REGEX,
                       then close both sides instead: the server is gone
                       between two requests (e.g. between two ranges)
  bad-cookie N         in the first N paged search requests that carry a
                       cookie, invert the cookie's bytes: the server no longer
                       knows the paged search it is asked to continue

It listens on a free loopback port and writes it to PORTFILE (a FIFO the test
reads: its readiness signal). Client requests are cut into whole LDAP
messages (BER framing) before they are looked at, so a match never depends
on how TCP split them; answers are forwarded as they come. It serves any
number of connections and exits when the test kills it.
"""
import re
import selectors
import socket
import sys

PAGED_OID = b"1.2.840.113556.1.4.319"

portfile, upstream, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]
matched = 0


def ber_length(buf, i):
    """(length, index after the length octets) or None if buf is too short."""
    if i >= len(buf):
        return None
    first = buf[i]
    if first < 0x80:
        return first, i + 1
    n = first & 0x7F
    if i + 1 + n > len(buf):
        return None
    return int.from_bytes(buf[i + 1:i + 1 + n], "big"), i + 1 + n


def split_messages(buf):
    """Whole LDAPMessages at the front of buf, and the rest."""
    out = []
    while len(buf) >= 2:
        got = ber_length(buf, 1)
        if got is None or got[1] + got[0] > len(buf):
            break
        end = got[1] + got[0]
        out.append(buf[:end])
        buf = buf[end:]
    return out, buf


def tlv(msg, i):
    """(tag, value start, value end) of the element at i."""
    length, start = ber_length(msg, i + 1)
    return msg[i], start, start + length


def spoil_cookie(msg):
    """The message with its paged-results cookie inverted, or None (no cookie)."""
    at = msg.find(PAGED_OID)
    if at < 0:
        return None
    i = at + len(PAGED_OID)
    tag, start, end = tlv(msg, i)
    if tag == 0x01:                      # criticality
        i = end
        tag, start, end = tlv(msg, i)
    if tag != 0x04:                      # controlValue
        return None
    tag, start, end = tlv(msg, start)    # SEQUENCE { size, cookie }
    tag, start, end = tlv(msg, start)    # INTEGER size
    tag, start, end = tlv(msg, end)      # OCTET STRING cookie
    if tag != 0x04 or end == start:
        return None
    spoiled = bytes(b ^ 0xFF for b in msg[start:end])
    return msg[:start] + spoiled + msg[end:]


def request(msg):
    """The message to forward, or None to drop the connection."""
    global matched
    if mode == "count":
        with open(args[1], "ab") as log:
            for m in re.finditer(args[0].encode(), msg):
                log.write(m.group(0) + b"\n")
        return msg
    if mode == "cut":
        if re.search(args[0].encode(), msg):
            matched += 1
            if matched == int(args[1]):
                return None
        return msg
    if mode == "bad-cookie":
        spoiled = spoil_cookie(msg)
        if spoiled is not None:
            matched += 1
            if matched <= int(args[0]):
                return spoiled
        return msg
    sys.exit("unknown mode " + mode)


lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.bind(("127.0.0.1", 0))
lsock.listen(8)
with open(portfile, "w") as f:   # a FIFO: the test's read returns now
    f.write(str(lsock.getsockname()[1]) + "\n")

sel = selectors.DefaultSelector()
sel.register(lsock, selectors.EVENT_READ)
pending = {}                     # client socket -> bytes not yet a whole message


def close_pair(client, server):
    for s in (client, server):
        sel.unregister(s)
        s.close()
    pending.pop(client, None)


while True:
    for key, _ in sel.select():
        if key.fileobj is lsock:
            client, _ = lsock.accept()
            server = socket.create_connection(("127.0.0.1", upstream))
            sel.register(client, selectors.EVENT_READ, ("client", server))
            sel.register(server, selectors.EVENT_READ, ("server", client))
            pending[client] = b""
            continue
        side, peer = key.data
        sock = key.fileobj
        if sock.fileno() < 0:        # its pair was closed earlier in this round
            continue
        data = sock.recv(65536)
        client, server = (sock, peer) if side == "client" else (peer, sock)
        if not data:
            close_pair(client, server)
            continue
        if side == "server":
            client.sendall(data)
            continue
        msgs, pending[client] = split_messages(pending[client] + data)
        for msg in msgs:
            out = request(msg)
            if out is None:
                close_pair(client, server)
                break
            server.sendall(out)
