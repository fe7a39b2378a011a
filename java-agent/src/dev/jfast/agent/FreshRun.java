package dev.jfast.agent;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Makes a restored process see the run that restored it, not the run that
 * made the checkpoint: its environment (Java's cached copy and the C
 * library's), its working directory (the process's own, {@code user.dir}
 * and the copies the JDK's two file systems keep), and fresh randomness.
 *
 * <p>jfast sends {@code restored {"cwd": ..., "env": {...}, "native": ...}};
 * missing parts are left as they are.
 */
final class FreshRun {

    private FreshRun() {
    }

    static void apply(String info) {
        Map<?, ?> m;
        try {
            Object v = Json.parse(info);
            if (!(v instanceof Map)) {
                return;
            }
            m = (Map<?, ?>) v;
        } catch (RuntimeException e) {
            Agent.log("bad restore info: " + e);
            return;
        }
        Object lib = m.get("native");
        if (lib instanceof String) {
            Native.load((String) lib);
        }
        Object env = m.get("env");
        if (env instanceof Map) {
            environment(strings((Map<?, ?>) env));
        }
        Object cwd = m.get("cwd");
        if (cwd instanceof String) {
            workingDirectory((String) cwd);
        }
        Reseed.all();
    }

    private static Map<String, String> strings(Map<?, ?> raw) {
        LinkedHashMap<String, String> out = new LinkedHashMap<String, String>();
        for (Iterator<? extends Map.Entry<?, ?>> it = raw.entrySet().iterator(); it.hasNext();) {
            Map.Entry<?, ?> e = it.next();
            if (e.getKey() instanceof String && e.getValue() instanceof String) {
                out.put((String) e.getKey(), (String) e.getValue());
            }
        }
        return out;
    }

    /** The C environment first: ProcessEnvironment reads it if not yet initialized. */
    @SuppressWarnings("unchecked")
    static void environment(Map<String, String> env) {
        if (Native.loaded()) {
            int rc = Native.setenv(env);
            if (rc != 0) {
                Agent.log("setenv failed: errno " + rc);
            }
        }
        try {
            Class<?> pe = Class.forName("java.lang.ProcessEnvironment");
            Field f = Internals.field(pe, "theEnvironment");
            Class<?> se = Class.forName("java.lang.ProcessEnvironment$StringEnvironment");
            Constructor<?> c = se.getDeclaredConstructor(Map.class);
            c.setAccessible(true);
            // A String view over the JDK's own map, which System.getenv wraps.
            Map<String, String> view = (Map<String, String>) c.newInstance(f.get(null));
            view.clear();
            for (Iterator<Map.Entry<String, String>> it = env.entrySet().iterator(); it.hasNext();) {
                Map.Entry<String, String> e = it.next();
                try {
                    view.put(e.getKey(), e.getValue());
                } catch (IllegalArgumentException bad) {
                    // a name or value java itself could not have seen
                }
            }
        } catch (Throwable t) {
            Agent.log("cannot update System.getenv: " + t);
        }
    }

    static void workingDirectory(String dir) {
        boolean moved = false;
        if (Native.loaded()) {
            int rc = Native.chdir(dir);
            moved = rc == 0;
            if (!moved) {
                Agent.log("chdir " + dir + " failed: errno " + rc);
            }
        }
        System.setProperty("user.dir", dir);
        Internals.putStatic(Internals.field(Internals.bootClass("jdk.internal.util.StaticProperty"),
                "USER_DIR"), dir);
        try {
            // java.io resolves relative Files against its own copy
            Object ioFs = Internals.field(java.io.File.class, "fs").get(null);
            Internals.set(ioFs, "userDir", dir);
        } catch (Throwable t) {
            Agent.log("cannot update java.io's user.dir: " + t);
        }
        try {
            // java.nio too; without a real chdir it must resolve in Java
            Object nioFs = java.nio.file.FileSystems.getDefault();
            Class<?> unixPath = Internals.bootClass("sun.nio.fs.UnixPath");
            Class<?> util = Internals.bootClass("sun.nio.fs.Util");
            Method normalize = unixPath.getDeclaredMethod("normalizeAndCheck", String.class);
            normalize.setAccessible(true);
            Method toBytes = util.getDeclaredMethod("toBytes", String.class);
            toBytes.setAccessible(true);
            Object bytes = toBytes.invoke(null, normalize.invoke(null, dir));
            Internals.set(nioFs, "defaultDirectory", bytes);
            Internals.set(nioFs, "needToResolveAgainstDefaultDirectory", Boolean.valueOf(!moved));
        } catch (Throwable t) {
            Agent.log("cannot update java.nio's user.dir: " + t);
        }
    }
}
