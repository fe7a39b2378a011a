/*
 * The two things a restored JVM must do that Java has no API for: move the
 * process to the caller's working directory, and replace the C library's
 * environment (what native code reads with getenv). Called by the agent
 * (dev.jfast.agent.Native) on the control thread, right after a restore.
 */
#include <jni.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
