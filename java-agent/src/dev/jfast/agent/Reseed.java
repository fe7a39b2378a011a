package dev.jfast.agent;

import java.io.FileInputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fresh randomness for a restored process: every copy restored from one
 * checkpoint would otherwise continue the same random sequences. Reseeds
 * the generators the JDK keeps in static holders (those of Math.random,
 * new Random(), ThreadLocalRandom, SplittableRandom, Collections.shuffle,
 * UUID.randomUUID and the default SecureRandoms), and makes every thread
 * draw a new ThreadLocalRandom seed on its next use. Holders that were
 * never initialized are left alone: they seed themselves when first used.
 */
final class Reseed {

    private static final long GOLDEN = 0x9e3779b97f4a7c15L;

    private Reseed() {
    }

    // Static holders of generators, by class and field.
    private static final String[][] ATOMIC = {
        {"java.util.Random", "seedUniquifier"},
        {"java.util.concurrent.ThreadLocalRandom", "seeder"},
        {"java.util.SplittableRandom", "defaultGen"},
    };
    private static final String[][] RANDOM = {
        {"java.lang.Math$RandomNumberGeneratorHolder", "randomNumberGenerator"},
        {"java.lang.StrictMath$RandomNumberGeneratorHolder", "randomNumberGenerator"},
        {"java.util.Collections", "r"},
    };
    private static final String[][] SECURE = {
        {"java.util.UUID$Holder", "numberGenerator"},
        {"sun.security.jca.JCAUtil", "def"},
        {"sun.security.jca.JCAUtil$CachedSecureRandomHolder", "instance"},
        {"java.security.SecureRandom", "seedGenerator"},
    };
    private static final String[] SEEDER = {
        "sun.security.provider.SecureRandom$SeederHolder", "seeder",
    };
    private static final String[] NATIVE = {"sun.security.provider.NativePRNG", "INSTANCE"};
    private static final String[] THREAD_FIELDS = {
        "threadLocalRandomProbe", "threadLocalRandomSeed", "threadLocalRandomSecondarySeed",
    };
    private static final String[] NATIVE_IO_FIELDS = {"mixRandom", "LOCK_GET_BYTES", "buffered"};

    /**
     * Ahead of a restore (FreshRun.prepare): finds and reads once the fields
     * all() writes, of the holders already initialized. Changes nothing.
     * Returns what a restore would miss on this JDK: a static field holding
     * a generator, in a class of the tables above, that all() does not
     * write. A holder field the tables name may be absent (JDK 11 has no
     * JCAUtil.def): then this JDK keeps no such generator.
     */
    static List<String> prepare() {
        List<String> missing = new ArrayList<String>();
        String[][][] tables = {ATOMIC, RANDOM, SECURE, {SEEDER, NATIVE}};
        for (int t = 0; t < tables.length; t++) {
            for (int i = 0; i < tables[t].length; i++) {
                unknownGenerators(tables[t][i][0], missing);
                Internals.staticValue(tables[t][i][0], tables[t][i][1]);
            }
        }
        for (int i = 0; i < THREAD_FIELDS.length; i++) {
            Field f = Internals.field(Thread.class, THREAD_FIELDS[i]);
            if (f == null) {
                missing.add("Thread." + THREAD_FIELDS[i]);
            }
            Internals.get(f, Thread.currentThread());
        }
        if (Internals.field(Random.class, "seed") == null) {
            missing.add("java.util.Random.seed");
        }
        Object io = Internals.staticValue(NATIVE[0], NATIVE[1]);
        for (int i = 0; io != null && i < NATIVE_IO_FIELDS.length; i++) {
            Field f = Internals.field(io.getClass(), NATIVE_IO_FIELDS[i]);
            if (f == null) {
                missing.add("NativePRNG." + NATIVE_IO_FIELDS[i]);
            }
            Internals.get(f, io);
        }
        return missing;
    }

    /** Static fields that hold no state of their own: ThreadLocalRandom's
     *  one instance keeps its seeds in each Thread (threadLocalSeeds). */
    private static final String[] STATELESS = {"java.util.concurrent.ThreadLocalRandom.instance"};

    /** Adds to {@code missing} each generator-typed static field of
     *  {@code cls} that the tables do not name. */
    private static void unknownGenerators(String cls, List<String> missing) {
        Class<?> c = Internals.bootClass(cls);
        if (c == null) {
            return;
        }
        Field[] fields;
        try {
            fields = c.getDeclaredFields();
        } catch (Throwable t) {
            missing.add(cls + " (" + t + ")");
            return;
        }
        for (int i = 0; i < fields.length; i++) {
            Field f = fields[i];
            String name = cls + "." + f.getName();
            if (java.lang.reflect.Modifier.isStatic(f.getModifiers()) && generator(f.getType())
                    && !named(cls, f.getName()) && !name.equals(STATELESS[0])) {
                missing.add(name);
            }
        }
    }

    private static boolean generator(Class<?> type) {
        return Random.class.isAssignableFrom(type) || AtomicLong.class == type
                || java.security.SecureRandomSpi.class.isAssignableFrom(type)
                || java.util.SplittableRandom.class == type;
    }

    private static boolean named(String cls, String field) {
        String[][][] tables = {ATOMIC, RANDOM, SECURE, {SEEDER, NATIVE}};
        for (int t = 0; t < tables.length; t++) {
            for (int i = 0; i < tables[t].length; i++) {
                if (tables[t][i][0].equals(cls) && tables[t][i][1].equals(field)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Reseeds every initialized holder; returns the ones that did not take. */
    static List<String> all() {
        List<String> failed = new ArrayList<String>();
        byte[] pool = entropy(256);
        int at = 0;
        for (int i = 0; i < ATOMIC.length; i++) {
            if (!atomic(ATOMIC[i][0], ATOMIC[i][1], mix(pool, at++))) {
                failed.add(ATOMIC[i][0] + "." + ATOMIC[i][1]);
            }
        }
        for (int i = 0; i < RANDOM.length; i++) {
            if (!random(RANDOM[i][0], RANDOM[i][1], mix(pool, at++))) {
                failed.add(RANDOM[i][0] + "." + RANDOM[i][1]);
            }
        }
        if (!threadLocalSeeds()) {
            failed.add("ThreadLocalRandom's per-thread seeds");
        }
        for (int i = 0; i < SECURE.length; i++) {
            Object r = Internals.staticValue(SECURE[i][0], SECURE[i][1]);
            if (r instanceof java.security.SecureRandom) {
                try {
                    ((java.security.SecureRandom) r).setSeed(slice(pool, 64 + 16 * i, 16));
                } catch (Throwable t) {
                    failed.add(SECURE[i][0] + "." + SECURE[i][1]);
                }
            }
        }
        if (!spi(Internals.staticValue(SEEDER[0], SEEDER[1]), slice(pool, 160, 32))) {
            failed.add(SEEDER[0]);
        }
        if (!nativePrng(slice(pool, 192, 32))) {
            failed.add(NATIVE[0]);
        }
        return failed;
    }

    /** Bytes from /dev/urandom, or from the clock should it be unreadable. */
    private static byte[] entropy(int n) {
        byte[] b = new byte[n];
        try {
            FileInputStream in = new FileInputStream("/dev/urandom");
            try {
                int off = 0;
                while (off < n) {
                    int r = in.read(b, off, n - off);
                    if (r < 0) {
                        break;
                    }
                    off += r;
                }
            } finally {
                in.close();
            }
        } catch (Throwable t) {
            long x = System.nanoTime() ^ System.currentTimeMillis() * GOLDEN;
            for (int i = 0; i < n; i++) {
                x = x * 6364136223846793005L + 1442695040888963407L;
                b[i] = (byte) (x >>> 56);
            }
        }
        return b;
    }

    private static long mix(byte[] pool, int index) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (pool[(index * 8 + i) % pool.length] & 0xff);
        }
        return v;
    }

    private static byte[] slice(byte[] pool, int from, int n) {
        byte[] out = new byte[n];
        System.arraycopy(pool, from, out, 0, n);
        return out;
    }

    /** True when the holder is not initialized or now holds {@code seed}. */
    private static boolean atomic(String cls, String name, long seed) {
        if (!Internals.initialized(Internals.bootClass(cls))) {
            return true;
        }
        Object v = Internals.staticValue(cls, name);
        if (!(v instanceof AtomicLong)) {
            return false;
        }
        ((AtomicLong) v).set(seed);
        return ((AtomicLong) v).get() == seed;
    }

    /** As atomic: Random keeps (seed ^ 0x5DEECE66D) in its low 48 bits. */
    private static boolean random(String cls, String name, long seed) {
        if (!Internals.initialized(Internals.bootClass(cls))) {
            return true;
        }
        Object v = Internals.staticValue(cls, name);
        if (v == null) {
            return true;        // made on first use (Collections.shuffle's): fresh then
        }
        if (!(v instanceof Random)) {
            return false;
        }
        ((Random) v).setSeed(seed);
        Object state = Internals.get(Internals.field(Random.class, "seed"), v);
        return state instanceof AtomicLong
                && ((AtomicLong) state).get() == ((seed ^ 0x5DEECE66DL) & ((1L << 48) - 1));
    }

    /**
     * A zero probe makes ThreadLocalRandom.current() seed the thread anew
     * from the (reseeded) seeder, as for a thread that never used it.
     */
    private static boolean threadLocalSeeds() {
        Field probe = Internals.field(Thread.class, THREAD_FIELDS[0]);
        Field seed = Internals.field(Thread.class, THREAD_FIELDS[1]);
        Field secondary = Internals.field(Thread.class, THREAD_FIELDS[2]);
        if (probe == null || seed == null || secondary == null) {
            return false;
        }
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() + 16];
        int n = root.enumerate(threads, true);
        for (int i = 0; i < n; i++) {
            try {
                probe.setInt(threads[i], 0);
                seed.setLong(threads[i], 0L);
                secondary.setInt(threads[i], 0);
            } catch (Throwable t) {
                return false;
            }
        }
        return true;
    }

    /** sun.security.provider.SecureRandom (SHA1PRNG's engine): engineSetSeed. */
    private static boolean spi(Object engine, byte[] seed) {
        if (engine == null) {
            return true;
        }
        try {
            Method m = engine.getClass().getDeclaredMethod("engineSetSeed", byte[].class);
            m.setAccessible(true);
            m.invoke(engine, (Object) seed);
            return true;
        } catch (Throwable t) {
            Agent.log("cannot reseed " + engine.getClass().getName() + ": " + t);
            return false;
        }
    }

    /**
     * NativePRNG XORs /dev/urandom with a SHA1PRNG of its own; reseed that
     * and drop the urandom bytes it buffered before the checkpoint.
     */
    private static boolean nativePrng(byte[] seed) {
        Object io = Internals.staticValue(NATIVE[0], NATIVE[1]);
        if (io == null) {
            return true;
        }
        try {
            Field mix = Internals.field(io.getClass(), NATIVE_IO_FIELDS[0]);
            Field lock = Internals.field(io.getClass(), NATIVE_IO_FIELDS[1]);
            Field buffered = Internals.field(io.getClass(), NATIVE_IO_FIELDS[2]);
            if (mix == null || lock == null || buffered == null) {
                return false;
            }
            // mixRandom is made on first use: none yet, nothing to reseed
            Object engine = mix.get(io);
            boolean reseeded = engine == null || spi(engine, seed);
            synchronized (lock.get(io)) {
                buffered.setInt(io, 0);
            }
            return reseeded;
        } catch (Throwable t) {
            Agent.log("cannot reseed NativePRNG: " + t);
            return false;
        }
    }
}
