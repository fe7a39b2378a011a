/*
 * The agent's native half (docs/architecture.md, "The agent"). It is what
 * starts the agent in every JVM jfast runs: a JVMTI agent (-agentpath), since
 * java's -javaagent costs every such JVM some 40 ms (it turns off the CDS
 * archive's module graph). At VM start it binds the Java class Native's
 * methods itself (JNI RegisterNatives), so no Java code ever calls
 * System.load: on JDK 24 and later that prints JEP 472's four warnings on the
 * program's stderr, and under --illegal-native-access=deny it fails.
 *
 * What it does for the agent, which Java has no API for: move the process to
 * the caller's working directory and replace the C library's environment
 * after a restore; tell whether a class is initialized and write final
 * fields (JVMTI and JNI, instead of sun.misc.Unsafe, whose methods JDK 25
 * removes); keep jfast's own VM options out of the program's view. Put in
 * LD_PRELOAD, it is also the socket ready point, a TCP server's first wait
 * for a connection (jfast_socket.c); and jfast_writes.c records the files the
 * program opens for writing.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <jvmti.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

/*
 * Hands the C heap's free pages back to the kernel (glibc's malloc_trim),
 * just before a dump: what the JVM's own threads freed would otherwise be
 * written into the image. Returns 1 if memory was released, 0 if none,
 * -1 where the C library has no such call.
 */
static jint JNICALL
trim_malloc(JNIEnv *env, jclass cls)
{
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return -1;
#endif
}

/* path: NUL-terminated bytes. Returns 0 or an errno value. */
static jint JNICALL
change_dir(JNIEnv *env, jclass cls, jbyteArray path)
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
 * Points the kernel's copy of the environment (/proc/PID/environ, what ps
 * and other processes read) at `block`, copied into fresh memory. Only
 * PR_SET_MM_MAP can move it without CAP_SYS_RESOURCE, and it sets every
 * field of the memory map at once: the others are passed as they are now,
 * from /proc/self/stat. brk is read last, just before the call; a thread
 * moving it in between would at worst make its next brk fail, and malloc
 * then maps memory instead. Returns 0 or an errno value.
 */
static int show_env(const char *block, size_t n)
{
    struct prctl_mm_map map;
    unsigned long v[52];
    char stat[4096], *p;
    ssize_t got;
    int fd, i;
    char *copy;

    fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    got = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (got <= 0)
        return EINVAL;
    stat[got] = '\0';
    if ((p = strrchr(stat, ')')) == NULL)
        return EINVAL;
    /* Field 3 (the state, a letter) follows the command's closing parenthesis. */
    for (p += 2, i = 3; i < 52; i++) {
        if (*p == '\0')
            return EINVAL;
        v[i] = strtoul(p, NULL, 10);
        p += strcspn(p, " ");
        p += *p == ' ';
    }
    copy = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (copy == MAP_FAILED)
        return errno;
    memcpy(copy, block, n);
    memset(&map, 0, sizeof(map));
    map.start_code = v[26];
    map.end_code = v[27];
    map.start_stack = v[28];
    map.start_data = v[45];
    map.end_data = v[46];
    map.start_brk = v[47];
    map.arg_start = v[48];
    map.arg_end = v[49];
    map.env_start = (unsigned long)copy;
    map.env_end = (unsigned long)copy + n;
    map.exe_fd = (__u32)-1;                   /* keep the executable */
    map.brk = (unsigned long)sbrk(0);
    if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0) != 0) {
        int rc = errno;
        munmap(copy, n ? n : 1);
        return rc;
    }
    return 0;
}

/*
 * block: "NAME=VALUE\0NAME=VALUE\0...". The environment becomes exactly
 * these variables, for the C library and in /proc/PID/environ. clearenv
 * never frees the strings the old entries point to, so pointers that native
 * code kept from getenv stay valid. Returns 0 or an errno value.
 */
static jint JNICALL
replace_env(JNIEnv *env, jclass cls, jbyteArray block)
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
    if (rc == 0)
        rc = show_env(copy, (size_t)n);
    free(copy);
    return rc;
}

static jvmtiEnv *jvmti;

/*
 * Native.dropPreload0: takes `lib` (NUL-terminated) off the front of
 * LD_PRELOAD in the C environment. True when `process_env`
 * (java.lang.ProcessEnvironment, loaded, maybe not initialized) has not yet
 * copied that environment: System.getenv will then never show the entry.
 * False when it has, or JVMTI cannot tell, and Java's copy needs the change too.
 */
static jboolean JNICALL
drop_preload(JNIEnv *env, jclass cls, jbyteArray lib,
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
static jint JNICALL
open_package(JNIEnv *env, jclass cls, jobject from,
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
static jobjectArray JNICALL
loaded_classes(JNIEnv *env, jclass cls)
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

/* Native.classInitialized0: whether `c`'s static initializer has run. Reading
 * a static field of a holder that has not would initialize it. */
static jboolean JNICALL
class_initialized(JNIEnv *env, jclass cls, jclass c)
{
    jint status = 0;
    if (jvmti == NULL || c == NULL
        || (*jvmti)->GetClassStatus(jvmti, c, &status) != JVMTI_ERROR_NONE)
        return JNI_FALSE;
    return (status & JVMTI_CLASS_STATUS_INITIALIZED) ? JNI_TRUE : JNI_FALSE;
}

/* The class that declares a java.lang.reflect.Field, or NULL. */
static jclass declaring_class(JNIEnv *env, jobject field)
{
    jclass owner = (*env)->CallObjectMethod(env, field,
        (*env)->GetMethodID(env, (*env)->GetObjectClass(env, field),
                            "getDeclaringClass", "()Ljava/lang/Class;"));
    if (owner == NULL || (*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        return NULL;
    }
    return owner;
}

/* Native.setField0: `field` (a java.lang.reflect.Field of a reference type)
 * of `target`, or the static one when target is null, becomes `value`. JNI
 * writes final fields too, which reflection refuses for static ones. */
static jboolean JNICALL
set_field(JNIEnv *env, jclass cls, jobject field, jobject target, jobject value)
{
    jfieldID id = (*env)->FromReflectedField(env, field);
    if (id == NULL) {
        (*env)->ExceptionClear(env);
        return JNI_FALSE;
    }
    if (target == NULL) {
        jclass owner = declaring_class(env, field);
        if (owner == NULL)
            return JNI_FALSE;
        (*env)->SetStaticObjectField(env, owner, id, value);
    } else {
        (*env)->SetObjectField(env, target, id, value);
    }
    return (*env)->ExceptionCheck(env) ? ((*env)->ExceptionClear(env), JNI_FALSE) : JNI_TRUE;
}

/* Native.getField0: `field` (a reference type) of `target`, or the static one
 * when target is null, read without the access checks reflection makes. */
static jobject JNICALL
get_field(JNIEnv *env, jclass cls, jobject field, jobject target)
{
    jfieldID id = (*env)->FromReflectedField(env, field);
    jobject value;
    if (id == NULL) {
        (*env)->ExceptionClear(env);
        return NULL;
    }
    if (target == NULL) {
        jclass owner = declaring_class(env, field);
        if (owner == NULL)
            return NULL;
        value = (*env)->GetStaticObjectField(env, owner, id);
    } else {
        value = (*env)->GetObjectField(env, target, id);
    }
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        return NULL;
    }
    return value;
}

/*
 * Native.hideOptions0: the options jfast put on the command line (`first`,
 * -agentpath, and the `count` that follow it) leave the list the program
 * reads with RuntimeMXBean.getInputArguments(), which java.management caches
 * in its VMManagementImpl on first use: that cache is filled here, without
 * them. JNI, because the class is in a package no module exports; its
 * initialization (and java.management's library) costs about 3 ms. Returns
 * how many were hidden, -1 when java.management is not there (a modular
 * program that does not use it cannot read them either).
 */
static jint JNICALL
hide_options(JNIEnv *env, jclass cls, jstring first, jint count)
{
    jclass helper = (*env)->FindClass(env, "sun/management/ManagementFactoryHelper");
    jclass list = (*env)->FindClass(env, "java/util/List");
    jclass array_list = (*env)->FindClass(env, "java/util/ArrayList");
    jclass collections = (*env)->FindClass(env, "java/util/Collections");
    jclass string = (*env)->FindClass(env, "java/lang/String");
    jfieldID vm_id, args_id;
    jmethodID vm_args, size, get, add, ctor, wrap, equals;
    jobject vm, args, kept;
    jint n, i, hidden = 0, skip = 0;

    if (helper == NULL || list == NULL || array_list == NULL || collections == NULL
        || string == NULL) {
        (*env)->ExceptionClear(env);
        return -1;
    }
    vm_id = (*env)->GetStaticFieldID(env, helper, "jvm", "Lsun/management/VMManagement;");
    vm = vm_id == NULL ? NULL : (*env)->GetStaticObjectField(env, helper, vm_id);
    if (vm == NULL)
        goto failed;
    args_id = (*env)->GetFieldID(env, (*env)->GetObjectClass(env, vm), "vmArgs",
                                 "Ljava/util/List;");
    vm_args = (*env)->GetMethodID(env, (*env)->GetObjectClass(env, vm), "getVmArguments",
                                  "()Ljava/util/List;");
    size = (*env)->GetMethodID(env, list, "size", "()I");
    get = (*env)->GetMethodID(env, list, "get", "(I)Ljava/lang/Object;");
    add = (*env)->GetMethodID(env, list, "add", "(Ljava/lang/Object;)Z");
    ctor = (*env)->GetMethodID(env, array_list, "<init>", "()V");
    wrap = (*env)->GetStaticMethodID(env, collections, "unmodifiableList",
                                     "(Ljava/util/List;)Ljava/util/List;");
    equals = (*env)->GetMethodID(env, string, "equals", "(Ljava/lang/Object;)Z");
    if (args_id == NULL || vm_args == NULL || size == NULL || get == NULL || add == NULL
        || ctor == NULL || wrap == NULL || equals == NULL)
        goto failed;
    args = (*env)->CallObjectMethod(env, vm, vm_args);
    kept = args == NULL ? NULL : (*env)->NewObject(env, array_list, ctor);
    if (kept == NULL)
        goto failed;
    n = (*env)->CallIntMethod(env, args, size);
    for (i = 0; i < n && !(*env)->ExceptionCheck(env); i++) {
        jobject arg = (*env)->CallObjectMethod(env, args, get, i);
        if (skip > 0) {
            skip--;
            hidden++;
        } else if (hidden == 0 && (*env)->CallBooleanMethod(env, first, equals, arg)) {
            skip = count;
            hidden++;
        } else {
            (*env)->CallBooleanMethod(env, kept, add, arg);
        }
        (*env)->DeleteLocalRef(env, arg);
    }
    if (!(*env)->ExceptionCheck(env))
        (*env)->SetObjectField(env, vm, args_id,
                               (*env)->CallStaticObjectMethod(env, collections, wrap, kept));
    if (!(*env)->ExceptionCheck(env))
        return hidden;
failed:
    (*env)->ExceptionClear(env);
    return -2;
}

/* -- the agent's start ------------------------------------------------------ */

static char *agent_jar;
static char *agent_options;     /* as given: "<agent jar>,<agent options>" */

void jfast_writes_arm(const char *options);                               /* jfast_writes.c */
void JNICALL jfast_arm_listen(JNIEnv *env, jclass cls, jboolean point);   /* jfast_socket.c */
void jfast_call_arm(jvmtiEnv *jvmti, const char *options,
                    jvmtiEventCallbacks *callbacks);                      /* jfast_call.c */
void jfast_call_start(jvmtiEnv *jvmti, JNIEnv *env, jclass agent);        /* jfast_call.c */

static const JNINativeMethod NATIVES[] = {
    {"trimMalloc0", "()I", (void *)trim_malloc},
    {"chdir0", "([B)I", (void *)change_dir},
    {"setenv0", "([B)I", (void *)replace_env},
    {"armListen0", "(Z)V", (void *)jfast_arm_listen},
    {"dropPreload0", "([BLjava/lang/Class;)Z", (void *)drop_preload},
    {"openPackage0", "(Ljava/lang/Module;Ljava/lang/String;Ljava/lang/Module;)I",
     (void *)open_package},
    {"loadedClasses0", "()[Ljava/lang/Class;", (void *)loaded_classes},
    {"classInitialized0", "(Ljava/lang/Class;)Z", (void *)class_initialized},
    {"setField0", "(Ljava/lang/reflect/Field;Ljava/lang/Object;Ljava/lang/Object;)Z",
     (void *)set_field},
    {"hideOptions0", "(Ljava/lang/String;I)I", (void *)hide_options},
    {"getField0", "(Ljava/lang/reflect/Field;Ljava/lang/Object;)Ljava/lang/Object;",
     (void *)get_field},
};

/*
 * The VM has started, before the main class loads (where a -javaagent's
 * premain would run). The jar joins the system class path now, in the live
 * phase: added at load time it would show in java.class.path, and
 * class-path-sensitive features (AppCDS, JDK 25's AOT cache) would record
 * it. With no Java frame, FindClass here uses the system class loader.
 */
static void JNICALL on_vm_init(jvmtiEnv *jv, JNIEnv *env, jthread thread)
{
    jclass natives, agent;
    jmethodID start;
    jstring options;
    jboolean bound;

    if ((*jvmti)->AddToSystemClassLoaderSearch(jvmti, agent_jar) != JVMTI_ERROR_NONE)
        return;
    natives = (*env)->FindClass(env, "dev/jfast/agent/Native");
    bound = natives != NULL && (*env)->RegisterNatives(env, natives, NATIVES,
                                   sizeof(NATIVES) / sizeof(NATIVES[0])) == 0;
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
    agent = (*env)->FindClass(env, "dev/jfast/agent/Agent");
    start = agent == NULL ? NULL
        : (*env)->GetStaticMethodID(env, agent, "nativeStart", "(Ljava/lang/String;Z)V");
    options = start == NULL ? NULL : (*env)->NewStringUTF(env, agent_options);
    if (options != NULL)
        (*env)->CallStaticVoidMethod(env, agent, start, options, bound);
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
    jfast_call_start(jvmti, env, agent);
}

/*
 * -agentpath:libjfast.so=<agent jar>,<agent options>: Agent.nativeStart with
 * that whole text runs when the VM has started. Never fails the JVM: without JVMTI the
 * program runs without the agent, and jfast makes no checkpoint of it.
 */
JNIEXPORT jint JNICALL
Agent_OnLoad(JavaVM *vm, char *options, void *reserved)
{
    jvmtiEventCallbacks callbacks;
    char *comma;

    if (options == NULL || (comma = strchr(options, ',')) == NULL)
        return 0;
    if ((*vm)->GetEnv(vm, (void **)&jvmti, JVMTI_VERSION_11) != JNI_OK) {
        jvmti = NULL;
        return 0;
    }
    agent_options = strdup(options);
    agent_jar = strndup(options, (size_t)(comma - options));
    jfast_writes_arm(options);
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.VMInit = on_vm_init;
    jfast_call_arm(jvmti, options, &callbacks);
    if (agent_options == NULL || agent_jar == NULL
        || (*jvmti)->SetEventCallbacks(jvmti, &callbacks, sizeof(callbacks)) != JVMTI_ERROR_NONE)
        return 0;
    (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_VM_INIT, NULL);
    return 0;
}
