package dev.jfast.agent;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reflective access to the JDK internals a restored process must update
 * (cached environment, working directory, random generator state). The
 * agent opens the packages it needs to itself, once, in the cold run, through
 * JVMTI (Native). Class status and final-field writes go through JVMTI and
 * JNI too: no sun.misc.Unsafe, whose methods JDK 25 removes and which a
 * modular program (-m) may not even have in its module graph. Accessors
 * return null or false instead of throwing; what a restore must not miss is
 * checked by FreshRun and Reseed, which make the cold run refuse a
 * checkpoint when it is missing (docs/architecture.md, "Fail closed").
 */
final class Internals {

    private static final String[] PACKAGES = {
        "java.lang", "java.io", "java.util", "java.util.concurrent", "java.security",
        "jdk.internal.util", "sun.nio.fs", "sun.security.provider", "sun.security.jca",
    };

    private Internals() {
    }

    private static boolean opened;

    /**
     * Opens the java.base packages above to the agent's module, once. It
     * costs some 11 ms (the JDK's first lambda, in Module), so the control
     * thread does it while the program starts, before any checkpoint.
     */
    static synchronized void open() {
        if (opened) {
            return;
        }
        opened = true;
        try {
            Module base = Object.class.getModule();
            Module me = Internals.class.getModule();
            Set<String> present = base.getPackages();
            for (int i = 0; i < PACKAGES.length; i++) {
                if (present.contains(PACKAGES[i]) && !Native.openPackage(base, PACKAGES[i], me)) {
                    Agent.log("cannot open " + PACKAGES[i]);
                }
            }
        } catch (Throwable t) {
            Agent.log("cannot open JDK internals: " + t);
        }
    }

    /** A boot class by name, loaded but not initialized, or null. */
    static Class<?> bootClass(String name) {
        try {
            return Class.forName(name, false, null);
        } catch (Throwable t) {
            return null;
        }
    }

    /** A declared field made accessible, or null. */
    static Field field(Class<?> c, String name) {
        Field f = find(c, name);
        if (f == null && c != null) {
            Agent.log("no field " + c.getName() + "." + name);
        }
        return f;
    }

    /**
     * The one static field of {@code c} whose type is {@code type}, made
     * accessible, or null when there is none or more than one: found by what
     * it holds, not by a name that changes between JDKs (java.io.File's
     * file system is {@code fs} up to 17, {@code FS} from 21).
     */
    static Field staticOfType(Class<?> c, String type) {
        if (c == null) {
            return null;
        }
        Field found = null;
        try {
            Field[] all = c.getDeclaredFields();
            for (int i = 0; i < all.length; i++) {
                if (Modifier.isStatic(all[i].getModifiers())
                        && all[i].getType().getName().equals(type)) {
                    if (found != null) {
                        return null;
                    }
                    found = all[i];
                }
            }
            if (found != null) {
                found.setAccessible(true);
            }
        } catch (Throwable t) {
            Agent.log("no static " + type + " in " + c.getName() + ": " + t);
            return null;
        }
        return found;
    }

    /** Fields found so far, by class and name: see FreshRun.prepare. */
    private static final Map<Class<?>, Map<String, Field>> FOUND =
            new IdentityHashMap<Class<?>, Map<String, Field>>();

    private static Field find(Class<?> c, String name) {
        if (c == null) {
            return null;
        }
        synchronized (FOUND) {
            Map<String, Field> known = FOUND.get(c);
            if (known == null) {
                known = new HashMap<String, Field>();
                FOUND.put(c, known);
            }
            Field f = known.get(name);
            if (f == null) {
                try {
                    f = c.getDeclaredField(name);
                    f.setAccessible(true);
                } catch (Throwable t) {
                    return null;
                }
                known.put(name, f);
            }
            return f;
        }
    }

    /**
     * True once a class's static initializer has run. Reading a static field
     * of an uninitialized holder would initialize it: pointless work, as a
     * holder initialized after the restore is fresh anyway.
     */
    static boolean initialized(Class<?> c) {
        return Native.initialized(c);
    }

    /** The value of static field {@code cls.name} if the class is initialized, else null. */
    static Object staticValue(String cls, String name) {
        Class<?> c = bootClass(cls);
        if (!initialized(c)) {
            return null;
        }
        return get(field(c, name), null);
    }

    /** Sets a reference field (static when target is null), final or not. */
    static boolean put(Field f, Object target, Object value) {
        if (Native.setField(f, target, value)) {
            return true;
        }
        Agent.log("cannot set " + f);
        return false;
    }

    /** Field {@code name} of the target's class or a superclass, or null. */
    static Field instanceField(Object target, String name) {
        Field f = null;
        for (Class<?> c = target == null ? null : target.getClass(); f == null && c != null;
                c = c.getSuperclass()) {
            f = find(c, name);
        }
        return f;
    }

    /** A field's value (target null for a static one), or null. */
    static Object get(Field f, Object target) {
        try {
            return f == null ? null : f.get(target);
        } catch (Throwable t) {
            return null;
        }
    }
}
