#!/usr/bin/env python3
"""Receive datagrams on a Unix socket, as systemd would, and write each as one
JSON line to OUT (flushed at once, so the test can wait on it).

  sockrecv.py notify  PATH OUT   sd_notify messages: {"notify": ["READY=1", ...]}
  sockrecv.py journal PATH OUT   native journal protocol entries: {"FIELD": "value", ...}

The journal protocol (systemd.journal-fields / JOURNAL_NATIVE_PROTOCOL):
FIELD=value lines, or FIELD\\n + 64-bit little-endian length + raw value + \\n;
entries too large for a datagram come as a memfd passed with SCM_RIGHTS."""
import array, json, os, socket, struct, sys


def parse_journal(data):
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields[k.decode()] = v.decode(errors="replace")
    return fields


def main():
    mode, path, out = sys.argv[1:4]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s.bind(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    with open(out, "a", buffering=1) as f:
        while True:
            fds = array.array("i")
            data, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(4 * fds.itemsize))
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.lseek(fd, 0, 0)
                chunks = []
                while True:
                    c = os.read(fd, 1 << 20)
                    if not c:
                        break
                    chunks.append(c)
                os.close(fd)
                data = b"".join(chunks)
            if mode == "notify":
                f.write(json.dumps({"notify": data.decode().split("\n")}) + "\n")
            else:
                f.write(json.dumps(parse_journal(data), sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
