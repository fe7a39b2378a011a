package javax.crac;

import java.lang.ref.WeakReference;
import java.util.ArrayList;

/**
 * The global context: {@code beforeCheckpoint} reaches resources in the
 * reverse order of their registration, {@code afterRestore} in the order of
 * registration. A resource that throws does not stop the others; every
 * exception ends up suppressed in the one exception thrown at the end.
 * Resources are held weakly, so registering one does not keep it alive.
 */
final class GlobalContext extends Context<Resource> {

    private final ArrayList<WeakReference<Resource>> resources = new ArrayList<WeakReference<Resource>>();

    @Override
    public void register(Resource resource) {
        if (resource == null) {
            throw new NullPointerException("resource");
        }
        synchronized (resources) {
            resources.add(new WeakReference<Resource>(resource));
        }
    }

    /** The live resources in registration order; collected ones are dropped. */
    private Resource[] live() {
        synchronized (resources) {
            ArrayList<Resource> out = new ArrayList<Resource>(resources.size());
            for (int i = 0; i < resources.size(); i++) {
                Resource r = resources.get(i).get();
                if (r == null) {
                    resources.remove(i--);
                } else {
                    out.add(r);
                }
            }
            return out.toArray(new Resource[out.size()]);
        }
    }

    @Override
    public void beforeCheckpoint(Context<? extends Resource> context) throws CheckpointException {
        Resource[] all = live();
        CheckpointException failure = null;
        for (int i = all.length - 1; i >= 0; i--) {
            try {
                all[i].beforeCheckpoint(this);
            } catch (Exception e) {
                if (failure == null) {
                    failure = new CheckpointException();
                }
                failure.addSuppressed(e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void afterRestore(Context<? extends Resource> context) throws RestoreException {
        Resource[] all = live();
        RestoreException failure = null;
        for (int i = 0; i < all.length; i++) {
            try {
                all[i].afterRestore(this);
            } catch (Exception e) {
                if (failure == null) {
                    failure = new RestoreException();
                }
                failure.addSuppressed(e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
