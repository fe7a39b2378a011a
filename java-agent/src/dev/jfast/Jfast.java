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
 * program may bundle its own copy of it (in any class loader), and it still
 * finds the agent: the system property {@value #HOOK_PROPERTY} names the
 * agent class, whose {@code explicitReady()} it calls through the system
 * class loader.
 */
public final class Jfast {

    /** The system property naming the jfast agent class, set by the agent. */
    public static final String HOOK_PROPERTY = "dev.jfast.ready";

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

    /** The agent's ready method, found by name so that a copy of this class
     *  bundled in any class loader reaches the one agent in the JVM. */
    private static Method hook() {
        try {
            String agent = System.getProperty(HOOK_PROPERTY);
            if (agent == null) {
                return null;
            }
            Class<?> c = Class.forName(agent, true, ClassLoader.getSystemClassLoader());
            return c.getMethod("explicitReady");
        } catch (ReflectiveOperationException | SecurityException | LinkageError e) {
            return null;
        }
    }
}
