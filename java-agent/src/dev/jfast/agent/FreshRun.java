package dev.jfast.agent;

import java.io.File;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Makes a restored process see the run that restored it, not the run that
 * made the checkpoint: its environment (Java's cached copy and the C
 * library's), its working directory (the process's own, {@code user.dir}
 * and the copies the JDK's two file systems keep), fresh randomness, and
 * the JVM's start time as java.management reports it.
 *
 * <p>Fail closed (docs/architecture.md): {@link #prepare} finds every
 * internal a restore writes in the cold run and names what it cannot find,
 * and jfast then makes no checkpoint; {@link #apply} checks each update by
 * its effect ({@code new File("x").getAbsolutePath()}, {@code System.getenv()})
 * and names what did not take, and jfast then ends the restored process
 * before it runs on and starts java instead.
 *
 * <p>jfast sends {@code restored {"cwd": ..., "env": {...}, "start_ms": ...}}, the
 * last the restoring run's start, epoch ms.
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
        final Field ioFs = Internals.staticOfType(File.class, "java.io.FileSystem");
        final Field ioUserDir = ioFs == null ? null
                : Internals.instanceField(Internals.get(ioFs, null), "userDir");
        final Method normalize = (Method) declared("sun.nio.fs.UnixPath", "normalizeAndCheck",
                String.class);
        final Method toBytes = (Method) declared("sun.nio.fs.Util", "toBytes", String.class);
        // JDK 14 and later: the built-in file system, which FileSystems.getDefault()
        // returns unless a program installs its own provider. JDK 11: the holder's.
        final Method builtinFs = (Method) declared("sun.nio.fs.DefaultFileSystemProvider",
                "theFileSystem");
        final Class<?> nioHolder = Internals.bootClass(
                "java.nio.file.FileSystems$DefaultFileSystemHolder");
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
     * parses a sample (a restored Jetty's release took 9-10 ms, 4-5 ms of it
     * in reflection's first uses; with this, 5-6 ms). Loads JDK classes only,
     * and initializes none. Returns what a restore could not update on this
     * JDK, or an empty list.
     */
    static List<String> prepare() {
        List<String> missing = new ArrayList<String>();
        if (!Native.loaded()) {
            missing.add("native-helper");
        }
        Handles h = handles();
        strings((Map<?, ?>) Json.parse("{\"cwd\": \"/\", \"env\": {\"A\": \"b\"}}"));
        need(missing, "ProcessEnvironment.theEnvironment", h.theEnvironment);
        need(missing, "ProcessEnvironment$StringEnvironment", h.stringEnvironment);
        need(missing, "StaticProperty.USER_DIR", h.staticUserDir);
        need(missing, "File's FileSystem", h.ioFs);
        need(missing, "java.io userDir", h.ioUserDir);
        need(missing, "sun.nio.fs.UnixPath.normalizeAndCheck", h.normalize);
        need(missing, "sun.nio.fs.Util.toBytes", h.toBytes);
        if (h.builtinFs == null && h.nioHolder == null) {
            missing.add("java.nio's default file system");
        }
        // Reflection makes a field's or method's accessor on its first use:
        // read each field once and run the pure methods.
        try {
            Internals.get(h.staticUserDir, null);
            Internals.get(h.ioUserDir, Internals.get(h.ioFs, null));
            h.toBytes.invoke(null, h.normalize.invoke(null, "/"));
            Object nioFs = nioFs(h);
            if (nioFs != null) {
                String[] names = {"defaultDirectory", "needToResolveAgainstDefaultDirectory"};
                for (int i = 0; i < names.length; i++) {
                    need(missing, "java.nio " + names[i],
                            Internals.instanceField(nioFs, names[i]));
                    Internals.get(Internals.instanceField(nioFs, names[i]), nioFs);
                }
            }
        } catch (Throwable t) {
            missing.add("working-directory handles (" + t + ")");
        }
        missing.addAll(Reseed.prepare());
        if (!EnvReads.installed()) {
            missing.add("the environment variables it reads");
        }
        String clock = StartTime.prepare();
        if (clock != null) {
            missing.add(clock);
        }
        return missing;
    }

    private static void need(List<String> missing, String what, Object handle) {
        if (handle == null) {
            missing.add(what);
        }
    }

    /**
     * Applies the restoring run's state from {@code info} and checks each
     * part by its effect; returns what did not take (empty when all did).
     */
    static List<String> apply(String info) {
        List<String> failed = new ArrayList<String>();
        Map<?, ?> m = null;
        try {
            Object v = Json.parse(info);
            if (v instanceof Map) {
                m = (Map<?, ?>) v;
            }
        } catch (RuntimeException e) {
            Agent.log("bad restore info: " + e);
        }
        Object env = m == null ? null : m.get("env");
        Object cwd = m == null ? null : m.get("cwd");
        if (!(env instanceof Map) || !(cwd instanceof String)) {
            failed.add("restore info");
            return failed;
        }
        environment(strings((Map<?, ?>) env), failed);
        workingDirectory((String) cwd, failed);
        failed.addAll(Reseed.all());
        Object started = m.get("start_ms");
        try {
            if (!StartTime.apply(Long.parseLong(String.valueOf(started)))) {
                failed.add("RuntimeMXBean's start time");
            }
        } catch (NumberFormatException e) {
            failed.add("restore info's start_ms");
        }
        return failed;
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
    static void environment(Map<String, String> env, List<String> failed) {
        int rc = Native.setenv(env);
        if (rc != 0) {
            Agent.log("setenv failed: errno " + rc);
            failed.add("C environment");
        }
        Handles h = handles();
        Map<String, String> wanted = new LinkedHashMap<String, String>();
        try {
            // A String view over the JDK's own map, which System.getenv wraps.
            Map<String, String> view = (Map<String, String>) h.stringEnvironment.newInstance(
                    h.theEnvironment.get(null));
            view.clear();
            for (Iterator<Map.Entry<String, String>> it = env.entrySet().iterator(); it.hasNext();) {
                Map.Entry<String, String> e = it.next();
                try {
                    view.put(e.getKey(), e.getValue());
                    wanted.put(e.getKey(), e.getValue());
                } catch (IllegalArgumentException bad) {
                    // a name or value java itself could not have seen
                }
            }
        } catch (Throwable t) {
            Agent.log("cannot update System.getenv: " + t);
        }
        if (!System.getenv().equals(wanted)) {
            failed.add("System.getenv");
        }
    }

    static void workingDirectory(String dir, List<String> failed) {
        int rc = Native.chdir(dir);
        if (rc != 0) {
            Agent.log("chdir " + dir + " failed: errno " + rc);
            failed.add("chdir");
        }
        System.setProperty("user.dir", dir);
        Handles h = handles();
        Internals.put(h.staticUserDir, null, dir);
        Object ioFs = Internals.get(h.ioFs, null);
        Internals.put(h.ioUserDir, ioFs, dir);
        // java.nio too. One not made yet reads user.dir when it is: making it
        // here would also pass over a provider the program installs later.
        Object nioFs = nioFs(h);
        try {
            if (nioFs != null) {
                Object bytes = h.toBytes.invoke(null, h.normalize.invoke(null, dir));
                Internals.instanceField(nioFs, "defaultDirectory").set(nioFs, bytes);
                Internals.instanceField(nioFs, "needToResolveAgainstDefaultDirectory")
                        .setBoolean(nioFs, false);
            }
        } catch (Throwable t) {
            Agent.log("cannot update java.nio's user.dir: " + t);
        }
        // Checked by effect, as the program would see it.
        String probe = "jfast-probe";
        String expected = (dir.endsWith("/") ? dir : dir + "/") + probe;
        if (!dir.equals(System.getProperty("user.dir"))
                || !dir.equals(Internals.get(h.staticUserDir, null))) {
            failed.add("user.dir");
        }
        if (!expected.equals(new File(probe).getAbsolutePath())) {
            failed.add("java.io working directory");
        }
        if (nioFs != null && !expected.equals(((java.nio.file.FileSystem) nioFs).getPath(probe)
                .toAbsolutePath().toString())) {
            failed.add("java.nio working directory");
        }
    }

    /** java.nio's built-in file system where it exists already, else null. */
    private static Object nioFs(Handles h) {
        try {
            if (h.builtinFs != null) {
                return Internals.initialized(h.builtinFs.getDeclaringClass())
                        ? h.builtinFs.invoke(null) : null;
            }
            return Internals.initialized(h.nioHolder) ? java.nio.file.FileSystems.getDefault()
                    : null;
        } catch (Throwable t) {
            Agent.log("cannot reach java.nio's file system: " + t);
            return null;
        }
    }
}
