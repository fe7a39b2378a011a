package dev.jfast.agent;

import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * The agent's small native library (java-agent/native/jfast_native.c), which
 * started this agent as a JVMTI agent and bound these methods itself
 * (RegisterNatives: no System.load, so no JEP 472 warning on JDK 24+):
 * chdir and a replacement of the C environment, which Java cannot do; class
 * status and final-field writes for the JDK internals a restore updates; the
 * socket ready point; opening JDK packages and listing loaded classes.
 */
final class Native {

    private static volatile boolean bound;

    private Native() {
    }

    /** Called once by the agent's start: whether the library bound our methods. */
    static void bound(boolean yes) {
        bound = yes;
    }

    static boolean loaded() {
        return bound;
    }

    /** chdir(2); 0 or an errno value. */
    static int chdir(String dir) {
        return chdir0(cString(dir));
    }

    /** Makes the C environment exactly {@code env}; 0 or an errno value. */
    static int setenv(Map<String, String> env) {
        StringBuilder b = new StringBuilder();
        for (Iterator<Map.Entry<String, String>> it = env.entrySet().iterator(); it.hasNext();) {
            Map.Entry<String, String> e = it.next();
            b.append(e.getKey()).append('=').append(e.getValue()).append('\0');
        }
        return setenv0(b.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] cString(String s) {
        byte[] raw = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[raw.length + 1];
        System.arraycopy(raw, 0, out, 0, raw.length);
        return out;
    }

    /**
     * TCP listen(2) calls from now on are watched: one on a port the kernel
     * chose calls {@link #kernelPortListen}; with {@code point}, the first
     * wait for a connection on another one calls {@link #beforeWait} first
     * (jfast_socket.c).
     */
    static void armListen(boolean point) {
        armListen0(point);
    }

    /** Called by the native accept, poll or epoll_wait, on the thread about
     * to wait for the program's first connection. */
    private static void beforeWait() {
        Agent.socketReady();
    }

    /** Called by the native listen(2) on a port the kernel chose (-1: not yet). */
    private static void kernelPortListen(int port) {
        Agent.kernelPort(port);
    }

    /** Opens {@code pkg} of {@code from} to {@code to} (JVMTI); false if it cannot. */
    static boolean openPackage(Module from, String pkg, Module to) {
        return bound && openPackage0(from, pkg, to) == 0;
    }

    /**
     * Takes {@code lib} off the front of LD_PRELOAD in the C environment.
     * True when Java had not yet copied that environment (System.getenv reads
     * it once, on first use), so Java's view needs no change either.
     */
    static boolean dropPreload(String lib) {
        return dropPreload0(cString(lib), Internals.bootClass("java.lang.ProcessEnvironment"));
    }

    /** glibc's malloc_trim(0): 1 released memory, 0 none, -1 no such call. */
    static int trimMalloc() {
        return trimMalloc0();
    }

    /** Every loaded class (JVMTI), or null. */
    static Class<?>[] loadedClasses() {
        return loadedClasses0();
    }

    /** Whether {@code c}'s static initializer has run (JVMTI). */
    static boolean initialized(Class<?> c) {
        return bound && c != null && classInitialized0(c);
    }

    /** Reference field {@code f} of {@code target} (static: null), read through JNI. */
    static Object getField(Field f, Object target) {
        return bound && f != null ? getField0(f, target) : null;
    }

    /** Sets reference field {@code f} of {@code target} (static: null), final or not. */
    static boolean setField(Field f, Object target, Object value) {
        return bound && f != null && setField0(f, target, value);
    }

    /**
     * Takes {@code first} and the {@code count} options after it out of the
     * program's RuntimeMXBean.getInputArguments(); how many, or a negative
     * number when it could not.
     */
    static int hideOptions(String first, int count) {
        return bound ? hideOptions0(first, count) : -1;
    }

    private static native int openPackage0(Module from, String pkg, Module to);

    private static native Class<?>[] loadedClasses0();

    private static native void armListen0(boolean point);

    private static native int trimMalloc0();

    private static native boolean dropPreload0(byte[] lib, Class<?> processEnv);

    private static native int chdir0(byte[] path);

    private static native int setenv0(byte[] block);

    private static native boolean classInitialized0(Class<?> c);

    private static native boolean setField0(Field f, Object target, Object value);

    private static native Object getField0(Field f, Object target);

    private static native int hideOptions0(String first, int count);
}
