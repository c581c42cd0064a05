#!/usr/bin/python3
"""Python step of the disk-image workload: a second thread, sockets (TCP over the
loopback interface, which this script brings up; a Unix socket pair) and a file."""
import fcntl
import os
import socket
import struct
import threading

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, req)[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def client(port, out):
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall(b"ping from the second thread\n")
        out.append(c.recv(64))


def main():
    loopback_up()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = []
    t = threading.Thread(target=client, args=(port, got))
    t.start()
    conn, peer = srv.accept()
    data = conn.recv(64)
    conn.sendall(data.upper())
    conn.close()
    t.join()
    srv.close()
    a, b = socket.socketpair()
    a.sendall(b"unix")
    unix = b.recv(16)
    a.close()
    b.close()
    with open("/tmp/work/python.txt", "w") as f:
        f.write("%r %r %r\n" % (data, got, unix))
    print("GT python tcp=%s peer=%s reply=%r unix=%r" % (port, peer[0], got[0].strip(), unix))


main()
