/*
 * The files a program opens for writing, for the cold run (docs/
 * architecture.md, "Files the program wrote"). Put in LD_PRELOAD, this half
 * of the native library sees every open(2) and fopen(3) the JVM makes; for
 * each regular file opened with write access it appends one line to the
 * log jfast named in the agent's options (writes=PATH):
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
 * Each line is written before the call returns to its caller, so a
 * checkpoint (criu freezes every thread) finds the record of every file the
 * program opened before it. jfast then knows, for each file the program
 * wrote before its ready point, whether a restore can repeat what it did:
 * a file it created or truncated is written whole, one it opened to append
 * gets the appended bytes. The log is opened for each line (never held:
 * an fd of ours would be part of the image) without O_CREAT, so a restored
 * program, whose log is gone, records nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* Appends `line` (n bytes) to the log. */
static void log_line(const char *line, int n)
{
    /* The raw call: our own open() would come back here. */
    int log = (int)syscall(SYS_openat, AT_FDCWD, writes_log, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (log >= 0) {
        if (write(log, line, (size_t)n) < 0) {
            /* nothing to do: jfast then finds a change it has no record of */
        }
        close(log);
    }
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

/* One line for a removal (to == NULL) or a rename that worked, or for one
 * that found no file (rc != 0, errno ENOENT); keeps errno. */
static void note_gone(int rc, int dirfd, const char *from, int to_dirfd, const char *to,
                      int existed)
{
    char line[2 * PATH_MAX + 16], a[PATH_MAX], b[PATH_MAX];
    int saved = errno, n;
    if (writes_log[0] == '\0' || (rc != 0 && saved != ENOENT))
        return;
    if (!absolute(dirfd, from, a) || (to != NULL && !absolute(to_dirfd, to, b)))
        n = snprintf(line, sizeof(line), "rm ?\n");      /* jfast then refuses */
    else if (rc != 0)
        n = snprintf(line, sizeof(line), "no %s\n", a);
    else if (to == NULL)
        n = snprintf(line, sizeof(line), "rm %s\n", a);
    else
        n = snprintf(line, sizeof(line), "mv %d %s\t%s\n", existed, a, b);
    if (n > 0 && (size_t)n < sizeof(line))
        log_line(line, n);
    errno = saved;
}

/* One line for fd, just opened with `flags`; keeps errno. */
static void note(int fd, int flags, int existed)
{
    char line[PATH_MAX + 128], path[PATH_MAX];
    struct stat st;
    int saved = errno, n;

    if (writes_log[0] == '\0' || fd < 0 || (flags & O_ACCMODE) == O_RDONLY)
        goto out;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !fd_path(fd, path))
        goto out;
    n = snprintf(line, sizeof(line), "%o %lld %lld %llu %llu %d %s\n", flags,
                 (long long)st.st_size,
                 (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                 (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino, existed, path);
    if (n > 0 && (size_t)n < sizeof(line))
        log_line(line, n);
out:
    errno = saved;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

/* The C library's function of that name, looked up once per wrapper. */
#define NEXT(type, name) \
    static type real; \
    if (real == NULL) \
        real = (type)dlsym(RTLD_NEXT, name)

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
    existed = (flags & O_CREAT) && writes_log[0] ? exists_at(dirfd, path) : 1;
    fd = real(dirfd, path, flags, mode);
    note(fd, flags, existed);
    return fd;
}

static int open_path(open_fn real, const char *path, int flags, mode_t mode)
{
    int existed, fd;
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    existed = (flags & O_CREAT) && writes_log[0] ? exists_at(AT_FDCWD, path) : 1;
    fd = real(path, flags, mode);
    note(fd, flags, existed);
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
    int flags = fopen_flags(mode);
    int existed;
    FILE *f;
    if (real == NULL) {
        errno = ENOSYS;
        return NULL;
    }
    existed = (flags & O_CREAT) && writes_log[0] ? exists_at(AT_FDCWD, path) : 1;
    f = real(path, mode);
    if (f != NULL)
        note(fileno(f), flags, existed);
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
    rc = call(dirfd, path, flags);
    if (regular || rc != 0)
        note_gone(rc, dirfd, path, 0, NULL, 0);
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
    rc = real(olddir, from, newdir, to, flags);
    if (regular || rc != 0)
        note_gone(rc, olddir, from, newdir, to, existed);
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
