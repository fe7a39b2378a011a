package javax.crac;

/**
 * Something that must act before a checkpoint and after a restore, such as
 * closing and reopening a connection. jfast's agent provides this package
 * (the API of a CRaC JDK) so that the {@code org.crac} library finds it.
 */
public interface Resource {

    /** Called before the checkpoint is taken. */
    void beforeCheckpoint(Context<? extends Resource> context) throws Exception;

    /** Called after a restore, and in the run that made the checkpoint once it goes on. */
    void afterRestore(Context<? extends Resource> context) throws Exception;
}
