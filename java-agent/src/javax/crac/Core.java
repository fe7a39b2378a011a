package javax.crac;

import java.lang.reflect.Method;

/**
 * The entry points of the API. {@link #checkpointRestore()} is jfast's
 * explicit ready point: resources get {@code beforeCheckpoint}, jfast takes
 * the checkpoint (on a first run), and resources get {@code afterRestore},
 * both in a restored run and in the run that made the checkpoint, which
 * goes on as well.
 */
public final class Core {

    private static final GlobalContext GLOBAL = new GlobalContext();

    private Core() {
    }

    public static Context<Resource> getGlobalContext() {
        return GLOBAL;
    }

    public static void checkpointRestore() throws CheckpointException, RestoreException {
        CheckpointException failed = null;
        try {
            GLOBAL.beforeCheckpoint(null);
        } catch (CheckpointException e) {
            failed = e;
        }
        if (failed == null) {
            try {
                readyPoint();
            } catch (Throwable t) {
                failed = new CheckpointException();
                failed.addSuppressed(t);
            }
        }
        // afterRestore is owed even when the checkpoint did not happen
        try {
            GLOBAL.afterRestore(null);
        } catch (RestoreException e) {
            if (failed == null) {
                throw e;
            }
            for (Throwable t : e.getSuppressed()) {
                failed.addSuppressed(t);
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    /** The agent's explicit ready point, found by name on the system class path. */
    private static void readyPoint() throws Exception {
        Class<?> c = Class.forName("dev.jfast.agent.Agent", true,
                ClassLoader.getSystemClassLoader());
        if (!Boolean.TRUE.equals(c.getMethod("active").invoke(null))) {
            throw new UnsupportedOperationException("the jfast agent is not active");
        }
        c.getMethod("explicitReady").invoke(null);
    }
}
