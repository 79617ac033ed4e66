# Runs a command under the restrictions of deploy/choco-edge.service, one flag per directive, without systemd.
# Needs root (mount namespace, mknod, seccomp before dropping to an unprivileged user).
#
#   sandbox.py [--address-families] [--native-arch] [--protect-system RW_PATH] [--private-tmp KEEP_DIR]
#              [--device-policy-closed] [--no-caps UID:GID] -- COMMAND...
#
#   --address-families      RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6: a seccomp filter makes socket() and
#                           socketpair() of any other family fail with EAFNOSUPPORT (errno 97), as systemd does.
#   --native-arch           SystemCallArchitectures=native: a system call of another ABI (i386, x32) kills the process.
#   --protect-system PATH   ProtectSystem=strict + ReadWritePaths=PATH: every mount read-only except /proc, /sys,
#                           /dev, the private /tmp and PATH.
#   --private-tmp DIR[:DIR] PrivateTmp=yes: empty /tmp and /var/tmp; each DIR (where the install lives, and the
#                           checkout its node_modules link to, if under /tmp) is bound back at its own path so the
#                           command can still be found.
#   --device-policy-closed  DevicePolicy=closed: /dev holds only null, zero, full, random, urandom and tty.
#   --limit-nofile N        LimitNOFILE=N: the soft and hard limit on open files (setrlimit before exec).
#   --no-caps UID:GID       User= with CapabilityBoundingSet= and AmbientCapabilities= empty, NoNewPrivileges=yes
#                           (through setpriv).
import ctypes, ctypes.util, os, platform, resource, stat, struct, sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
CLONE_NEWNS = 0x00020000


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if isinstance(s, str) else s
    check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def mount_points():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            yield fields[4].replace("\\040", " "), fields[5]


def private_tmp(keep):
    kept = [(path, os.open(path, os.O_RDONLY | os.O_DIRECTORY)) for path in (keep or "").split(":") if path]
    for tmp in ("/tmp", "/var/tmp"):
        if os.path.isdir(tmp):
            mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for path, fd in kept:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)


def device_policy_closed():
    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)):
        os.mknod(f"/dev/{name}", 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(f"/dev/{name}", 0o666)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"/dev/{name}")


def protect_system(writable):
    mount(writable, writable, None, MS_BIND | MS_REC)
    trees = ("/proc", "/sys", "/dev", writable)
    for target, options in list(mount_points()):
        if target in ("/tmp", "/var/tmp") or any(target == k or target.startswith(k.rstrip("/") + "/") for k in trees):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for name, bit in (("nosuid", MS_NOSUID), ("nodev", MS_NODEV), ("noexec", MS_NOEXEC)):
            if name in options.split(","):
                flags |= bit
        try:
            mount(None, target, None, flags)
        except OSError as e:
            # A mount that cannot be reached (hidden under another one) has nothing to protect.
            if e.errno not in (2, 13, 22):
                raise


ARCHES = {
    # machine: (AUDIT_ARCH, socket, socketpair, x32 bit)
    "x86_64": (0xC000003E, 41, 53, 0x40000000),
    "aarch64": (0xC00000B7, 198, 199, None),
}
AF_ALLOWED = (1, 2, 10)  # AF_UNIX, AF_INET, AF_INET6
RET_ALLOW, RET_KILL, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
EAFNOSUPPORT = 97


def seccomp(address_families, native_arch):
    arch, nr_socket, nr_socketpair, x32 = ARCHES[platform.machine()]
    prog = []
    ld = lambda off: prog.append((0x20, 0, 0, off))
    ret = lambda k: prog.append((0x06, 0, 0, k))
    jeq = lambda k, jt, jf: prog.append((0x15, jt, jf, k))
    jge = lambda k, jt, jf: prog.append((0x35, jt, jf, k))
    if native_arch:
        ld(4)
        jeq(arch, 1, 0)
        ret(RET_KILL)
        if x32:
            ld(0)
            jge(x32, 0, 1)
            ret(RET_KILL)
    if address_families:
        ld(0)
        jeq(nr_socket, 1, 0)
        jeq(nr_socketpair, 0, 2 + len(AF_ALLOWED))
        ld(16)
        for i, family in enumerate(AF_ALLOWED):
            jeq(family, len(AF_ALLOWED) - i, 0)
        ret(RET_ERRNO | EAFNOSUPPORT)
    ret(RET_ALLOW)
    code = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HxxxxxxP", len(prog), ctypes.addressof(buf))
    fprog_buf = ctypes.create_string_buffer(fprog)
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0), "no_new_privs")
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog_buf), 0, 0), "seccomp")


def main(argv):
    split = argv.index("--")
    opts, command = argv[:split], argv[split + 1:]
    flag = lambda name: name in opts
    value = lambda name: opts[opts.index(name) + 1] if name in opts else None
    if platform.machine() not in ARCHES and (flag("--address-families") or flag("--native-arch")):
        sys.exit(f"sandbox: no seccomp filter for {platform.machine()}")
    if flag("--protect-system") or flag("--private-tmp") or flag("--device-policy-closed"):
        check(libc.unshare(CLONE_NEWNS), "unshare")
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        if flag("--private-tmp"):
            private_tmp(value("--private-tmp"))
        if flag("--device-policy-closed"):
            device_policy_closed()
        if value("--protect-system"):
            protect_system(value("--protect-system"))
    if value("--limit-nofile"):
        n = int(value("--limit-nofile"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    if value("--no-caps"):
        uid, gid = value("--no-caps").split(":")
        command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--", *command]
    if flag("--address-families") or flag("--native-arch"):
        seccomp(flag("--address-families"), flag("--native-arch"))
    print("sandbox: ready", file=sys.stderr, flush=True)
    os.execvp(command[0], command)


main(sys.argv[1:])
