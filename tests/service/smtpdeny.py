#!/usr/bin/env python3
"""A mail server that refuses every login, as a server with a changed
password would: it offers AUTH PLAIN and LOGIN over plain SMTP (loopback
only), answers each attempt 535, and appends the password it was sent to
OUT, one a line, so the test knows the client really had it in hand.

  smtpdeny.py PORT_FILE OUT     the port it listens on goes to PORT_FILE"""
import base64, os, socket, sys, threading


def serve(conn, out):
    f = conn.makefile("rwb", buffering=0)

    def say(line):
        f.write(line.encode() + b"\r\n")

    def hear():
        return f.readline().decode(errors="replace").rstrip("\r\n")

    def denied(password):
        with open(out, "a") as o:
            o.write(password + "\n")
        say("535 5.7.8 Authentication credentials invalid")

    say("220 localhost ESMTP test server")
    while True:
        line = hear()
        if not line:
            break
        verb = line.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            say("250-localhost")
            say("250 AUTH PLAIN LOGIN")
        elif verb == "AUTH":
            words = line.split()
            mech = words[1].upper() if len(words) > 1 else ""
            if mech == "PLAIN":
                if len(words) > 2:
                    blob = words[2]
                else:
                    say("334 ")
                    blob = hear()
                parts = base64.b64decode(blob).split(b"\0")
                denied(parts[-1].decode(errors="replace"))
            elif mech == "LOGIN":
                say("334 VXNlcm5hbWU6")
                hear()
                say("334 UGFzc3dvcmQ6")
                denied(base64.b64decode(hear()).decode(errors="replace"))
            else:
                say("504 5.5.4 mechanism not supported")
        elif verb == "QUIT":
            say("221 bye")
            break
        else:
            say("530 5.7.0 Authentication required")
    conn.close()


def main():
    port_file, out = sys.argv[1:3]
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    with open(port_file + ".tmp", "w") as p:
        p.write("%d\n" % s.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, out), daemon=True).start()


if __name__ == "__main__":
    main()
