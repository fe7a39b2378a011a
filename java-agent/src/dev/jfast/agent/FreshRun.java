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

    /**
     * The JDK internals apply writes to, looked up once: in the run that
     * makes the checkpoint ({@link #prepare}), as reflection costs most on
     * first use. Missing parts are null.
     */
    private static final class Handles {
        final Field theEnvironment = Internals.field(
                Internals.bootClass("java.lang.ProcessEnvironment"), "theEnvironment");
        final Constructor<?> stringEnvironment = (Constructor<?>) declared(
                "java.lang.ProcessEnvironment$StringEnvironment", null, Map.class);
        final Field staticUserDir = Internals.field(
                Internals.bootClass("jdk.internal.util.StaticProperty"), "USER_DIR");
        final Field ioFs = Internals.field(java.io.File.class, "fs");
        final Method normalize = (Method) declared("sun.nio.fs.UnixPath", "normalizeAndCheck",
                String.class);
        final Method toBytes = (Method) declared("sun.nio.fs.Util", "toBytes", String.class);
        // JDK 14 and later: the built-in file system, which FileSystems.getDefault()
        // returns unless a program installs its own provider.
        final Method builtinFs = (Method) declared("sun.nio.fs.DefaultFileSystemProvider",
                "theFileSystem");
    }

    private static Handles handles;

    private static synchronized Handles handles() {
        if (handles == null) {
            handles = new Handles();
        }
        return handles;
    }

    /** A constructor (name null) or method of a boot class, accessible, or null. */
    private static java.lang.reflect.Executable declared(String cls, String name,
            Class<?>... params) {
        Class<?> c = Internals.bootClass(cls);
        if (c == null) {
            return null;
        }
        try {
            java.lang.reflect.Executable e = name == null ? c.getDeclaredConstructor(params)
                    : c.getDeclaredMethod(name, params);
            e.setAccessible(true);
            return e;
        } catch (Throwable t) {
            return null;
        }
    }

    /**
     * In the run that makes the checkpoint, once the JDK's packages are open:
     * looks up and uses once, reading only, what {@link #apply} writes, and
     * parses a sample. A restored Jetty's release took 9-10 ms, 4-5 ms of it
     * in reflection's first uses; with this, 5-6 ms. Loads JDK classes only,
     * and initializes none.
     */
    static void prepare() {
        Handles h = handles();
        strings((Map<?, ?>) Json.parse("{\"cwd\": \"/\", \"env\": {\"A\": \"b\"}}"));
        // Reflection makes a field's or method's accessor on its first use:
        // read each field once and run the pure methods.
        try {
            Internals.get(h.staticUserDir, null);
            Object ioFs = Internals.get(h.ioFs, null);
            Internals.get(Internals.instanceField(ioFs, "userDir"), ioFs);
            h.toBytes.invoke(null, h.normalize.invoke(null, "/"));
            if (h.builtinFs != null && Internals.initialized(h.builtinFs.getDeclaringClass())) {
                Object nioFs = h.builtinFs.invoke(null);
                String[] names = {"defaultDirectory", "needToResolveAgainstDefaultDirectory"};
                for (int i = 0; i < names.length; i++) {
                    Internals.get(Internals.instanceField(nioFs, names[i]), nioFs);
                }
            }
        } catch (Throwable t) {
            Agent.log("cannot prepare for a restore: " + t);
        }
        Reseed.prepare();
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
        Handles h = handles();
        try {
            // A String view over the JDK's own map, which System.getenv wraps.
            Map<String, String> view = (Map<String, String>) h.stringEnvironment.newInstance(
                    h.theEnvironment.get(null));
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
        Handles h = handles();
        Internals.putStatic(h.staticUserDir, dir);
        try {
            // java.io resolves relative Files against its own copy
            Internals.set(h.ioFs.get(null), "userDir", dir);
        } catch (Throwable t) {
            Agent.log("cannot update java.io's user.dir: " + t);
        }
        try {
            // java.nio too; without a real chdir it must resolve in Java. One
            // not made yet reads user.dir when it is: making it here would
            // also pass over a provider the program installs later.
            Object nioFs = null;
            if (h.builtinFs != null) {
                if (Internals.initialized(h.builtinFs.getDeclaringClass())) {
                    nioFs = h.builtinFs.invoke(null);
                }
            } else if (Internals.initialized(
                    Internals.bootClass("java.nio.file.FileSystems$DefaultFileSystemHolder"))) {
                nioFs = java.nio.file.FileSystems.getDefault();
            }
            if (nioFs != null) {
                Object bytes = h.toBytes.invoke(null, h.normalize.invoke(null, dir));
                Internals.set(nioFs, "defaultDirectory", bytes);
                Internals.set(nioFs, "needToResolveAgainstDefaultDirectory",
                        Boolean.valueOf(!moved));
            }
        } catch (Throwable t) {
            Agent.log("cannot update java.nio's user.dir: " + t);
        }
    }
}
