package dev.jfast;

import java.lang.reflect.Method;

/**
 * The jfast program API: one call that tells jfast "this program is warm".
 *
 * <p>Call {@link #ready()} once the program has done its expensive start-up
 * work (classes loaded, caches built, code warmed up) and <em>before</em> it
 * reads its input or does any side effect (writes files, opens sockets, prints
 * results). On the first run under jfast, jfast checkpoints the process inside
 * this call and then lets it continue. On later runs the checkpoint is
 * restored, and the program resumes from the return of this call, with
 * everything it computed before the call already in memory. Anything the
 * program reads after the call (arguments passed some other way, files,
 * stdin, the clock) is read fresh on every run.
 *
 * <p>Not running under jfast, both methods return immediately and cost
 * nothing, so a program can call {@code ready()} unconditionally.
 *
 * <p>This class deliberately depends on nothing but {@code java.base}: a
 * program may bundle its own copy of it (in any class loader, or in a named
 * module), and it still finds the agent, which jfast puts on the system
 * class path, by name. jfast sets no system property for it: the program
 * sees the properties java would give it.
 */
public final class Jfast {

    /** The agent's class, on the system class path of a JVM that jfast started. */
    static final String AGENT = "dev.jfast.agent.Agent";

    /** The agent's ready method, or null when this JVM has no active agent. */
    private static volatile Method hook;
    private static volatile boolean searched;

    private Jfast() {
    }

    /**
     * Marks the program as warm. Under jfast, the first run is checkpointed
     * inside this call and restored runs resume from its return; otherwise it
     * returns at once. Safe to call from any thread and more than once: only
     * the first call in a process can lead to a checkpoint.
     */
    public static void ready() {
        Method m = hook();
        if (m != null) {
            try {
                m.invoke(null);
            } catch (ReflectiveOperationException e) {
                // Not under a working jfast agent: nothing to do.
            }
        }
    }

    /**
     * Returns true when the program runs under jfast (its agent is loaded),
     * false otherwise.
     */
    public static boolean active() {
        return hook() != null;
    }

    /** The agent's ready method, found by name once, so that a copy of this
     *  class bundled in any class loader reaches the one agent in the JVM. */
    private static Method hook() {
        if (!searched) {
            try {
                Class<?> c = Class.forName(AGENT, true, ClassLoader.getSystemClassLoader());
                if (Boolean.TRUE.equals(c.getMethod("active").invoke(null))) {
                    hook = c.getMethod("explicitReady");
                }
            } catch (ReflectiveOperationException | SecurityException | LinkageError e) {
                // not under jfast
            }
            searched = true;
        }
        return hook;
    }
}
