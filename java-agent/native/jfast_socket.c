/*
 * The socket ready point (docs/architecture.md, "Ready points"), in the
 * native library jfast preloads in every mode but main.
 *
 * A server is ready when it first waits for a connection, not when it
 * listens: a servlet container listens on its connector, then deploys its
 * applications, then accepts. So listen(2) on a TCP port the program chose
 * only records the socket, and the point is the first call that waits on
 * one of them: accept or accept4 (blocking servers: Jetty, Tomcat), poll or
 * ppoll with a timeout (java.net.ServerSocket), or epoll_wait on an epoll
 * set it was added to (selectors: the JDK's HTTP server, Netty). No
 * connection has been accepted before it, so none can be replayed; one
 * still queued is left out of the image (criu dump --skip-in-flight) and
 * served by the run that made it.
 *
 * bind(2) and listen(2) also find ports the kernel chose: a restore would
 * bring such a socket back on its old port, which a second restored copy
 * could not have, where under java each copy gets its own.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "jfast_next.h"

/* `real`: the C library's function this wrapper stands in for; where there
 * is none, the wrapper fails with ENOSYS. */
#define NEXT_OR_FAIL(name) \
    NEXT(__typeof__(&name), #name); \
    if (real == NULL) { \
        errno = ENOSYS; \
        return -1; \
    }

static JavaVM *agent_vm;
static jclass native_class;
static jmethodID wait_method, kernel_port_method;
/* 1 while the point is ahead: armed under auto and socket, cleared when it
 * is reached (or a listen on a kernel-chosen port ends checkpoints). */
static int point_ahead;

/*
 * Ports the kernel chose at bind(2) (the program asked for port 0). Kept
 * here because only bind sees what was asked.
 */
#define KERNEL_PORTS 64
static int kernel_ports[KERNEL_PORTS];
static unsigned kernel_port_count;

/*
 * The program's listening sockets while the point is ahead, by fd and inode
 * (an fd number closed and used again is not the listener any more), and
 * the epoll sets one of them was added to. 0 marks a slot not yet written.
 */
#define LISTENERS 16
static struct { int fd; ino_t ino; } listeners[LISTENERS];
static unsigned listener_count;
#define WAIT_SETS 16
static int wait_sets[WAIT_SETS];        /* epoll fd + 1 */
static unsigned wait_set_count;

/* Native.armListen0: TCP listens from now on are watched: one on a port the
 * kernel chose calls Native.kernelPortListen(port); with `point`, the first
 * wait on another one calls Native.beforeWait(), on the waiting thread. */
void JNICALL
jfast_arm_listen(JNIEnv *env, jclass cls, jboolean point)
{
    JavaVM *vm;
    if ((*env)->GetJavaVM(env, &vm) != 0)
        return;
    native_class = (*env)->NewGlobalRef(env, cls);
    wait_method = (*env)->GetStaticMethodID(env, cls, "beforeWait", "()V");
    kernel_port_method = wait_method == NULL ? NULL
        : (*env)->GetStaticMethodID(env, cls, "kernelPortListen", "(I)V");
    if (native_class == NULL || wait_method == NULL || kernel_port_method == NULL) {
        (*env)->ExceptionClear(env);
        return;
    }
    if (point)
        __atomic_store_n(&point_ahead, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&agent_vm, vm, __ATOMIC_RELEASE);   /* last: the hooks read it first */
}

/* The calling thread's JNI env if the agent is armed and it is a Java thread. */
static JNIEnv *java_thread(void)
{
    JavaVM *vm = __atomic_load_n(&agent_vm, __ATOMIC_ACQUIRE);
    JNIEnv *env;
    if (vm == NULL || (*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return NULL;
    return env;
}

static void call_agent(JNIEnv *env, jmethodID method, int port)
{
    if (method == kernel_port_method)
        (*env)->CallStaticVoidMethod(env, native_class, method, (jint)port);
    else
        (*env)->CallStaticVoidMethod(env, native_class, method);
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
}

static int is_tcp(int fd)
{
    int domain = 0, type = 0;
    socklen_t len = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
        return 0;
    len = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return 0;
    return (domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM;
}

/* The port in an IPv4 or IPv6 address, or -1. */
static int port_in(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)addr)->sin_port);
    if (addr->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    return -1;
}

static int bound_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    return port_in((struct sockaddr *)&addr);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    int rc, saved, port;
    NEXT_OR_FAIL(bind);
    rc = real(fd, addr, len);
    saved = errno;
    if (rc == 0 && addr != NULL && len >= sizeof(struct sockaddr_in) && port_in(addr) == 0
        && is_tcp(fd) && (port = bound_port(fd)) > 0) {
        unsigned i = __atomic_fetch_add(&kernel_port_count, 1, __ATOMIC_ACQ_REL);
        __atomic_store_n(&kernel_ports[i % KERNEL_PORTS], port, __ATOMIC_RELEASE);
    }
    errno = saved;
    return rc;
}

/* The port if the kernel chose it at bind; -1 if it will choose one now
 * (listen binds an unbound socket); 0 if the program chose it. */
static int kernel_port(int fd)
{
    int port = bound_port(fd);
    unsigned i, n = __atomic_load_n(&kernel_port_count, __ATOMIC_ACQUIRE);
    if (port == 0)
        return -1;
    for (i = 0; i < n && i < KERNEL_PORTS; i++)
        if (__atomic_load_n(&kernel_ports[i], __ATOMIC_ACQUIRE) == port)
            return port;
    return 0;
}

static ino_t inode_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static void add_listener(int fd)
{
    ino_t ino = inode_of(fd);
    unsigned i = __atomic_fetch_add(&listener_count, 1, __ATOMIC_ACQ_REL);
    if (i >= LISTENERS || ino == 0)
        return;                 /* more than that many: the point is the first sixteen's */
    listeners[i].ino = ino;
    __atomic_store_n(&listeners[i].fd, fd + 1, __ATOMIC_RELEASE);
}

static int is_listener(int fd)
{
    unsigned i, n = __atomic_load_n(&listener_count, __ATOMIC_ACQUIRE);
    ino_t ino = 0;
    for (i = 0; i < n && i < LISTENERS; i++)
        if (__atomic_load_n(&listeners[i].fd, __ATOMIC_ACQUIRE) == fd + 1) {
            if (ino == 0)
                ino = inode_of(fd);
            if (ino == listeners[i].ino)
                return 1;
        }
    return 0;
}

static int is_wait_set(int epfd)
{
    unsigned i, n = __atomic_load_n(&wait_set_count, __ATOMIC_ACQUIRE);
    for (i = 0; i < n && i < WAIT_SETS; i++)
        if (__atomic_load_n(&wait_sets[i], __ATOMIC_ACQUIRE) == epfd + 1)
            return 1;
    return 0;
}

/* Whether the point is still ahead and some listener was recorded: the
 * only cost of the hooks below for the rest of the program's life. */
static int watching(void)
{
    return __atomic_load_n(&point_ahead, __ATOMIC_ACQUIRE)
        && __atomic_load_n(&listener_count, __ATOMIC_ACQUIRE) > 0;
}

/* The program is about to wait for a connection: the ready point, once. */
static void reach_point(void)
{
    int saved = errno;
    JNIEnv *env = java_thread();
    if (env != NULL && __atomic_exchange_n(&point_ahead, 0, __ATOMIC_ACQ_REL))
        call_agent(env, wait_method, 0);
    errno = saved;
}

/*
 * A listen on a port the program chose is recorded for the point; one on a
 * port the kernel chose tells the agent, which ends checkpoints. Only a
 * Java thread can tell the agent; any other caller goes straight through.
 */
int listen(int fd, int backlog)
{
    int saved = errno, port;
    JNIEnv *env;
    NEXT_OR_FAIL(listen);
    if (is_tcp(fd) && (env = java_thread()) != NULL) {
        port = kernel_port(fd);
        if (port != 0) {
            __atomic_store_n(&point_ahead, 0, __ATOMIC_RELEASE);
            call_agent(env, kernel_port_method, port);
        } else if (__atomic_load_n(&point_ahead, __ATOMIC_ACQUIRE)) {
            add_listener(fd);
        }
    }
    errno = saved;
    return real(fd, backlog);
}

/* An accept on a listener: the program waits for (or takes) a connection. */
static void accept_point(int fd)
{
    if (watching() && is_listener(fd))
        reach_point();
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    NEXT_OR_FAIL(accept);
    accept_point(fd);
    return real(fd, addr, len);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    NEXT_OR_FAIL(accept4);
    accept_point(fd);
    return real(fd, addr, len, flags);
}

/* A poll that waits (a timeout other than 0) for a connection on a listener. */
static void poll_point(const struct pollfd *fds, nfds_t n, int waits)
{
    nfds_t i;
    if (!waits || !watching())
        return;
    for (i = 0; i < n; i++)
        if ((fds[i].events & POLLIN) && is_listener(fds[i].fd)) {
            reach_point();
            return;
        }
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    NEXT_OR_FAIL(poll);
    poll_point(fds, n, timeout != 0);
    return real(fds, n, timeout);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
          const sigset_t *mask)
{
    NEXT_OR_FAIL(ppoll);
    poll_point(fds, n, timeout == NULL || timeout->tv_sec != 0 || timeout->tv_nsec != 0);
    return real(fds, n, timeout, mask);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    int rc, saved;
    NEXT_OR_FAIL(epoll_ctl);
    rc = real(epfd, op, fd, event);
    saved = errno;
    if (rc == 0 && (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && event != NULL
        && (event->events & EPOLLIN) && watching() && is_listener(fd) && !is_wait_set(epfd)) {
        unsigned i = __atomic_fetch_add(&wait_set_count, 1, __ATOMIC_ACQ_REL);
        if (i < WAIT_SETS)
            __atomic_store_n(&wait_sets[i], epfd + 1, __ATOMIC_RELEASE);
    }
    errno = saved;
    return rc;
}

/* A wait (a timeout other than 0) on an epoll set a listener is in. */
static void epoll_point(int epfd, int timeout)
{
    if (timeout != 0 && watching() && is_wait_set(epfd))
        reach_point();
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    NEXT_OR_FAIL(epoll_wait);
    epoll_point(epfd, timeout);
    return real(epfd, events, max, timeout);
}

int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout,
                const sigset_t *mask)
{
    NEXT_OR_FAIL(epoll_pwait);
    epoll_point(epfd, timeout);
    return real(epfd, events, max, timeout, mask);
}
