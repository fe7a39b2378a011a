package sun.management;

/**
 * java.management's view of the JVM, with the start time of the run that
 * restored this process: without it, RuntimeMXBean.getStartTime() would be
 * the checkpoint's (perhaps days ago) and getUptime() would count from it.
 * The jfast agent (dev.jfast.agent.StartTime) defines this class into
 * java.management at run time and puts an instance where
 * ManagementFactoryHelper keeps its VMManagementImpl; it is compiled against
 * that module by jfast/java/agentfiles.py, and kept in the agent jar as a resource.
 */
final class JfastVMManagement extends VMManagementImpl {

    /** The restoring run's start, epoch ms; -1 in the run that made the checkpoint. */
    static volatile long start = -1;

    @Override
    public long getStartupTime() {
        long s = start;
        return s < 0 ? super.getStartupTime() : s;
    }

    @Override
    public long getUptime() {
        long s = start;
        return s < 0 ? super.getUptime() : System.currentTimeMillis() - s;
    }
}
