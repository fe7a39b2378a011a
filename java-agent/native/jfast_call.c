/*
 * The ready point `call:CLASS.METHOD` (docs/architecture.md, "Ready
 * points"): the first call of a method the user names, so that a program
 * gets a late ready point without a change to its code. JVMTI breakpoints
 * at the start of every method of that name in every class of that name,
 * set as each such class is prepared; the first thread to reach one clears
 * them all and calls Agent.callReady, which stops it as Jfast.ready()
 * would. A restored program resumes in that call and runs the method.
 *
 * Armed only when the agent's options hold ready=call:...: the breakpoint
 * capability and the class-prepare events cost the other modes nothing.
 */
#include <jni.h>
#include <jvmti.h>
#include <stdio.h>
#include <string.h>

#define MAX_BREAKPOINTS 64
#define ACC_NATIVE 0x0100
#define ACC_ABSTRACT 0x0400

static char class_signature[1024];      /* "Lpkg/Name;" */
static char method_name[256];
static jclass agent_class;              /* a global reference, from the VM's start */
static jmethodID call_ready;
static jrawMonitorID lock;
static jmethodID set[MAX_BREAKPOINTS];  /* breakpoints set; guarded by lock */
static int set_count;
static int reached;                     /* the first call came; guarded by lock */

/* The point in the agent's options ("...,ready=call:a.b.C.m,..."), as a
 * class signature and a method name; 0 when there is none or it is bad. */
static int parse(const char *options)
{
    const char *p = strstr(options, ",ready=call:"), *dot;
    size_t n, i;
    if (p == NULL)
        return 0;
    p += strlen(",ready=call:");
    n = strcspn(p, ",");
    for (dot = p + n; dot > p && dot[-1] != '.'; dot--)
        ;
    if (dot == p || dot - 1 == p || (size_t)(p + n - dot) >= sizeof(method_name)
        || (size_t)(dot - p) + 2 >= sizeof(class_signature))
        return 0;
    class_signature[0] = 'L';
    for (i = 0; i < (size_t)(dot - 1 - p); i++)
        class_signature[i + 1] = p[i] == '.' ? '/' : p[i];
    class_signature[i + 1] = ';';
    class_signature[i + 2] = '\0';
    memcpy(method_name, dot, (size_t)(p + n - dot));
    method_name[p + n - dot] = '\0';
    return method_name[0] != '\0';
}

/* Breakpoints on every method of `klass` that has the name and bytecode. */
static void set_breakpoints(jvmtiEnv *jvmti, jclass klass)
{
    jint count, i, modifiers;
    jmethodID *methods;
    char *name;

    if ((*jvmti)->GetClassMethods(jvmti, klass, &count, &methods) != JVMTI_ERROR_NONE)
        return;
    (*jvmti)->RawMonitorEnter(jvmti, lock);
    for (i = 0; i < count && !reached && set_count < MAX_BREAKPOINTS; i++) {
        if ((*jvmti)->GetMethodName(jvmti, methods[i], &name, NULL, NULL) != JVMTI_ERROR_NONE)
            continue;
        if (strcmp(name, method_name) == 0
            && (*jvmti)->GetMethodModifiers(jvmti, methods[i], &modifiers) == JVMTI_ERROR_NONE
            && !(modifiers & (ACC_NATIVE | ACC_ABSTRACT))
            && (*jvmti)->SetBreakpoint(jvmti, methods[i], 0) == JVMTI_ERROR_NONE)
            set[set_count++] = methods[i];
        (*jvmti)->Deallocate(jvmti, (unsigned char *)name);
    }
    (*jvmti)->RawMonitorExit(jvmti, lock);
    (*jvmti)->Deallocate(jvmti, (unsigned char *)methods);
}

static void JNICALL on_class_prepare(jvmtiEnv *jvmti, JNIEnv *env, jthread thread,
                                     jclass klass)
{
    char *signature;
    if ((*jvmti)->GetClassSignature(jvmti, klass, &signature, NULL) != JVMTI_ERROR_NONE)
        return;
    if (strcmp(signature, class_signature) == 0)
        set_breakpoints(jvmti, klass);
    (*jvmti)->Deallocate(jvmti, (unsigned char *)signature);
}

static void JNICALL on_breakpoint(jvmtiEnv *jvmti, JNIEnv *env, jthread thread,
                                  jmethodID method, jlocation location)
{
    int i;
    (*jvmti)->RawMonitorEnter(jvmti, lock);
    if (!reached) {
        reached = 1;
        for (i = 0; i < set_count; i++)
            (*jvmti)->ClearBreakpoint(jvmti, set[i], 0);
        (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_DISABLE, JVMTI_EVENT_CLASS_PREPARE, NULL);
    }
    (*jvmti)->RawMonitorExit(jvmti, lock);
    /* Every thread that got here waits for the one release, as at Jfast.ready(). */
    if (agent_class != NULL && call_ready != NULL) {
        (*env)->CallStaticVoidMethod(env, agent_class, call_ready);
        if ((*env)->ExceptionCheck(env))
            (*env)->ExceptionClear(env);
    }
}

/* From Agent_OnLoad: the capability and callbacks a call point needs, when
 * the options name one. */
void jfast_call_arm(jvmtiEnv *jvmti, const char *options, jvmtiEventCallbacks *callbacks)
{
    jvmtiCapabilities caps;
    if (!parse(options))
        return;
    memset(&caps, 0, sizeof(caps));
    caps.can_generate_breakpoint_events = 1;
    if ((*jvmti)->AddCapabilities(jvmti, &caps) != JVMTI_ERROR_NONE
        || (*jvmti)->CreateRawMonitor(jvmti, "jfast call point", &lock) != JVMTI_ERROR_NONE) {
        method_name[0] = '\0';
        return;
    }
    callbacks->ClassPrepare = on_class_prepare;
    callbacks->Breakpoint = on_breakpoint;
}

/* From the VM's start, once the agent's class is there: the breakpoints on
 * the classes already prepared, and events for those to come. */
void jfast_call_start(jvmtiEnv *jvmti, JNIEnv *env, jclass agent)
{
    jint count, i, status;
    jclass *classes;

    if (method_name[0] == '\0' || agent == NULL)
        return;
    agent_class = (*env)->NewGlobalRef(env, agent);
    call_ready = (*env)->GetStaticMethodID(env, agent, "callReady", "()V");
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
    if (agent_class == NULL || call_ready == NULL)
        return;
    (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_BREAKPOINT, NULL);
    (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_CLASS_PREPARE, NULL);
    if ((*jvmti)->GetLoadedClasses(jvmti, &count, &classes) != JVMTI_ERROR_NONE)
        return;
    for (i = 0; i < count; i++) {
        if ((*jvmti)->GetClassStatus(jvmti, classes[i], &status) == JVMTI_ERROR_NONE
            && (status & JVMTI_CLASS_STATUS_PREPARED))
            on_class_prepare(jvmti, env, NULL, classes[i]);
        (*env)->DeleteLocalRef(env, classes[i]);
    }
    (*jvmti)->Deallocate(jvmti, (unsigned char *)classes);
}
