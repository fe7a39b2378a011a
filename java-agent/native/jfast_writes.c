/*
 * The files a program opens, for the cold run (docs/
 * architecture.md, "Files the program wrote"). Put in LD_PRELOAD, this half
 * of the native library sees every open(2) and fopen(3) the JVM makes; for
 * each regular file opened with write access it appends one line to the
 * log jfast named in the agent's options (writes=PATH), each line led by
 * the calling thread's id and a space:
 *
 *     <open flags, octal> <size> <mtime, ns> <dev> <ino> <existed 0|1> <path>\n
 *
 * size and mtime as the open left the file (after O_TRUNC); existed: whether
 * the file was there before an open that may create it.
 *
 * and for each file it removes or renames, whatever its kind:
 *
 *     rm <path>\n
 *     mv <existed 0|1> <from>\t<to>\n
 *     no <path>\n
 *
 * (existed: whether `to` was there, and is replaced; `no`: a removal or
 * rename found no such file, which tells the program something too). A
 * path in these lines is absolute but not resolved: jfast resolves its
 * folder.
 *
 * Each such line is written before the call returns to its caller; and
 * before the call, the thread writes what it is about to do:
 *
 *     ? <open flags, octal> <existed 0|1> <path>\n
 *     ? rm <path>\n
 *     ? mv <existed 0|1> <from>\t<to>\n
 *
 * which its next line (`x`: nothing to record) finishes. A regular file
 * opened to read only gets one line after the call, for jfast's record of
 * the program's inputs where it has no fanotify watch (without root):
 *
 *     r <size> <mtime, ns> <ctime, ns> <ino> <dev> <path>\n
 *
 * A read under way at the checkpoint has read nothing yet; a restore
 * reads. A checkpoint (criu freezes every thread wherever it is) thus finds
 * every call the
 * program made before it, done or under way; jfast settles one under way
 * from what the frozen program holds and what is on disk. It then knows,
 * for each file the program wrote before its ready point, whether a
 * restore can repeat what it did: a file it created or truncated is
 * written whole, one it opened to append gets the appended bytes. The log
 * is opened for each line (never held: an fd of ours would be part of the
 * image) without O_CREAT, so a restored program, whose log is gone,
 * records nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jfast_next.h"

static char writes_log[PATH_MAX];

/* Called from Agent_OnLoad with the agent's options: "...,writes=PATH,...". */
void jfast_writes_arm(const char *options)
{
    const char *p = strstr(options, ",writes=");
    size_t n;
    if (p == NULL)
        return;
    p += strlen(",writes=");
    n = strcspn(p, ",");
    if (n == 0 || n >= sizeof(writes_log))
        return;
    memcpy(writes_log, p, n);
    writes_log[n] = '\0';
}

/* Whether the file at dirfd/path exists now: asked only before an open that
 * may create it. */
static int exists_at(int dirfd, const char *path)
{
    struct stat st;
    return fstatat(dirfd, path, &st, 0) == 0;
}

/* Appends one line to the log: the thread's id, a space, then fmt's text,
 * in one write(2) so that threads' lines never mix; keeps errno. */
static void log_line(const char *fmt, ...)
{
    char line[2 * PATH_MAX + 160];
    int saved = errno, n, log;
    va_list ap;
    n = snprintf(line, sizeof(line), "%ld ", (long)syscall(SYS_gettid));
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* The raw call: our own open() would come back here. */
    if ((size_t)n < sizeof(line)
        && (log = (int)syscall(SYS_openat, AT_FDCWD, writes_log,
                               O_WRONLY | O_APPEND | O_CLOEXEC)) >= 0) {
        if (write(log, line, (size_t)n) < 0) {
            /* nothing to do: jfast then finds a change it has no record of */
        }
        close(log);
    }
    errno = saved;
}

/* The path the kernel gives fd, in out (PATH_MAX); 0 when it gives none. */
static int fd_path(int fd, char *out)
{
    char link[64];
    ssize_t len;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    len = readlink(link, out, PATH_MAX - 1);
    if (len <= 0)
        return 0;
    out[len] = '\0';
    return 1;
}

/* dirfd/path as an absolute path in out (PATH_MAX); 0 when it cannot be. */
static int absolute(int dirfd, const char *path, char *out)
{
    char base[PATH_MAX];
    if (path[0] == '/')
        return snprintf(out, PATH_MAX, "%s", path) < PATH_MAX;
    if (dirfd == AT_FDCWD ? getcwd(base, sizeof(base)) == NULL : !fd_path(dirfd, base))
        return 0;
    return snprintf(out, PATH_MAX, "%s/%s", base, path) < PATH_MAX;
}

/* dirfd/path, or "?" when it cannot be named, in out (PATH_MAX). */
static const char *named(int dirfd, const char *path, char *out)
{
    return absolute(dirfd, path, out) ? out : "?";
}

/* The line before a removal (to == NULL) or rename of a regular file. */
static void intend_gone(int dirfd, const char *from, int to_dirfd, const char *to,
                        int existed)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (to == NULL)
        log_line("? rm %s\n", named(dirfd, from, a));
    else
        log_line("? mv %d %s\t%s\n", existed, named(dirfd, from, a), named(to_dirfd, to, b));
}

/* The line after a removal (to == NULL) or rename: one that worked, or one
 * that found no file (rc != 0, errno ENOENT); else `x`, when `intended`.
 * Keeps errno. */
static void note_gone(int rc, int dirfd, const char *from, int to_dirfd, const char *to,
                      int existed, int intended)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (rc != 0 && errno != ENOENT) {
        if (intended)
            log_line("x\n");
    } else if (rc != 0) {
        log_line("no %s\n", named(dirfd, from, a));
    } else if (to == NULL) {
        log_line("rm %s\n", named(dirfd, from, a));
    } else {
        log_line("mv %d %s\t%s\n", existed, named(dirfd, from, a), named(to_dirfd, to, b));
    }
}

/* Whether an open with `flags` is one to record. */
static int writing(int flags)
{
    return writes_log[0] != '\0' && (flags & O_ACCMODE) != O_RDONLY;
}

/* After an open to read: fd's line, when it is a regular file. */
static void note_read(int fd, int flags)
{
    char path[PATH_MAX];
    struct stat st;
    if (writes_log[0] == '\0' || fd < 0 || (flags & O_PATH) || fstat(fd, &st) != 0
        || !S_ISREG(st.st_mode) || !fd_path(fd, path))
        return;
    log_line("r %lld %lld %lld %llu %llu %s\n", (long long)st.st_size,
             (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
             (long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec,
             (unsigned long long)st.st_ino, (unsigned long long)st.st_dev, path);
}

/* Before an open: -1 when it is no open for writing (or there is no log);
 * else whether the file is there (asked only of an open that may create
 * it), with the line that says what is under way. */
static int before_open(int dirfd, const char *path, int flags)
{
    char a[PATH_MAX];
    int existed;
    if (!writing(flags))
        return -1;
    existed = (flags & O_CREAT) ? exists_at(dirfd, path) : 1;
    log_line("? %o %d %s\n", flags, existed, named(dirfd, path, a));
    return existed;
}

/* After an open for writing: fd's line, or `x` (it failed, or is no
 * regular file). */
static void note_write(int fd, int flags, int existed)
{
    char path[PATH_MAX];
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !fd_path(fd, path)) {
        log_line("x\n");
        return;
    }
    log_line("%o %lld %lld %llu %llu %d %s\n", flags, (long long)st.st_size,
             (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
             (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, existed, path);
}

/* After an open: its line, as before_open said (`existed`, -1: a read). */
static void after_open(int fd, int flags, int existed)
{
    if (existed < 0)
        note_read(fd, flags);
    else
        note_write(fd, flags, existed);
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

static int open_at(openat_fn real, int dirfd, const char *path, int flags, mode_t mode)
{
    int existed, fd;
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    existed = before_open(dirfd, path, flags);
    fd = real(dirfd, path, flags, mode);
    after_open(fd, flags, existed);
    return fd;
}

static int open_path(open_fn real, const char *path, int flags, mode_t mode)
{
    int existed, fd;
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    existed = before_open(AT_FDCWD, path, flags);
    fd = real(path, flags, mode);
    after_open(fd, flags, existed);
    return fd;
}

/* One wrapper of open(2)'s shape: path, flags and a mode when creating. */
#define OPEN_WRAPPER(name) \
    int name(const char *path, int flags, ...) \
    { \
        va_list ap; \
        mode_t mode; \
        NEXT(open_fn, #name); \
        va_start(ap, flags); \
        mode = mode_arg(flags, ap); \
        va_end(ap); \
        return open_path(real, path, flags, mode); \
    }

#define OPENAT_WRAPPER(name) \
    int name(int dirfd, const char *path, int flags, ...) \
    { \
        va_list ap; \
        mode_t mode; \
        NEXT(openat_fn, #name); \
        va_start(ap, flags); \
        mode = mode_arg(flags, ap); \
        va_end(ap); \
        return open_at(real, dirfd, path, flags, mode); \
    }

OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* The fortified forms (_FORTIFY_SOURCE), which libnio calls: no mode. */
int __open_2(const char *path, int flags)
{
    NEXT(open_fn, "__open_2");
    return open_path(real, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
    NEXT(open_fn, "__open64_2");
    return open_path(real, path, flags, 0);
}

int creat(const char *path, mode_t mode)
{
    NEXT(open_fn, "open");
    return open_path(real, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
    NEXT(open_fn, "open64");
    return open_path(real, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

/* fopen's mode as open(2) flags: "r", "w", "a", each with an optional "+". */
static int fopen_flags(const char *mode)
{
    int plus = strchr(mode, '+') != NULL;
    switch (mode[0]) {
    case 'w':
        return (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
    case 'a':
        return (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
    default:
        return plus ? O_RDWR : O_RDONLY;
    }
}

typedef FILE *(*fopen_fn)(const char *, const char *);

static FILE *fopen_with(fopen_fn real, const char *path, const char *mode)
{
    int flags = fopen_flags(mode), existed;
    FILE *f;
    if (real == NULL) {
        errno = ENOSYS;
        return NULL;
    }
    existed = before_open(AT_FDCWD, path, flags);
    f = real(path, mode);
    after_open(f != NULL ? fileno(f) : -1, flags, existed);
    return f;
}

FILE *fopen(const char *path, const char *mode)
{
    NEXT(fopen_fn, "fopen");
    return fopen_with(real, path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    NEXT(fopen_fn, "fopen64");
    return fopen_with(real, path, mode);
}

/* Removals and renames of regular files: java.io.File's delete and
 * renameTo, java.nio's Files.delete and move. Other kinds (a stale socket's
 * path, a folder) are left out. */
typedef int (*path_fn)(const char *);
typedef int (*unlinkat_fn)(int, const char *, int);
typedef int (*renameat2_fn)(int, const char *, int, const char *, unsigned);

static int regular_at(int dirfd, const char *path)
{
    struct stat st;
    return writes_log[0] && fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0
        && S_ISREG(st.st_mode);
}

static int unlink_with(int (*call)(int, const char *, int), int dirfd, const char *path,
                       int flags)
{
    int regular, rc;
    if (call == NULL) {
        errno = ENOSYS;
        return -1;
    }
    regular = regular_at(dirfd, path);
    if (regular)
        intend_gone(dirfd, path, 0, NULL, 0);
    rc = call(dirfd, path, flags);
    if (writes_log[0] && (regular || rc != 0))
        note_gone(rc, dirfd, path, 0, NULL, 0, regular);
    return rc;
}

static path_fn unlink_real, remove_real;

static int call_unlink(int dirfd, const char *path, int flags)
{
    return unlink_real(path);
}

static int call_remove(int dirfd, const char *path, int flags)
{
    return remove_real(path);
}

int unlink(const char *path)
{
    if (unlink_real == NULL)
        unlink_real = (path_fn)dlsym(RTLD_NEXT, "unlink");
    return unlink_with(unlink_real == NULL ? NULL : call_unlink, AT_FDCWD, path, 0);
}

int remove(const char *path)
{
    if (remove_real == NULL)
        remove_real = (path_fn)dlsym(RTLD_NEXT, "remove");
    return unlink_with(remove_real == NULL ? NULL : call_remove, AT_FDCWD, path, 0);
}

int unlinkat(int dirfd, const char *path, int flags)
{
    NEXT(unlinkat_fn, "unlinkat");
    return unlink_with(real, dirfd, path, flags);
}

static int rename_with(renameat2_fn real, int olddir, const char *from, int newdir,
                       const char *to, unsigned flags)
{
    int regular, existed, rc;
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    regular = regular_at(olddir, from);
    existed = regular && exists_at(newdir, to);
    if (regular)
        intend_gone(olddir, from, newdir, to, existed);
    rc = real(olddir, from, newdir, to, flags);
    if (writes_log[0] && (regular || rc != 0))
        note_gone(rc, olddir, from, newdir, to, existed, regular);
    return rc;
}

int renameat2(int olddir, const char *from, int newdir, const char *to, unsigned flags)
{
    NEXT(renameat2_fn, "renameat2");
    return rename_with(real, olddir, from, newdir, to, flags);
}

/* rename and renameat go through renameat2's real function: glibc has it
 * from 2.28, and the kernel from 3.15. */
int renameat(int olddir, const char *from, int newdir, const char *to)
{
    NEXT(renameat2_fn, "renameat2");
    return rename_with(real, olddir, from, newdir, to, 0);
}

int rename(const char *from, const char *to)
{
    NEXT(renameat2_fn, "renameat2");
    return rename_with(real, AT_FDCWD, from, AT_FDCWD, to, 0);
}
