package dev.jfast.agent;

import java.lang.reflect.Field;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The environment variables the program reads through Java before its
 * ready point. System.getenv(name) and System.getenv() both go through
 * ProcessEnvironment's one unmodifiable map: the agent puts this view in its
 * place at start (JNI writes the final field). A checkpoint records the
 * names read (or that the whole environment was), and a restore whose
 * caller has other values for them starts the program afresh instead
 * (docs/architecture.md, "Fail closed"). Reads by native code (C getenv)
 * are not seen.
 */
final class EnvReads implements Map<String, String> {

    private static final Set<String> NAMES = new LinkedHashSet<String>();
    private static volatile boolean all;
    private static volatile boolean recording;

    private final Map<String, String> real;

    private EnvReads(Map<String, String> real) {
        this.real = real;
    }

    private static volatile boolean installed;

    /**
     * Puts the recording view in place, at the agent's start, before the
     * program's main: through JNI, as the packages are not open yet (that
     * costs 11 ms, which the control thread spends later). False where this
     * JDK keeps its environment elsewhere: then no checkpoint is made.
     */
    @SuppressWarnings("unchecked")
    static boolean install() {
        try {
            Field f = Internals.bootClass("java.lang.ProcessEnvironment")
                    .getDeclaredField("theUnmodifiableEnvironment");
            Object real = Native.getField(f, null);
            if (!(real instanceof Map) || real instanceof EnvReads) {
                return false;
            }
            recording = true;
            installed = Native.setField(f, null, new EnvReads((Map<String, String>) real));
        } catch (Throwable t) {
            Agent.log("cannot watch the environment: " + t);
        }
        return installed;
    }

    static boolean installed() {
        return installed;
    }

    /** Stops recording (a restored process: its reads are its own run's). */
    static void stop() {
        recording = false;
    }

    /** For the manifest: "*" when the whole environment was read, else the names. */
    static String read() {
        synchronized (NAMES) {
            if (all) {
                return "*";
            }
            StringBuilder b = new StringBuilder();
            for (String n : NAMES) {
                b.append(b.length() == 0 ? "" : " ").append(n);
            }
            return b.toString();
        }
    }

    private static void saw(Object name) {
        if (recording && name instanceof String) {
            synchronized (NAMES) {
                NAMES.add((String) name);
            }
        }
    }

    private static <T> T whole(T t) {
        if (recording) {
            all = true;
        }
        return t;
    }

    @Override
    public String get(Object key) {
        saw(key);
        return real.get(key);
    }

    @Override
    public boolean containsKey(Object key) {
        saw(key);
        return real.containsKey(key);
    }

    @Override
    public String getOrDefault(Object key, String fallback) {
        saw(key);
        return real.getOrDefault(key, fallback);
    }

    @Override
    public int size() {
        return whole(real).size();
    }

    @Override
    public boolean isEmpty() {
        return whole(real).isEmpty();
    }

    @Override
    public boolean containsValue(Object value) {
        return whole(real).containsValue(value);
    }

    @Override
    public Set<String> keySet() {
        return whole(real).keySet();
    }

    @Override
    public Collection<String> values() {
        return whole(real).values();
    }

    @Override
    public Set<Map.Entry<String, String>> entrySet() {
        return whole(real).entrySet();
    }

    @Override
    public String put(String key, String value) {
        return real.put(key, value);
    }

    @Override
    public String remove(Object key) {
        return real.remove(key);
    }

    @Override
    public void putAll(Map<? extends String, ? extends String> m) {
        real.putAll(m);
    }

    @Override
    public void clear() {
        real.clear();
    }

    @Override
    public boolean equals(Object o) {
        return whole(real).equals(o);
    }

    @Override
    public int hashCode() {
        return whole(real).hashCode();
    }

    @Override
    public String toString() {
        return whole(real).toString();
    }
}
