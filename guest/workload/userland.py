# Python part of the lab's `userland` workload (guest/workload/userland.sh): a thread,
# a socket pair, a TCP connect and a few files, each printed as a GT line.
import os
import socket
import sys
import threading

# The directory to work in (the guest's default; fetch-userland.sh passes its own).
work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/vmitrace-userland"


def worker(results):
    with open(os.path.join(work, "thread.txt"), "w") as f:
        f.write("from the thread\n")
    results.append(threading.get_native_id())


os.makedirs(work, exist_ok=True)
results = []
t = threading.Thread(target=worker, args=(results,), name="worker")
t.start()
t.join()
print(f"GT python thread tid={results[0]}", flush=True)

a, b = socket.socketpair()
a.sendall(b"ping\n")
print(f"GT python socketpair got={b.recv(16)!r}", flush=True)
a.close()
b.close()

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.connect(("127.0.0.1", 9))
    print("GT python connect ok", flush=True)
except OSError as e:
    print(f"GT python connect errno={e.errno}", flush=True)
finally:
    s.close()

print(f"GT python listdir n={len(os.listdir('/usr/bin'))} random={len(os.urandom(8))}", flush=True)
