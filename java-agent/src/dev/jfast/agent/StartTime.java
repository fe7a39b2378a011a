package dev.jfast.agent;

import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * The JVM's start time as the program reads it (RuntimeMXBean.getStartTime
 * and getUptime): in a restored process, the start of the run that restored
 * it, as under java, not the checkpoint's. java.management asks the VM
 * through a VMManagementImpl that ManagementFactoryHelper keeps (and each
 * RuntimeImpl copies, with the start time it read); in the cold run this
 * puts a subclass of it there (sun.management.JfastVMManagement, in
 * java-agent/jdk), which answers like its parent until a restore gives it a
 * start time. A modular program without java.management cannot ask, and has
 * nothing to update.
 */
final class StartTime {

    private static final String HELPER = "sun.management.ManagementFactoryHelper";

    /** JfastVMManagement.start; null when nothing needs an update. */
    private static Field start;
    private static Method runtimeBean;

    private StartTime() {
    }

    /** In the cold run (FreshRun.prepare): installs the subclass; what is missing. */
    static String prepare() {
        Class<?> helper = Internals.bootClass(HELPER);
        if (helper == null) {
            return null;
        }
        try {
            // initialized already when the agent hid its options (Native.hideOptions)
            Class.forName(HELPER, true, null);
            if (!Native.openPackage(helper.getModule(), "sun.management",
                    StartTime.class.getModule())) {
                return "sun.management";
            }
            Field jvm = Internals.field(helper, "jvm");
            Object old = Internals.get(jvm, null);
            byte[] bytes;
            InputStream in = StartTime.class.getResourceAsStream("JfastVMManagement.bin");
            try {
                bytes = in.readAllBytes();
            } finally {
                in.close();
            }
            Class<?> mine = MethodHandles.privateLookupIn(old.getClass(), MethodHandles.lookup())
                    .defineClass(bytes);
            Constructor<?> make = mine.getDeclaredConstructor();
            make.setAccessible(true);
            Object fresh = make.newInstance();
            // the option list the agent filtered (Native.hideOptions) goes along
            Field args = Internals.field(old.getClass(), "vmArgs");
            Internals.put(args, fresh, Internals.get(args, old));
            Object bean = Internals.get(Internals.field(helper, "runtimeMBean"), null);
            if (!Internals.put(jvm, null, fresh) || (bean != null
                    && !Internals.put(Internals.field(bean.getClass(), "jvm"), bean, fresh))) {
                return "ManagementFactoryHelper.jvm";
            }
            runtimeBean = helper.getDeclaredMethod("getRuntimeMXBean");
            runtimeBean.setAccessible(true);
            start = Internals.field(mine, "start");
            return start == null ? "JfastVMManagement.start" : null;
        } catch (Throwable t) {
            return "java.management's start time (" + t + ")";
        }
    }

    /** After a restore: the program's JVM started at {@code ms}; false if that did not take. */
    static boolean apply(long ms) {
        if (start == null) {
            return true;
        }
        try {
            start.setLong(null, ms);
            Object bean = runtimeBean.invoke(null);
            // RuntimeImpl keeps the start time it read when it was made
            Internals.field(bean.getClass(), "vmStartupTime").setLong(bean, ms);
            return ((java.lang.management.RuntimeMXBean) bean).getStartTime() == ms;
        } catch (Throwable t) {
            Agent.log("cannot set the start time: " + t);
            return false;
        }
    }
}
