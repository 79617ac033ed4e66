# A stand-in for systemd's notify socket: prints every datagram it receives, one per line.
import os, socket, sys
path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("ready", flush=True)
while True:
    data = s.recv(4096).decode("utf-8", "replace")
    print(data.replace("\n", "|"), flush=True)
