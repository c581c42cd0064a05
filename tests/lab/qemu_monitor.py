"""QEMU's human monitor (HMP) on a unix socket (-monitor unix:PATH,server=on,wait=off),
for tests that check what a VM is doing, e.g. `info status` after vmitrace detached."""
import socket


def monitor(path, command, timeout=10):
    """Runs one HMP command; returns its output (up to the next prompt)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        out = b""
        while b"(qemu)" not in out:
            chunk = s.recv(4096)
            if not chunk:
                return out.decode(errors="replace")
            out += chunk
        s.sendall(command.encode() + b"\n")
        out = b""
        while not out.rstrip().endswith(b"(qemu)"):
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")
