/*
 * The two things a restored JVM must do that Java has no API for: move the
 * process to the caller's working directory, and replace the C library's
 * environment (what native code reads with getenv). Called by the agent
 * (dev.jfast.agent.Native) on the control thread, right after a restore.
 *
 * In a first run it is also what starts the agent, as a JVMTI agent
 * (-agentpath): java's -javaagent costs every such JVM some 40 ms, since it
 * turns off the CDS archive's module graph. And, put in LD_PRELOAD there,
 * it is the socket ready point: listen(2) of a TCP server tells the agent
 * before it happens (see listen below).
 */
#define _GNU_SOURCE
#include <jni.h>
#include <jvmti.h>
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Hands the C heap's free pages back to the kernel (glibc's malloc_trim),
 * just before a dump: what the JVM's own threads freed would otherwise be
 * written into the image. Returns 1 if memory was released, 0 if none,
 * -1 where the C library has no such call.
 */
JNIEXPORT jint JNICALL
Java_dev_jfast_agent_Native_trimMalloc0(JNIEnv *env, jclass cls)
{
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return -1;
#endif
}

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

/* -- the agent's start, and what it would otherwise need java.instrument for */

static jvmtiEnv *jvmti;
static char *agent_options;

static void JNICALL on_vm_init(jvmtiEnv *jv, JNIEnv *env, jthread thread)
{
    /* Here, with no Java frame, FindClass uses the system class loader. */
    jclass agent = (*env)->FindClass(env, "dev/jfast/agent/Agent");
    jmethodID start = agent == NULL ? NULL
        : (*env)->GetStaticMethodID(env, agent, "nativeStart", "(Ljava/lang/String;)V");
    jstring options = start == NULL ? NULL : (*env)->NewStringUTF(env, agent_options);
    if (options != NULL)
        (*env)->CallStaticVoidMethod(env, agent, start, options);
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
}

/*
 * -agentpath:libjfast.so=<agent jar>,<agent options>: the jar joins the
 * system class path and Agent.nativeStart(options) runs when the VM has
 * started, before the main class loads, where a -javaagent's premain would.
 * Never fails the JVM: without JVMTI the program runs without the agent.
 */
JNIEXPORT jint JNICALL
Agent_OnLoad(JavaVM *vm, char *options, void *reserved)
{
    jvmtiEventCallbacks callbacks;
    char *comma, *jar;

    if (options == NULL || (comma = strchr(options, ',')) == NULL)
        return 0;
    if ((*vm)->GetEnv(vm, (void **)&jvmti, JVMTI_VERSION_11) != JNI_OK) {
        jvmti = NULL;
        return 0;
    }
    agent_options = strdup(comma + 1);
    jar = strndup(options, (size_t)(comma - options));
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.VMInit = on_vm_init;
    if (agent_options == NULL || jar == NULL
        || (*jvmti)->AddToSystemClassLoaderSearch(jvmti, jar) != JVMTI_ERROR_NONE
        || (*jvmti)->SetEventCallbacks(jvmti, &callbacks, sizeof(callbacks)) != JVMTI_ERROR_NONE)
        return 0;
    (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_VM_INIT, NULL);
    return 0;
}

/*
 * Native.dropPreload0: takes `lib` (NUL-terminated) off the front of
 * LD_PRELOAD in the C environment. True when `process_env`
 * (java.lang.ProcessEnvironment, loaded, maybe not initialized) has not yet
 * copied that environment: System.getenv will then never show the entry.
 * False when it has, or JVMTI cannot tell, and Java's copy needs the change too.
 */
JNIEXPORT jboolean JNICALL
Java_dev_jfast_agent_Native_dropPreload0(JNIEnv *env, jclass cls, jbyteArray lib,
                                         jclass process_env)
{
    jbyte *prefix = (*env)->GetByteArrayElements(env, lib, NULL);
    const char *value = getenv("LD_PRELOAD");
    jint status = 0;
    size_t len;
    if (prefix == NULL)
        return JNI_FALSE;
    len = strlen((const char *)prefix);
    if (value != NULL && strncmp(value, (const char *)prefix, len) == 0
        && (value[len] == '\0' || value[len] == ':')) {
        char *rest = strdup(value[len] == ':' ? value + len + 1 : value + len);
        if (rest != NULL && *rest != '\0')
            setenv("LD_PRELOAD", rest, 1);
        else if (rest != NULL)
            unsetenv("LD_PRELOAD");
        free(rest);
    }
    (*env)->ReleaseByteArrayElements(env, lib, prefix, JNI_ABORT);
    /* Checked after the change: a copy made before it shows as initialized. */
    if (jvmti == NULL || process_env == NULL
        || (*jvmti)->GetClassStatus(jvmti, process_env, &status) != JVMTI_ERROR_NONE)
        return JNI_FALSE;
    return (status & JVMTI_CLASS_STATUS_INITIALIZED) ? JNI_FALSE : JNI_TRUE;
}

/* Native.openPackage0: opens `package` of `from` to `to`; a JVMTI error code. */
JNIEXPORT jint JNICALL
Java_dev_jfast_agent_Native_openPackage0(JNIEnv *env, jclass cls, jobject from,
                                         jstring package, jobject to)
{
    const char *name;
    jint rc;
    if (jvmti == NULL)
        return JVMTI_ERROR_NOT_AVAILABLE;
    name = (*env)->GetStringUTFChars(env, package, NULL);
    if (name == NULL)
        return JVMTI_ERROR_OUT_OF_MEMORY;
    rc = (*jvmti)->AddModuleOpens(jvmti, from, name, to);
    (*env)->ReleaseStringUTFChars(env, package, name);
    return rc;
}

/* Native.loadedClasses0: every loaded class, or null. */
JNIEXPORT jobjectArray JNICALL
Java_dev_jfast_agent_Native_loadedClasses0(JNIEnv *env, jclass cls)
{
    jint n, i;
    jclass *classes;
    jobjectArray out;
    if (jvmti == NULL || (*jvmti)->GetLoadedClasses(jvmti, &n, &classes) != JVMTI_ERROR_NONE)
        return NULL;
    out = (*env)->NewObjectArray(env, n, (*env)->FindClass(env, "java/lang/Class"), NULL);
    for (i = 0; i < n; i++) {
        if (out != NULL)
            (*env)->SetObjectArrayElement(env, out, i, classes[i]);
        (*env)->DeleteLocalRef(env, classes[i]);
    }
    (*jvmti)->Deallocate(jvmti, (unsigned char *)classes);
    return out;
}
