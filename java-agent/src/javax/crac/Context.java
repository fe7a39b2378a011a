package javax.crac;

/** A {@link Resource} that passes the notifications on to resources registered with it. */
public abstract class Context<R extends Resource> implements Resource {

    protected Context() {
    }

    @Override
    public abstract void beforeCheckpoint(Context<? extends Resource> context)
            throws CheckpointException;

    @Override
    public abstract void afterRestore(Context<? extends Resource> context)
            throws RestoreException;

    /** Registers {@code resource}; the context holds it weakly. */
    public abstract void register(R resource);
}
