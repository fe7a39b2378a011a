/*
 * The two things a restored JVM must do that Java has no API for: move the
 * process to the caller's working directory, and replace the C library's
 * environment (what native code reads with getenv). Called by the agent
 * (dev.jfast.agent.Native) on the control thread, right after a restore.
 *
 * And, in a first run where jfast puts this library in LD_PRELOAD, the
 * socket ready point: listen(2) of a TCP server tells the agent before it
 * happens (see listen below).
 */
#define _GNU_SOURCE
#include <jni.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* path: NUL-terminated bytes. Returns 0 or an errno value. */
JNIEXPORT jint JNICALL
Java_dev_jfast_agent_Native_chdir0(JNIEnv *env, jclass cls, jbyteArray path)
{
    jbyte *p = (*env)->GetByteArrayElements(env, path, NULL);
    int rc;
    if (p == NULL)
        return ENOMEM;
    rc = chdir((const char *)p) == 0 ? 0 : errno;
    (*env)->ReleaseByteArrayElements(env, path, p, JNI_ABORT);
    return rc;
}

/*
 * block: "NAME=VALUE\0NAME=VALUE\0...". The environment becomes exactly
 * these variables. clearenv never frees the strings the old entries point
 * to, so pointers that native code kept from getenv stay valid.
 * Returns 0 or an errno value.
 */
JNIEXPORT jint JNICALL
Java_dev_jfast_agent_Native_setenv0(JNIEnv *env, jclass cls, jbyteArray block)
{
    jsize n = (*env)->GetArrayLength(env, block);
    char *copy = malloc((size_t)n + 1);
    char *s, *end;
    int rc = 0;
    if (copy == NULL)
        return ENOMEM;
    (*env)->GetByteArrayRegion(env, block, 0, n, (jbyte *)copy);
    copy[n] = '\0';
    if (clearenv() != 0) {
        free(copy);
        return errno ? errno : EINVAL;
    }
    for (s = copy, end = copy + n; s < end; s += strlen(s) + 1) {
        char *eq = strchr(s, '=');
        if (eq == NULL || eq == s)
            continue;
        *eq = '\0';
        if (setenv(s, eq + 1, 1) != 0)
            rc = errno;
        *eq = '=';
    }
    free(copy);
    return rc;
}

static JavaVM *listen_vm;
static jclass listen_class;
static jmethodID listen_method;
static int listen_armed;

/* Native.armListen0: the first TCP listen from now on calls
 * Native.beforeListen() on the listening thread. */
JNIEXPORT void JNICALL
Java_dev_jfast_agent_Native_armListen0(JNIEnv *env, jclass cls)
{
    if ((*env)->GetJavaVM(env, &listen_vm) != 0)
        return;
    listen_class = (*env)->NewGlobalRef(env, cls);
    listen_method = (*env)->GetStaticMethodID(env, cls, "beforeListen", "()V");
    if (listen_class != NULL && listen_method != NULL)
        __atomic_store_n(&listen_armed, 1, __ATOMIC_RELEASE);
    else
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

/*
 * The checkpoint is taken here, with the socket bound but not listening:
 * no client can connect before it, however eagerly it retries (one that
 * did would make a checkpoint unsafe: it could replay a served request).
 * A restored program then listens itself. Only a Java thread can tell the
 * agent; any other caller, or a later listen, goes straight through.
 */
int listen(int fd, int backlog)
{
    static int (*real)(int, int);
    int saved = errno;
    JNIEnv *env;

    if (real == NULL)
        real = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (__atomic_load_n(&listen_armed, __ATOMIC_ACQUIRE) && is_tcp(fd)
        && (*listen_vm)->GetEnv(listen_vm, (void **)&env, JNI_VERSION_1_8) == JNI_OK
        && __atomic_exchange_n(&listen_armed, 0, __ATOMIC_ACQ_REL)) {
        (*env)->CallStaticVoidMethod(env, listen_class, listen_method);
        if ((*env)->ExceptionCheck(env))
            (*env)->ExceptionClear(env);
    }
    errno = saved;
    return real(fd, backlog);
}
