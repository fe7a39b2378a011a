"""Running without root: the sandbox in a user namespace of its own.

A user who is not root may not create pid or mount namespaces, but may
create a user namespace and then own the namespaces made inside it (where
the kernel allows unprivileged user namespaces). In it jfast maps the user
to themself (uid and gid unchanged, so `user.name` and file ownership read
as under java), and:

- the sandbox's init keeps the capabilities the new namespace grants, which
  count only inside it: enough to mount /proc and place the program's PID;
- criu gets them as ambient capabilities across its exec, with
  `--unprivileged`, so it may dump and restore processes of this namespace;
- the program is exec'd without them: a non-root uid loses every capability
  at exec, so it runs with exactly the rights it has under java.

Established TCP connections cannot be checkpointed this way (TCP repair
needs CAP_NET_ADMIN over the host's network namespace); jfast never
checkpoints a program after its first connection anyway.
"""

from __future__ import annotations

import ctypes
import os

from jfast.linux.libc import check, libc

CLONE_NEWUSER = 0x10000000
PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE = 47, 2
CAP_SETGID, CAP_SETUID = 6, 7
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# The namespaces of a sandbox, in the order setns(2) must enter them.
NAMESPACES = (("user", 0x10000000), ("pid", 0x20000000), ("mnt", 0x00020000),
              ("ipc", 0x08000000), ("uts", 0x04000000))


def rootless() -> bool:
    """Whether the sandbox needs a user namespace of its own."""
    return os.geteuid() != 0


# Sysctls that forbid unprivileged user namespaces, the value that does, and
# what each is. The first is Debian's and Ubuntu's, the second the kernel's,
# the third Ubuntu 24.04's AppArmor restriction.
SWITCHES = (("kernel/unprivileged_userns_clone", "1", lambda v: v != "0"),
            ("user/max_user_namespaces", "15000", lambda v: v != "0"),
            ("kernel/apparmor_restrict_unprivileged_userns", "0", lambda v: v == "0"))


def blocked() -> tuple[str, str] | None:
    """(what forbids unprivileged user namespaces, the command that allows
    them), or None where nothing does."""
    for name, allow, allows in SWITCHES:
        try:
            with open(f"/proc/sys/{name}") as f:
                value = f.read().strip()
        except OSError:
            continue            # this kernel has no such switch
        if not allows(value):
            key = name.replace("/", ".")
            return (f"{key} = {value} forbids unprivileged user namespaces",
                    f"sysctl -w {key}={allow} (as root; add it to /etc/sysctl.d/ to keep it)")
    return None


def map_self(uid: int, gid: int) -> None:
    """Right after unshare(CLONE_NEWUSER): be the same user inside."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")         # required before an unprivileged gid_map
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def keep_caps_across_exec() -> None:
    """Make the permitted capabilities ambient, so the next exec (criu,
    running as a non-root uid) keeps them. Valid only inside our namespace.

    Not CAP_SETUID/CAP_SETGID: with them, criu's restore first becomes uid
    0, which this namespace does not map (the user is themself in it);
    without them it stays the user, which is what the program was."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    check(libc.capget(ctypes.byref(header), data), "capget")
    for cap in (CAP_SETGID, CAP_SETUID):
        data[0].permitted &= ~(1 << cap)
        data[0].effective &= ~(1 << cap)
    for d in data:
        d.inheritable = d.permitted
    check(libc.capset(ctypes.byref(header), data), "capset")
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        if data[cap // 32].permitted & (1 << (cap % 32)):
            check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0),
                   f"raise ambient capability {cap}")


def enter(init_pid: int) -> None:
    """setns(2) into the sandbox whose init has host PID `init_pid`. The pid
    namespace applies to children made after this call, not to the caller."""
    fds = []
    try:
        for name, _ in NAMESPACES:
            fds.append(os.open(f"/proc/{init_pid}/ns/{name}", os.O_RDONLY))
        for fd, (name, nstype) in zip(fds, NAMESPACES):
            if name == "user" and not rootless():
                continue        # root needs no user namespace (and has none)
            check(libc.setns(fd, nstype), f"setns {name}")
    finally:
        for fd in fds:
            os.close(fd)
