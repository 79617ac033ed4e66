# A stand-in for systemd's notify socket: prints every datagram it receives, one per line, as
# "pid=<sender PID from SCM_CREDENTIALS> <message with newlines as |>". An "@name" argument binds an abstract socket.
import os, socket, struct, sys
path = sys.argv[1]
address = "\0" + path[1:] if path.startswith("@") else path
if not path.startswith("@") and os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(address)
print("ready", flush=True)
creds_size = struct.calcsize("3i")
while True:
    data, ancillary, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(creds_size))
    pid = "?"
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = str(struct.unpack("3i", payload[:creds_size])[0])
    print(f"pid={pid} " + data.decode("utf-8", "replace").replace("\n", "|"), flush=True)
