package dev.jfast.agent;

import java.lang.instrument.Instrumentation;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reflective access to the JDK internals a restored process must update
 * (cached environment, working directory, random generator state). The
 * agent opens the packages it needs to itself, once, in the cold run; every accessor returns null or false instead of
 * throwing, so a JDK that lays things out differently only loses that
 * one update.
 */
final class Internals {

    private static final String[] PACKAGES = {
        "java.lang", "java.io", "java.util", "java.util.concurrent", "java.security",
        "jdk.internal.util", "sun.nio.fs", "sun.security.provider", "sun.security.jca",
    };

    /** sun.misc.Unsafe and the methods used, by reflection (no javac warnings). */
    private static Object unsafe;
    private static Method shouldBeInitialized;
    private static Method staticFieldBase;
    private static Method staticFieldOffset;
    private static Method putObjectVolatile;

    private Internals() {
    }

    private static boolean opened;

    /**
     * Opens the java.base packages above to the agent's module, through the
     * Instrumentation of a -javaagent or else JVMTI (Native); once. It costs
     * some 11 ms (the JDK's first lambda, in Module), so the control thread
     * does it while the program starts, before any checkpoint.
     */
    static synchronized void open(Instrumentation inst) {
        if (opened) {
            return;
        }
        opened = true;
        try {
            Module base = Object.class.getModule();
            Module me = Internals.class.getModule();
            Set<String> present = base.getPackages();
            Map<String, Set<Module>> opens = new HashMap<String, Set<Module>>();
            for (int i = 0; i < PACKAGES.length; i++) {
                if (present.contains(PACKAGES[i])) {
                    if (inst != null) {
                        opens.put(PACKAGES[i], Collections.singleton(me));
                    } else if (!Native.openPackage(base, PACKAGES[i], me)) {
                        Agent.log("cannot open " + PACKAGES[i]);
                    }
                }
            }
            if (inst != null) {
                inst.redefineModule(base, Collections.<Module>emptySet(),
                        Collections.<String, Set<Module>>emptyMap(), opens,
                        Collections.<Class<?>>emptySet(),
                        Collections.<Class<?>, java.util.List<Class<?>>>emptyMap());
            }
            Class<?> u = Class.forName("sun.misc.Unsafe");
            Field f = u.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            shouldBeInitialized = u.getMethod("shouldBeInitialized", Class.class);
            staticFieldBase = u.getMethod("staticFieldBase", Field.class);
            staticFieldOffset = u.getMethod("staticFieldOffset", Field.class);
            putObjectVolatile = u.getMethod("putObjectVolatile", Object.class, long.class, Object.class);
            unsafe = f.get(null);
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
        if (c == null || unsafe == null) {
            return false;
        }
        try {
            return !((Boolean) shouldBeInitialized.invoke(unsafe, c)).booleanValue();
        } catch (Throwable t) {
            return false;
        }
    }

    /** The value of static field {@code cls.name} if the class is initialized, else null. */
    static Object staticValue(String cls, String name) {
        Class<?> c = bootClass(cls);
        if (!initialized(c)) {
            return null;
        }
        return get(field(c, name), null);
    }

    /** Sets a static final reference field (reflection refuses those). */
    static boolean putStatic(Field f, Object value) {
        if (f == null || unsafe == null) {
            return false;
        }
        try {
            putObjectVolatile.invoke(unsafe, staticFieldBase.invoke(unsafe, f),
                    staticFieldOffset.invoke(unsafe, f), value);
            return true;
        } catch (Throwable t) {
            Agent.log("cannot set " + f + ": " + t);
            return false;
        }
    }

    /** Sets an instance field, final or not; false on failure. */
    static boolean set(Object target, String name, Object value) {
        Field f = instanceField(target, name);
        if (f == null) {
            Agent.log("no field " + name + " in " + target);
            return false;
        }
        try {
            f.set(target, value);
            return true;
        } catch (Throwable t) {
            Agent.log("cannot set " + f + ": " + t);
            return false;
        }
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
