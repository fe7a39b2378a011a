"""Linux glue, with no knowledge of Java or checkpoints: every read of
/proc (procfs), the C library calls Python lacks (libc: unshare, mount,
setns, fanotify), the kernel's socket tables (sockdiag), files (fs:
write-then-rename, rm -rf, a file's identity), running helper programs and
finding them on PATH (programs), and sha256 without OpenSSL.

May import: jfast's base modules (errors, log, settings, units) only.
"""
